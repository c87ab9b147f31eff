// What the Hugging Face → GGUF converters (llama_gguf, bert_gguf) share: the check of the
// tokenizer keys llama.cpp needs, and a safetensors tensor turned into GGUF bytes of a weight
// type, as llama.cpp's converter stores them (matrices in the asked type or its per-row
// fallback, vectors in F32).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/format/dtype.h"
#include "engine/format/gguf.h"
#include "engine/format/safetensors.h"

namespace socle::engine {

// OK when every key is a tokenizer.* key and tokenizer.ggml.tokens lists exactly `vocab_size`
// strings: llama.cpp sizes the output layer by the vocabulary and refuses a file whose
// token_embd or output rows differ, so a mismatch is caught here, not there.
Status gguf_check_tokenizer_keys(const std::vector<std::pair<std::string, GgufValue>>& keys,
                                 int64_t vocab_size);

// The float32 values of a vector or matrix tensor stored in F32, F16 or BF16 (row by row:
// safetensors data need not be aligned). INVALID_ARGUMENT naming `dir` and `name` otherwise.
// *rows, *cols: the shape (1 row for a vector).
Result<std::vector<float>> gguf_tensor_floats(const std::string& dir, const std::string& name,
                                              const TensorView& t, int64_t* rows, int64_t* cols);

// `x` (rows, cols) encoded as GGUF stores it: a matrix (`is_matrix`) in `type` or the type
// quant_type_for_row falls back to, a vector in F32. The bytes go to the end of `storage` (a
// deque never moves them), which the returned tensor views.
GgufTensorData gguf_tensor_encode(std::string gguf_name, const std::vector<float>& x, int64_t rows,
                                  int64_t cols, bool is_matrix, DType type,
                                  std::deque<std::string>* storage);

}  // namespace socle::engine
