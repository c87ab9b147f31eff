// AVX-512 twins of the norms in norm.cc. Each function carries its own target attribute, so
// the rest of the binary stays baseline x86-64. A row's sums run in sixteen lanes, reduced
// once and then finished in order over the tail: a different order from the scalar loop,
// but the same for a given row wherever it sits in a batch.
#include <immintrin.h>

#include <cmath>

#include "engine/kernels/norm.h"

#define SOCLE_AVX512 __attribute__((target("avx512f,avx2,fma")))

namespace socle::engine {
namespace {

constexpr int64_t LANES = 16;  // float32 values per __m512

SOCLE_AVX512 float hsum(__m512 v) {
  return _mm512_reduce_add_ps(v);
}

SOCLE_AVX512 float sum_squares(const float* x, int64_t dim, float shift) {
  __m512 acc = _mm512_setzero_ps();
  __m512 vshift = _mm512_set1_ps(shift);
  int64_t i = 0;
  for (; i + LANES <= dim; i += LANES) {
    __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + i), vshift);
    acc = _mm512_fmadd_ps(d, d, acc);
  }
  float sum = hsum(acc);
  for (; i < dim; ++i)
    sum += (x[i] - shift) * (x[i] - shift);
  return sum;
}

SOCLE_AVX512 float sum(const float* x, int64_t dim) {
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + LANES <= dim; i += LANES)
    acc = _mm512_add_ps(acc, _mm512_loadu_ps(x + i));
  float s = hsum(acc);
  for (; i < dim; ++i)
    s += x[i];
  return s;
}

}  // namespace

SOCLE_AVX512 void rmsnorm_avx512(float* out, const float* x, const float* weight, int64_t rows,
                                 int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* outr = out + r * dim;
    float scale = 1.0f / std::sqrt(sum_squares(xr, dim, 0.0f) / static_cast<float>(dim) + eps);
    __m512 vscale = _mm512_set1_ps(scale);
    int64_t i = 0;
    for (; i + LANES <= dim; i += LANES) {
      __m512 v = _mm512_mul_ps(_mm512_loadu_ps(xr + i), vscale);
      _mm512_storeu_ps(outr + i, _mm512_mul_ps(v, _mm512_loadu_ps(weight + i)));
    }
    for (; i < dim; ++i)
      outr[i] = xr[i] * scale * weight[i];
  }
}

SOCLE_AVX512 void layernorm_avx512(float* out, const float* x, const float* weight,
                                   const float* bias, int64_t rows, int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* outr = out + r * dim;
    // Two passes, as in the reference: the variance of values less their mean.
    float mean = sum(xr, dim) / static_cast<float>(dim);
    float scale = 1.0f / std::sqrt(sum_squares(xr, dim, mean) / static_cast<float>(dim) + eps);
    __m512 vmean = _mm512_set1_ps(mean);
    __m512 vscale = _mm512_set1_ps(scale);
    int64_t i = 0;
    for (; i + LANES <= dim; i += LANES) {
      __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(xr + i), vmean), vscale);
      v = _mm512_fmadd_ps(v, _mm512_loadu_ps(weight + i), _mm512_loadu_ps(bias + i));
      _mm512_storeu_ps(outr + i, v);
    }
    for (; i < dim; ++i)
      outr[i] = (xr[i] - mean) * scale * weight[i] + bias[i];
  }
}

}  // namespace socle::engine
