#include "engine/kernels/q8_activations.h"

#include <cmath>

#include "base/check.h"

namespace socle::engine {

void quantize_activations_ref(const float* x, BlockQ8Act* y, int64_t n) {
  SOCLE_CHECK(n % Q8_ACT_BLOCK == 0, "quantised matmuls take rows of whole 32-value blocks");
  constexpr float INT8_MAX_CODE = 127.0f;
  constexpr int64_t HALF = Q8_ACT_BLOCK / 2;
  for (int64_t b = 0; b < n / Q8_ACT_BLOCK; ++b, x += Q8_ACT_BLOCK) {
    float amax = 0.0f;
    for (int64_t i = 0; i < Q8_ACT_BLOCK; ++i)
      amax = std::fmax(amax, std::fabs(x[i]));
    float d = amax / INT8_MAX_CODE;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = d;
    int sums[2] = {0, 0};
    for (int64_t i = 0; i < Q8_ACT_BLOCK; ++i) {
      auto q = static_cast<int8_t>(std::round(x[i] * id));
      y[b].qs[i] = q;
      sums[i / HALF] += q;
    }
    y[b].sums[0] = static_cast<int16_t>(sums[0]);
    y[b].sums[1] = static_cast<int16_t>(sums[1]);
  }
}

}  // namespace socle::engine
