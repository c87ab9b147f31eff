#include "engine/kernels/matmul.h"

#include <vector>

namespace socle::engine {

void matmul_ref(float* out, const float* x, const WeightView& w, const float* bias, int64_t n) {
  // Widening one weight row at a time and reusing it for every token reads the weights once
  // whatever n is, without changing any row's order of summation.
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    weight_row_to_f32(w, r, row.data());
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * w.cols;
      float sum = 0.0f;
      for (int64_t c = 0; c < w.cols; ++c)
        sum += xt[c] * row[static_cast<size_t>(c)];
      if (bias != nullptr) sum += bias[r];
      out[t * w.rows + r] = sum;
    }
  }
}

}  // namespace socle::engine
