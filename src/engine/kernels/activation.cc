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

void exp_ref(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = std::exp(x[i]);
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

namespace socle::engine {
namespace {

// Values per thread below which waking another thread costs more than it saves (a wake-up
// is a few microseconds; these functions take about a nanosecond per value).
constexpr int64_t VALUES_PER_TASK_MIN = 16384;

using UnaryFn = void (*)(float*, int64_t);

UnaryFn pick(KernelPath path, UnaryFn scalar, UnaryFn avx2, UnaryFn avx512) {
  switch (path) {
    case KernelPath::SCALAR:
      return scalar;
    case KernelPath::AVX2:
      return avx2;
    case KernelPath::AVX512:
      return avx512;
  }
  return scalar;
}

void split(UnaryFn fn, float* x, int64_t n, ThreadPool& pool) {
  pool.parallel_for(n, VALUES_PER_TASK_MIN,
                    [&](int64_t begin, int64_t end) { fn(x + begin, end - begin); });
}

}  // namespace

void silu(float* x, int64_t n, KernelPath path, ThreadPool& pool) {
  split(pick(path, silu_ref, silu_avx2, silu_avx512), x, n, pool);
}

void silu(float* x, int64_t n) {
  silu(x, n, kernel_path_active(), default_thread_pool());
}

void swiglu(float* gate, const float* up, int64_t n, KernelPath path, ThreadPool& pool) {
  auto* fn = path == KernelPath::AVX512 ? swiglu_avx512
             : path == KernelPath::AVX2 ? swiglu_avx2
                                        : swiglu_ref;
  pool.parallel_for(n, VALUES_PER_TASK_MIN,
                    [&](int64_t begin, int64_t end) { fn(gate + begin, up + begin, end - begin); });
}

void swiglu(float* gate, const float* up, int64_t n) {
  swiglu(gate, up, n, kernel_path_active(), default_thread_pool());
}

void gelu(float* x, int64_t n, KernelPath path, ThreadPool& pool) {
  split(pick(path, gelu_ref, gelu_avx2, gelu_avx512), x, n, pool);
}

void gelu(float* x, int64_t n) {
  gelu(x, n, kernel_path_active(), default_thread_pool());
}

void gelu_tanh(float* x, int64_t n, KernelPath path, ThreadPool& pool) {
  split(pick(path, gelu_tanh_ref, gelu_tanh_avx2, gelu_tanh_avx512), x, n, pool);
}

void gelu_tanh(float* x, int64_t n) {
  gelu_tanh(x, n, kernel_path_active(), default_thread_pool());
}

void exp_values(float* x, int64_t n, KernelPath path) {
  pick(path, exp_ref, exp_avx2, exp_avx512)(x, n);
}

void softmax(float* x, int64_t n, KernelPath path) {
  pick(path, softmax_ref, softmax_avx2, softmax_avx512)(x, n);
}

void softmax(float* x, int64_t n) {
  softmax(x, n, kernel_path_active());
}

}  // namespace socle::engine
