#include "engine/kernels/norm.h"

#include <cmath>

namespace socle::engine {

void rmsnorm_ref(float* out, const float* x, const float* weight, int64_t rows, int64_t dim,
                 float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* outr = out + r * dim;
    float sum_squares = 0.0f;
    for (int64_t i = 0; i < dim; ++i)
      sum_squares += xr[i] * xr[i];
    float scale = 1.0f / std::sqrt(sum_squares / static_cast<float>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i)
      outr[i] = xr[i] * scale * weight[i];
  }
}

void layernorm_ref(float* out, const float* x, const float* weight, const float* bias, int64_t rows,
                   int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* outr = out + r * dim;
    float sum = 0.0f;
    for (int64_t i = 0; i < dim; ++i)
      sum += xr[i];
    float mean = sum / static_cast<float>(dim);
    // Two passes: subtracting the mean first keeps the variance accurate when the mean is
    // large next to the spread.
    float sum_squares = 0.0f;
    for (int64_t i = 0; i < dim; ++i)
      sum_squares += (xr[i] - mean) * (xr[i] - mean);
    float scale = 1.0f / std::sqrt(sum_squares / static_cast<float>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i)
      outr[i] = (xr[i] - mean) * scale * weight[i] + bias[i];
  }
}

}  // namespace socle::engine
