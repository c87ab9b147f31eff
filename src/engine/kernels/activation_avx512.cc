// AVX-512 twins of activation.cc, on a vectorised exp. Each function carries its own target
// attribute, so the rest of the binary stays baseline x86-64. A vector's tail goes through
// the same vector code, padded, so every element meets the same arithmetic wherever it sits.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "engine/kernels/activation.h"

#define SOCLE_AVX512 __attribute__((target("avx512f,avx2,fma")))

namespace socle::engine {
namespace {

constexpr int64_t LANES = 16;  // float32 values per __m512

// exp's range: above ln(FLT_MAX) the result is +inf, below ln(FLT_MIN) (the smallest normal)
// it is flushed to 0.
constexpr float EXP_HI = 88.3762626647949f;
constexpr float EXP_LO = -87.3365447504019f;
constexpr float LOG2E = 1.44269504088896341f;
// ln 2 split so that n * LN2_HI is exact for |n| < 2^9 (Cody and Waite's reduction).
constexpr float LN2_HI = 0.693359375f;
constexpr float LN2_LO = -2.12194440e-4f;
constexpr int EXP_BIAS = 127;
constexpr int MANTISSA_BITS = 23;

// Abramowitz and Stegun 7.1.26: erf(z) = 1 - t (a1 + t (a2 + ...)) exp(-z^2), t = 1 / (1 + p z),
// z >= 0, absolute error at most 1.5e-7.
constexpr float AS_P = 0.3275911f;
constexpr float AS_A1 = 0.254829592f;
constexpr float AS_A2 = -0.284496736f;
constexpr float AS_A3 = 1.421413741f;
constexpr float AS_A4 = -1.453152027f;
constexpr float AS_A5 = 1.061405429f;
constexpr float INV_SQRT2 = 0.707106781186547524f;
constexpr float SQRT_2_OVER_PI = 0.797884560802865355f;
constexpr float GELU_TANH_CUBIC = 0.044715f;

SOCLE_AVX512 __m512 exp16(__m512 x) {
  __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(EXP_LO)), _mm512_set1_ps(EXP_HI));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(LOG2E)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // EXP_HI * LOG2E may round to 128, whose power of two is not a float: 2^127 * e^0.35 is.
  n = _mm512_min_ps(n, _mm512_set1_ps(static_cast<float>(EXP_BIAS)));
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
  // e^r = 1 + r + r^2/2! + ... + r^7/7!, by Horner.
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  __m512i bits = _mm512_slli_epi32(
      _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(EXP_BIAS)), MANTISSA_BITS);
  __m512 result = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
  result = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(EXP_LO), _CMP_LT_OQ), result,
                                _mm512_setzero_ps());
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(EXP_HI), _CMP_GT_OQ), result,
                              _mm512_set1_ps(INFINITY));
}

// x / (1 + exp(-x)): an exact division, as the reference.
SOCLE_AVX512 __m512 silu16(__m512 x) {
  __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), x));
  return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

SOCLE_AVX512 __m512 gelu16(__m512 x) {
  __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(INV_SQRT2));
  __m512 az = _mm512_abs_ps(z);
  __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
                           _mm512_fmadd_ps(_mm512_set1_ps(AS_P), az, _mm512_set1_ps(1.0f)));
  __m512 poly = _mm512_set1_ps(AS_A5);
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(AS_A4));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(AS_A3));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(AS_A2));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(AS_A1));
  poly = _mm512_mul_ps(poly, t);
  // q = 0.5 erfc(|z|): Phi(x) is q for negative x and 1 - q otherwise, so the small tail
  // of negative inputs keeps its relative precision.
  __m512 q = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), poly),
                           exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(az, az))));
  __m512 phi = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ),
                                    _mm512_sub_ps(_mm512_set1_ps(1.0f), q), q);
  return _mm512_mul_ps(x, phi);
}

SOCLE_AVX512 __m512 gelu_tanh16(__m512 x) {
  __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
  __m512 y = _mm512_mul_ps(_mm512_set1_ps(SQRT_2_OVER_PI),
                           _mm512_fmadd_ps(_mm512_set1_ps(GELU_TANH_CUBIC), x3, x));
  __m512 e = exp16(_mm512_mul_ps(_mm512_set1_ps(-2.0f), y));
  return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

// Applies F to x[0, n) in place, the tail through a padded vector.
template <__m512 (*F)(__m512)>
SOCLE_AVX512 void map(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    _mm512_storeu_ps(x + i, F(_mm512_loadu_ps(x + i)));
  if (i == n) return;
  alignas(64) float tail[LANES] = {};
  std::copy(x + i, x + n, tail);
  _mm512_store_ps(tail, F(_mm512_load_ps(tail)));
  std::copy(tail, tail + (n - i), x + i);
}

SOCLE_AVX512 float hsum(__m512 v) {
  return _mm512_reduce_add_ps(v);
}

SOCLE_AVX512 float hmax(__m512 v) {
  return _mm512_reduce_max_ps(v);
}

}  // namespace

SOCLE_AVX512 void exp_avx512(float* x, int64_t n) {
  map<exp16>(x, n);
}

SOCLE_AVX512 void silu_avx512(float* x, int64_t n) {
  map<silu16>(x, n);
}

SOCLE_AVX512 void swiglu_avx512(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES) {
    __m512 g = silu16(_mm512_loadu_ps(gate + i));
    _mm512_storeu_ps(gate + i, _mm512_mul_ps(g, _mm512_loadu_ps(up + i)));
  }
  if (i == n) return;
  alignas(64) float tail_gate[LANES] = {};
  alignas(64) float tail_up[LANES] = {};
  std::copy(gate + i, gate + n, tail_gate);
  std::copy(up + i, up + n, tail_up);
  __m512 g = silu16(_mm512_load_ps(tail_gate));
  _mm512_store_ps(tail_gate, _mm512_mul_ps(g, _mm512_load_ps(tail_up)));
  std::copy(tail_gate, tail_gate + (n - i), gate + i);
}

SOCLE_AVX512 void gelu_avx512(float* x, int64_t n) {
  map<gelu16>(x, n);
}

SOCLE_AVX512 void gelu_tanh_avx512(float* x, int64_t n) {
  map<gelu_tanh16>(x, n);
}

SOCLE_AVX512 void softmax_avx512(float* x, int64_t n) {
  __m512 vmax = _mm512_set1_ps(x[0]);
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(x + i));
  float max = hmax(vmax);
  for (; i < n; ++i)
    max = std::max(max, x[i]);
  // exp(x - max) in place; lanes sum the full vectors, the tail is added in order.
  __m512 shift = _mm512_set1_ps(max);
  __m512 acc = _mm512_setzero_ps();
  for (i = 0; i + LANES <= n; i += LANES) {
    __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), shift));
    _mm512_storeu_ps(x + i, e);
    acc = _mm512_add_ps(acc, e);
  }
  float sum = hsum(acc);
  if (i < n) {
    alignas(64) float tail[LANES];
    std::fill(tail, tail + LANES, max);  // pads to exp(0), not added below
    std::copy(x + i, x + n, tail);
    _mm512_store_ps(tail, exp16(_mm512_sub_ps(_mm512_load_ps(tail), shift)));
    for (int64_t j = 0; j < n - i; ++j) {
      x[i + j] = tail[j];
      sum += tail[j];
    }
  }
  __m512 inv = _mm512_set1_ps(1.0f / sum);
  for (i = 0; i + LANES <= n; i += LANES)
    _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
  for (; i < n; ++i)
    x[i] *= 1.0f / sum;
}

}  // namespace socle::engine
