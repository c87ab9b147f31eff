#include "engine/kernels/activation.h"

#include <cmath>
#include <numbers>

namespace socle::engine {
namespace {

constexpr float GELU_TANH_CUBIC = 0.044715f;

}  // namespace

void silu_ref(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = x[i] / (1.0f + std::exp(-x[i]));
}

void swiglu_ref(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void gelu_ref(float* x, int64_t n) {
  const float inv_sqrt2 = static_cast<float>(1.0 / std::numbers::sqrt2);
  for (int64_t i = 0; i < n; ++i)
    x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * inv_sqrt2));
}

void gelu_tanh_ref(float* x, int64_t n) {
  const float sqrt_2_over_pi = static_cast<float>(std::sqrt(2.0 / std::numbers::pi));
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    x[i] = 0.5f * v * (1.0f + std::tanh(sqrt_2_over_pi * (v + GELU_TANH_CUBIC * v * v * v)));
  }
}

void softmax_ref(float* x, int64_t n) {
  // Subtracting the maximum keeps exp() from overflowing; the result is unchanged.
  float max = x[0];
  for (int64_t i = 1; i < n; ++i)
    max = x[i] > max ? x[i] : max;
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i)
    x[i] *= inv;
}

}  // namespace socle::engine
