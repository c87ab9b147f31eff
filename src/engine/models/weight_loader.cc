#include "engine/models/weight_loader.h"

#include <cstring>

#include "engine/kernels/kernel_path.h"
#include "engine/kernels/quant.h"

namespace socle::engine {
namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

bool is_float(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

// What kernels read at once: an element, or a quantised block's 16-bit scale.
size_t element_alignment(DType t) {
  return dtype_is_quantized(t) ? alignof(uint16_t) : dtype_size(t);
}

}  // namespace

WeightLoader::WeightLoader(
    GgufFile file, const std::function<std::optional<std::string>(const std::string&)>& rename)
    : gguf_(std::move(file)) {
  // The views point into the mapping, which stays put when the GgufFile moves.
  for (const GgufTensor& t : gguf_->tensors()) {
    auto name = rename(t.name);
    if (!name) continue;
    TensorView v;
    v.name = *name;
    v.dtype = t.type;
    v.shape.assign(t.dims.rbegin(), t.dims.rend());
    v.data = t.data;
    v.nbytes = t.nbytes;
    gguf_views_.emplace(*name, std::move(v));
  }
}

const TensorView* WeightLoader::find(const std::string& name) const {
  if (safetensors_) return safetensors_->find(name);
  auto it = gguf_views_.find(name);
  return it == gguf_views_.end() ? nullptr : &it->second;
}

Result<const TensorView*> WeightLoader::find_checked(const std::string& name,
                                                     const std::vector<int64_t>& shape,
                                                     bool allow_quantized) const {
  const TensorView* t = find(name);
  if (t == nullptr) return not_found("the model has no tensor '" + name + "'");
  if (!is_float(t->dtype) && !(allow_quantized && dtype_is_quantized(t->dtype))) {
    return invalid_argument("tensor '" + name + "' is " + dtype_name(t->dtype) + "; " +
                            (allow_quantized ? "weights must be F32, F16, BF16 or quantised"
                                             : "vectors must be F32, F16 or BF16"));
  }
  if (t->shape != shape) {
    return invalid_argument("tensor '" + name + "' has shape " + shape_string(t->shape) +
                            " but the config implies " + shape_string(shape));
  }
  return t;
}

Result<WeightView> WeightLoader::matrix(const std::string& name, int64_t rows, int64_t cols) {
  SOCLE_ASSIGN_OR_RETURN(const TensorView* t, find_checked(name, {rows, cols}, true));
  const void* data = t->data;
  // safetensors only promises byte offsets; kernels read whole elements, so a misaligned
  // tensor (from an old or hand-made file) gets an aligned copy.
  if (reinterpret_cast<uintptr_t>(data) % element_alignment(t->dtype) != 0) {
    auto copy = std::make_unique_for_overwrite<std::byte[]>(t->nbytes);
    std::memcpy(copy.get(), t->data, t->nbytes);
    data = copy.get();
    copies_.push_back(std::move(copy));
  }
  WeightView view{t->dtype, data, rows, cols};
  bool is_float = t->dtype == DType::F32 || t->dtype == DType::F16 || t->dtype == DType::BF16;
  if (!quantize_ || !is_float) return view;
  DType target = quant_type_for_row(*quantize_, cols);
  if (target == t->dtype) return view;
  size_t row_bytes = dtype_row_bytes(target, cols);
  auto quantised =
      std::make_unique_for_overwrite<std::byte[]>(row_bytes * static_cast<size_t>(rows));
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    weight_row_to_f32(view, r, row.data());
    quantize_row(target, row.data(), quantised.get() + static_cast<size_t>(r) * row_bytes, cols);
  }
  view = WeightView{target, quantised.get(), rows, cols};
  copies_.push_back(std::move(quantised));
  return view;
}

void WeightLoader::pack_for_matmul(WeightView* view) {
  if (view->packed != nullptr || !packed_layout_covers(view->type) ||
      kernel_path_active() != KernelPath::AVX512) {
    return;
  }
  PackedBytes packed = pack_weights(*view);
  view->packed = packed.get();
  packed_.push_back(std::move(packed));
}

Result<std::vector<float>> WeightLoader::vector(const std::string& name, int64_t n) const {
  SOCLE_ASSIGN_OR_RETURN(const TensorView* t, find_checked(name, {n}, false));
  std::vector<float> out(static_cast<size_t>(n));
  size_t width = dtype_size(t->dtype);
  for (int64_t i = 0; i < n; ++i) {
    const std::byte* p = t->data + static_cast<size_t>(i) * width;
    if (t->dtype == DType::F32) {
      std::memcpy(&out[static_cast<size_t>(i)], p, sizeof(float));
      continue;
    }
    uint16_t bits = 0;
    std::memcpy(&bits, p, sizeof(bits));
    out[static_cast<size_t>(i)] = t->dtype == DType::F16 ? f16_to_f32(bits) : bf16_to_f32(bits);
  }
  return out;
}

Result<std::vector<float>> WeightLoader::optional_vector(const std::string& name, int64_t n,
                                                         bool present) const {
  if (!present) return std::vector<float>();
  return vector(name, n);
}

}  // namespace socle::engine
