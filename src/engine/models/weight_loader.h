// Looks up a model's tensors by name and checks them against the shapes the architecture
// expects, handing out kernel-ready views. Owns the mapped files and any copies it had to
// make, so views stay valid as long as the loader lives (moving it keeps them valid).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/format/gguf.h"
#include "engine/format/safetensors.h"
#include "engine/kernels/packed_weights.h"
#include "engine/kernels/weight.h"

namespace socle::engine {

class WeightLoader {
 public:
  explicit WeightLoader(SafetensorsModel tensors) : safetensors_(std::move(tensors)) {}
  // The tensors of a GGUF file under the names `rename` gives them (the Hugging Face names the
  // models ask for; nullopt leaves a tensor out), with PyTorch's shapes (outermost first).
  WeightLoader(GgufFile file,
               const std::function<std::optional<std::string>(const std::string&)>& rename);

  bool has(const std::string& name) const { return find(name) != nullptr; }

  // From now on, matrix() hands out float matrices (F32, F16, BF16) quantised to `type` (a
  // quantised type), or to the type quant_type_for_row falls back to when the rows do not
  // split into its blocks, as `llama-quantize` would have stored them. Matrices already
  // quantised are left as they are.
  void quantize_matrices_to(DType type) { quantize_ = type; }

  // The matrix `name`, which must be F32, F16, BF16 or quantised, of shape (rows, cols).
  // Points into the mapped file, or into a copy when the file's bytes are not aligned to the
  // element size.
  Result<WeightView> matrix(const std::string& name, int64_t rows, int64_t cols);

  // Gives `view` (a matrix() of this loader) the packed layout of the active kernel path's
  // matmul (engine/kernels/packed_weights.h) where its type has one, in memory the loader
  // owns; else leaves it as it is. The stored rows stay where they are (a mapped file's
  // pages, read once while packing, are then only page cache unless a row is looked up).
  void pack_for_matmul(WeightView* view);

  // The vector `name` of `n` values (shape (n)), F32, F16 or BF16, widened to float32.
  Result<std::vector<float>> vector(const std::string& name, int64_t n) const;

  // An empty vector when `name` is absent and `present` is false; else as vector().
  Result<std::vector<float>> optional_vector(const std::string& name, int64_t n,
                                             bool present) const;

 private:
  const TensorView* find(const std::string& name) const;
  Result<const TensorView*> find_checked(const std::string& name, const std::vector<int64_t>& shape,
                                         bool allow_quantized) const;

  std::optional<SafetensorsModel> safetensors_;
  std::optional<GgufFile> gguf_;
  std::map<std::string, TensorView, std::less<>> gguf_views_;  // by the names models ask for
  std::vector<std::unique_ptr<std::byte[]>> copies_;
  std::vector<PackedBytes> packed_;
  std::optional<DType> quantize_;
};

}  // namespace socle::engine
