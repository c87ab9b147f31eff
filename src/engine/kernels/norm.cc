#include "engine/kernels/norm.h"

#include <algorithm>
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

namespace socle::engine {
namespace {

// Values per thread below which waking another thread costs more than it saves (a wake-up
// is a few microseconds; a norm handles about a value per nanosecond).
constexpr int64_t VALUES_PER_TASK_MIN = 32768;

int64_t rows_per_task(int64_t dim) {
  return std::max<int64_t>(1, VALUES_PER_TASK_MIN / std::max<int64_t>(1, dim));
}

}  // namespace

void rmsnorm(float* out, const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
             KernelPath path, ThreadPool& pool) {
  auto* fn = path == KernelPath::AVX512 ? rmsnorm_avx512
             : path == KernelPath::AVX2 ? rmsnorm_avx2
                                        : rmsnorm_ref;
  pool.parallel_for(rows, rows_per_task(dim), [&](int64_t begin, int64_t end) {
    fn(out + begin * dim, x + begin * dim, weight, end - begin, dim, eps);
  });
}

void rmsnorm(float* out, const float* x, const float* weight, int64_t rows, int64_t dim,
             float eps) {
  rmsnorm(out, x, weight, rows, dim, eps, kernel_path_active(), default_thread_pool());
}

void layernorm(float* out, const float* x, const float* weight, const float* bias, int64_t rows,
               int64_t dim, float eps, KernelPath path, ThreadPool& pool) {
  auto* fn = path == KernelPath::AVX512 ? layernorm_avx512
             : path == KernelPath::AVX2 ? layernorm_avx2
                                        : layernorm_ref;
  pool.parallel_for(rows, rows_per_task(dim), [&](int64_t begin, int64_t end) {
    fn(out + begin * dim, x + begin * dim, weight, bias, end - begin, dim, eps);
  });
}

void layernorm(float* out, const float* x, const float* weight, const float* bias, int64_t rows,
               int64_t dim, float eps) {
  layernorm(out, x, weight, bias, rows, dim, eps, kernel_path_active(), default_thread_pool());
}

}  // namespace socle::engine
