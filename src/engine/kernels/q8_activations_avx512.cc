// AVX-512 twin of quantize_activations_ref, equal to it bit for bit on finite input: the
// block's largest magnitude is an exact maximum, d and 1 / d are the same scalar divisions,
// each x * (1 / d) is one rounded product as in the scalar loop, and rounding half away from
// zero is done exactly (truncate, then step away from zero where the exact remainder is at
// least one half).
#include <immintrin.h>

#include "base/check.h"
#include "engine/kernels/q8_activations.h"

#define SOCLE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

namespace socle::engine {
namespace {

constexpr int64_t LANES = 16;  // float32 values per __m512

// round(v), ties away from zero, as int32 lanes; |v| < 2^23.
SOCLE_AVX512 inline __m512i round_away(__m512 v) {
  __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  __m512 rest = _mm512_abs_ps(_mm512_sub_ps(v, t));  // exact: v and t share their high bits
  __mmask16 away = _mm512_cmp_ps_mask(rest, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  __m512i q = _mm512_cvttps_epi32(t);
  __mmask16 negative = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
  __m512i step = _mm512_mask_blend_epi32(negative, _mm512_set1_epi32(1), _mm512_set1_epi32(-1));
  return _mm512_mask_add_epi32(q, away, q, step);
}

}  // namespace

SOCLE_AVX512 void quantize_activations_avx512(const float* x, BlockQ8Act* y, int64_t n) {
  SOCLE_CHECK(n % Q8_ACT_BLOCK == 0, "quantised matmuls take rows of whole 32-value blocks");
  constexpr float INT8_MAX_CODE = 127.0f;
  for (int64_t b = 0; b < n / Q8_ACT_BLOCK; ++b, x += Q8_ACT_BLOCK) {
    __m512 lo = _mm512_loadu_ps(x);
    __m512 hi = _mm512_loadu_ps(x + LANES);
    float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
    float d = amax / INT8_MAX_CODE;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    __m512 scale = _mm512_set1_ps(id);
    __m512i q_lo = round_away(_mm512_mul_ps(lo, scale));
    __m512i q_hi = round_away(_mm512_mul_ps(hi, scale));
    y[b].d = d;
    y[b].sums[0] = static_cast<int16_t>(_mm512_reduce_add_epi32(q_lo));
    y[b].sums[1] = static_cast<int16_t>(_mm512_reduce_add_epi32(q_hi));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs), _mm512_cvtepi32_epi8(q_lo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs + LANES), _mm512_cvtepi32_epi8(q_hi));
  }
}

}  // namespace socle::engine
