#include "engine/models/gguf_convert.h"

#include <cstring>
#include <string_view>

#include "engine/kernels/quant.h"

namespace socle::engine {
namespace {

constexpr std::string_view TOKENIZER_PREFIX = "tokenizer.";
constexpr std::string_view TOKENIZER_TOKENS = "tokenizer.ggml.tokens";

}  // namespace

Status gguf_check_tokenizer_keys(const std::vector<std::pair<std::string, GgufValue>>& keys,
                                 int64_t vocab_size) {
  const GgufValue* tokens = nullptr;
  for (const auto& [name, value] : keys) {
    if (name.rfind(TOKENIZER_PREFIX, 0) != 0) {
      return invalid_argument("tokenizer key '" + name +
                              "' is not a tokenizer.* key; the converter writes the others");
    }
    if (name == TOKENIZER_TOKENS) tokens = &value;
  }
  if (tokens == nullptr || tokens->type != GgufType::ARRAY ||
      tokens->array_type != GgufType::STRING) {
    return invalid_argument(std::string("the tokenizer keys have no ") +
                            std::string(TOKENIZER_TOKENS) + " list of strings");
  }
  if (static_cast<int64_t>(tokens->array.size()) != vocab_size) {
    return invalid_argument("the tokenizer has " + std::to_string(tokens->array.size()) +
                            " tokens but the model's vocab_size is " + std::to_string(vocab_size) +
                            "; llama.cpp loads a model only with a tokenizer of exactly its "
                            "vocabulary");
  }
  return Status::ok();
}

Result<std::vector<float>> gguf_tensor_floats(const std::string& dir, const std::string& name,
                                              const TensorView& t, int64_t* rows, int64_t* cols) {
  if (t.shape.empty() || t.shape.size() > 2) {
    return invalid_argument(dir + ": tensor '" + name + "' is not a vector or a matrix");
  }
  if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16) {
    return invalid_argument(dir + ": tensor '" + name + "' is " + dtype_name(t.dtype));
  }
  *cols = t.shape.back();
  *rows = t.shape.size() == 2 ? t.shape[0] : 1;
  std::vector<float> x(static_cast<size_t>(*rows * *cols));
  std::vector<std::byte> row_bytes(static_cast<size_t>(*cols) * dtype_size(t.dtype));
  for (int64_t r = 0; r < *rows; ++r) {
    std::memcpy(row_bytes.data(), t.data + r * static_cast<int64_t>(row_bytes.size()),
                row_bytes.size());
    dequantize_row(t.dtype, row_bytes.data(), x.data() + r * *cols, *cols);
  }
  return x;
}

GgufTensorData gguf_tensor_encode(std::string gguf_name, const std::vector<float>& x, int64_t rows,
                                  int64_t cols, bool is_matrix, DType type,
                                  std::deque<std::string>* storage) {
  DType out_type = is_matrix ? quant_type_for_row(type, cols) : DType::F32;
  size_t row_out = dtype_row_bytes(out_type, cols);
  std::string bytes(row_out * static_cast<size_t>(rows), '\0');
  for (int64_t r = 0; r < rows; ++r) {
    quantize_row(out_type, x.data() + r * cols, bytes.data() + static_cast<size_t>(r) * row_out,
                 cols);
  }
  storage->push_back(std::move(bytes));
  std::vector<int64_t> dims =
      is_matrix ? std::vector<int64_t>{cols, rows} : std::vector<int64_t>{cols};
  return {std::move(gguf_name), out_type, std::move(dims), storage->back()};
}

}  // namespace socle::engine
