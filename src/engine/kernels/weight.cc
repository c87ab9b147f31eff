#include "engine/kernels/weight.h"

#include "base/check.h"

namespace socle::engine {

void weight_row_to_f32(const WeightView& w, int64_t row, float* out) {
  SOCLE_CHECK(row >= 0 && row < w.rows, "callers index rows inside the matrix");
  switch (w.type) {
    case DType::F32: {
      const float* src = static_cast<const float*>(w.data) + row * w.cols;
      for (int64_t c = 0; c < w.cols; ++c)
        out[c] = src[c];
      return;
    }
    case DType::F16: {
      const uint16_t* src = static_cast<const uint16_t*>(w.data) + row * w.cols;
      for (int64_t c = 0; c < w.cols; ++c)
        out[c] = f16_to_f32(src[c]);
      return;
    }
    case DType::BF16: {
      const uint16_t* src = static_cast<const uint16_t*>(w.data) + row * w.cols;
      for (int64_t c = 0; c < w.cols; ++c)
        out[c] = bf16_to_f32(src[c]);
      return;
    }
    case DType::I32:
    case DType::I64:
      break;
  }
  SOCLE_CHECK(false, "weights are F32, F16 or BF16; loaders reject other types");
}

}  // namespace socle::engine
