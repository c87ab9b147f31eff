#include "engine/models/pooling.h"

#include <cmath>

namespace socle::engine {

void pool_ref(float* out, const float* hidden, int64_t n, int64_t dim, Pooling pooling) {
  if (pooling == Pooling::CLS) {
    for (int64_t d = 0; d < dim; ++d)
      out[d] = hidden[d];
    return;
  }
  for (int64_t d = 0; d < dim; ++d) {
    float sum = 0.0f;
    for (int64_t t = 0; t < n; ++t)
      sum += hidden[t * dim + d];
    out[d] = sum / static_cast<float>(n);
  }
}

void l2_normalize_ref(float* x, int64_t dim) {
  float sum_squares = 0.0f;
  for (int64_t d = 0; d < dim; ++d)
    sum_squares += x[d] * x[d];
  if (sum_squares == 0.0f) return;
  float inv = 1.0f / std::sqrt(sum_squares);
  for (int64_t d = 0; d < dim; ++d)
    x[d] *= inv;
}

}  // namespace socle::engine
