// AVX2 twins of the norms in norm.cc. Each function carries its own target attribute, so
// the rest of the binary stays baseline x86-64. A row's sums run in eight lanes, reduced
// once and then finished in order over the tail: a different order from the scalar loop,
// but the same for a given row wherever it sits in a batch.
#include <immintrin.h>

#include <cmath>

#include "engine/kernels/norm.h"

#define SOCLE_AVX2 __attribute__((target("avx2,fma")))

namespace socle::engine {
namespace {

constexpr int64_t LANES = 8;  // float32 values per __m256

SOCLE_AVX2 float hsum(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

SOCLE_AVX2 float sum_squares(const float* x, int64_t dim, float shift) {
  __m256 acc = _mm256_setzero_ps();
  __m256 vshift = _mm256_set1_ps(shift);
  int64_t i = 0;
  for (; i + LANES <= dim; i += LANES) {
    __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), vshift);
    acc = _mm256_fmadd_ps(d, d, acc);
  }
  float sum = hsum(acc);
  for (; i < dim; ++i)
    sum += (x[i] - shift) * (x[i] - shift);
  return sum;
}

SOCLE_AVX2 float sum(const float* x, int64_t dim) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + LANES <= dim; i += LANES)
    acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + i));
  float s = hsum(acc);
  for (; i < dim; ++i)
    s += x[i];
  return s;
}

}  // namespace

SOCLE_AVX2 void rmsnorm_avx2(float* out, const float* x, const float* weight, int64_t rows,
                             int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* outr = out + r * dim;
    float scale = 1.0f / std::sqrt(sum_squares(xr, dim, 0.0f) / static_cast<float>(dim) + eps);
    __m256 vscale = _mm256_set1_ps(scale);
    int64_t i = 0;
    for (; i + LANES <= dim; i += LANES) {
      __m256 v = _mm256_mul_ps(_mm256_loadu_ps(xr + i), vscale);
      _mm256_storeu_ps(outr + i, _mm256_mul_ps(v, _mm256_loadu_ps(weight + i)));
    }
    for (; i < dim; ++i)
      outr[i] = xr[i] * scale * weight[i];
  }
}

SOCLE_AVX2 void layernorm_avx2(float* out, const float* x, const float* weight, const float* bias,
                               int64_t rows, int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* outr = out + r * dim;
    // Two passes, as in the reference: the variance of values less their mean.
    float mean = sum(xr, dim) / static_cast<float>(dim);
    float scale = 1.0f / std::sqrt(sum_squares(xr, dim, mean) / static_cast<float>(dim) + eps);
    __m256 vmean = _mm256_set1_ps(mean);
    __m256 vscale = _mm256_set1_ps(scale);
    int64_t i = 0;
    for (; i + LANES <= dim; i += LANES) {
      __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vmean), vscale);
      v = _mm256_fmadd_ps(v, _mm256_loadu_ps(weight + i), _mm256_loadu_ps(bias + i));
      _mm256_storeu_ps(outr + i, v);
    }
    for (; i < dim; ++i)
      outr[i] = (xr[i] - mean) * scale * weight[i] + bias[i];
  }
}

}  // namespace socle::engine
