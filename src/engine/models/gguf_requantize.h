// Re-types the weights of a GGUF file, as llama.cpp's `llama-quantize` does for the files
// socle and llama.cpp write: every matrix (2-D tensor) is stored again in the type asked
// for, falling back per quant_type_for_row when its rows do not split into that type's
// blocks; vectors (norms, biases, rope_freqs) and tensors of other ranks are copied
// unchanged, and so is all metadata but general.file_type.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "base/status.h"
#include "engine/format/dtype.h"
#include "engine/format/gguf.h"

namespace socle::engine {

// llama.cpp's llama_ftype for a file mostly of `type` (general.file_type): 0 for F32, 1 F16,
// 2 Q4_0, 7 Q8_0, 15 Q4_K (Q4_K_M), 18 Q6_K, 32 BF16.
uint32_t gguf_file_type_of(DType type);

// The type tensor `t` is written in when `wanted` is asked for: quant_type_for_row(wanted,
// row length) for a matrix, its own type otherwise.
DType gguf_requantize_type(const GgufTensor& t, DType wanted);

struct GgufRequantizeOptions {
  DType type = DType::Q8_0;  // a weight type: F32, F16, BF16 or a quantised type
  // Quantising a matrix that is already quantised compounds two roundings; without this
  // flag it is refused (as llama-quantize's --allow-requantize). Widening a quantised matrix
  // to F32, F16 or BF16 needs no flag.
  bool allow_requantize = false;
};

struct GgufRequantizeReport {
  // Per output type: (tensors, bytes).
  std::map<DType, std::pair<int64_t, uint64_t>> by_type;
  uint64_t bytes_in = 0;   // tensor data read
  uint64_t bytes_out = 0;  // tensor data written
};

// Reads the GGUF file `in` and writes `out` atomically with its matrices re-typed.
// INVALID_ARGUMENT for an integer `options.type`, or an already-quantised matrix without
// allow_requantize; errors of GgufFile::open and gguf_write otherwise. The whole output is
// built in memory before it is written.
Result<GgufRequantizeReport> gguf_requantize(const std::string& in, const std::string& out,
                                             const GgufRequantizeOptions& options);

}  // namespace socle::engine
