// A random llama-architecture model written straight to GGUF, as llama.cpp's converter lays a
// llama model out (engine/models/llama_gguf.h), with a byte-level BPE vocabulary of exactly
// `vocab` tokens attached so that llama.cpp loads the same file. Matrices are quantised row by
// row as they are drawn, so no F32 copy of a quantised model is ever held or written.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "engine/format/dtype.h"

namespace socle::engine::bench {

struct RandomGgufShape {
  int64_t hidden = 2048;
  int64_t layers = 36;
  int64_t ffn = 5632;
  int64_t heads = 32;
  int64_t kv_heads = 8;
  int64_t vocab = 32000;
  int64_t context = 4096;
};

// Bytes of the matrices (every 2-D tensor) of `shape` in `type`.
uint64_t random_gguf_matrix_bytes(const RandomGgufShape& shape, DType type);
// What a decode step reads of them: all but the embedding table, of which it reads one row.
uint64_t random_gguf_decode_bytes(const RandomGgufShape& shape, DType type);

// Writes the model to `path`: weights uniform with variance 1/columns (unit-variance outputs),
// norms 1, drawn from `seed`. INVALID_ARGUMENT for a shape the type's blocks do not fit.
Status random_gguf_write(const std::string& path, const RandomGgufShape& shape, DType type,
                         uint64_t seed);

}  // namespace socle::engine::bench
