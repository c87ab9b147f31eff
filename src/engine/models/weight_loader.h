// Looks up a model's tensors by name and checks them against the shapes the architecture
// expects, handing out kernel-ready views. Owns the mapped files and any copies it had to
// make, so views stay valid as long as the loader lives (moving it keeps them valid).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/format/safetensors.h"
#include "engine/kernels/weight.h"

namespace socle::engine {

class WeightLoader {
 public:
  explicit WeightLoader(SafetensorsModel tensors) : tensors_(std::move(tensors)) {}

  bool has(const std::string& name) const { return tensors_.find(name) != nullptr; }

  // The matrix `name`, which must be F32, F16 or BF16 of shape (rows, cols). Points into the
  // mapped file, or into a copy when the file's bytes are not aligned to the element size.
  Result<WeightView> matrix(const std::string& name, int64_t rows, int64_t cols);

  // The vector `name` of `n` values (shape (n)), widened to float32.
  Result<std::vector<float>> vector(const std::string& name, int64_t n) const;

  // An empty vector when `name` is absent and `present` is false; else as vector().
  Result<std::vector<float>> optional_vector(const std::string& name, int64_t n,
                                             bool present) const;

 private:
  Result<const TensorView*> find_float(const std::string& name,
                                       const std::vector<int64_t>& shape) const;

  SafetensorsModel tensors_;
  std::vector<std::unique_ptr<std::byte[]>> copies_;
};

}  // namespace socle::engine
