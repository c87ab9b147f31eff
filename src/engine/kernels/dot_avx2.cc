// AVX2 twins of dot_ref.cc. Each function carries its own target attribute, so the rest of
// the binary stays baseline x86-64 and these run only where cpu_features says they can.
// Integer block products are exact (as in the references); the float accumulation runs in
// eight lanes and is reduced once at the end, a different order from the scalar loop.
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/dot.h"
#include "engine/kernels/quant.h"

#define SOCLE_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace socle::engine {
namespace {

constexpr int64_t LANES = 8;  // float32 values per __m256

SOCLE_AVX2 float hsum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

// Eight int32 sums of four products each of 32 signed bytes: byte products pair up in
// maddubs (which needs one unsigned operand: |w| against x with w's sign), then in madd.
// Lanes 0..3 cover bytes 0..15, lanes 4..7 bytes 16..31.
SOCLE_AVX2 __m256i dot_i8(__m256i w, __m256i x) {
  __m256i w_abs = _mm256_sign_epi8(w, w);
  __m256i x_signed = _mm256_sign_epi8(x, w);
  __m256i pairs = _mm256_maddubs_epi16(w_abs, x_signed);
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

// The same for unsigned weight codes below 128, which maddubs takes as they are.
SOCLE_AVX2 __m256i dot_u8_i8(__m256i w, __m256i x) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}

SOCLE_AVX2 __m256i load_act(const BlockQ8Act& a) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
}

SOCLE_AVX2 float f16(uint16_t bits) {
  return _cvtsh_ss(bits);
}

// Eight halves widened to float32.
SOCLE_AVX2 __m256 widen(const uint16_t* h) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)));
}

}  // namespace

SOCLE_AVX2 float dot_f32_avx2(const void* w, const float* x, int64_t cols) {
  const auto* p = static_cast<const float*>(w);
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 2 * LANES <= cols; c += 2 * LANES) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(p + c), _mm256_loadu_ps(x + c), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(p + c + LANES), _mm256_loadu_ps(x + c + LANES), acc1);
  }
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; c < cols; ++c)
    sum += x[c] * p[c];
  return sum;
}

// In dot_f32_avx2's order: an F16 row gives the same bits as an F32 row of its widened values
// (attention over F16 KV blocks relies on it).
SOCLE_AVX2 float dot_f16_avx2(const void* w, const float* x, int64_t cols) {
  const auto* p = static_cast<const uint16_t*>(w);
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 2 * LANES <= cols; c += 2 * LANES) {
    acc0 = _mm256_fmadd_ps(widen(p + c), _mm256_loadu_ps(x + c), acc0);
    acc1 = _mm256_fmadd_ps(widen(p + c + LANES), _mm256_loadu_ps(x + c + LANES), acc1);
  }
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; c < cols; ++c)
    sum += x[c] * f16(p[c]);
  return sum;
}

SOCLE_AVX2 float dot_bf16_avx2(const void* w, const float* x, int64_t cols) {
  const auto* p = static_cast<const uint16_t*>(w);
  __m256 acc = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + LANES <= cols; c += LANES) {
    __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + c)));
    __m256 wv = _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
    acc = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + c), acc);
  }
  float sum = hsum(acc);
  for (; c < cols; ++c)
    sum += x[c] * bf16_to_f32(p[c]);
  return sum;
}

SOCLE_AVX2 float dot_q8_0_avx2(const void* w, const BlockQ8Act* x, int64_t cols) {
  const auto* b = static_cast<const BlockQ8_0*>(w);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < cols / QK8_0; ++i) {
    __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs));
    __m256 isum = _mm256_cvtepi32_ps(dot_i8(wq, load_act(x[i])));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(b[i].d) * x[i].d), isum, acc);
  }
  return hsum(acc);
}

SOCLE_AVX2 float dot_q4_0_avx2(const void* w, const BlockQ8Act* x, int64_t cols) {
  const auto* b = static_cast<const BlockQ4_0*>(w);
  const __m256i low_nibbles = _mm256_set1_epi8(0xF);
  const __m256i offset = _mm256_set1_epi8(8);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < cols / QK4_0; ++i) {
    // Values 0..15 are the low nibbles, 16..31 the high ones.
    __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].qs));
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
    __m256i wq = _mm256_sub_epi8(_mm256_and_si256(both, low_nibbles), offset);
    __m256 isum = _mm256_cvtepi32_ps(dot_i8(wq, load_act(x[i])));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(b[i].d) * x[i].d), isum, acc);
  }
  return hsum(acc);
}

SOCLE_AVX2 float dot_q4_k_avx2(const void* w, const BlockQ8Act* x, int64_t cols) {
  const auto* b = static_cast<const BlockQ4K*>(w);
  const __m256i low_nibbles = _mm256_set1_epi8(0xF);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0.0f;
  for (int64_t i = 0; i < cols / QK_K; ++i) {
    const BlockQ8Act* a = x + i * (QK_K / Q8_ACT_BLOCK);
    uint8_t sc[8];
    uint8_t m[8];
    for (int j = 0; j < 4; ++j) {
      sc[j] = b[i].scales[j] & 63;
      m[j] = b[i].scales[j + 4] & 63;
      sc[j + 4] = static_cast<uint8_t>((b[i].scales[j + 8] & 0xF) | ((b[i].scales[j] >> 6) << 4));
      m[j + 4] = static_cast<uint8_t>((b[i].scales[j + 8] >> 4) | ((b[i].scales[j + 4] >> 6) << 4));
    }
    float d = f16(b[i].d);
    float dmin = f16(b[i].dmin);
    for (int64_t p = 0; p < 4; ++p) {
      __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs + 32 * p));
      __m256i lo = _mm256_and_si256(packed, low_nibbles);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles);
      const BlockQ8Act& a0 = a[2 * p];
      const BlockQ8Act& a1 = a[2 * p + 1];
      __m256 s0 = _mm256_cvtepi32_ps(dot_u8_i8(lo, load_act(a0)));
      __m256 s1 = _mm256_cvtepi32_ps(dot_u8_i8(hi, load_act(a1)));
      acc = _mm256_fmadd_ps(_mm256_set1_ps(a0.d * d * static_cast<float>(sc[2 * p])), s0, acc);
      acc = _mm256_fmadd_ps(_mm256_set1_ps(a1.d * d * static_cast<float>(sc[2 * p + 1])), s1, acc);
      mins +=
          a0.d * dmin * static_cast<float>(m[2 * p]) * static_cast<float>(a0.sums[0] + a0.sums[1]);
      mins += a1.d * dmin * static_cast<float>(m[2 * p + 1]) *
              static_cast<float>(a1.sums[0] + a1.sums[1]);
    }
  }
  return hsum(acc) - mins;
}

SOCLE_AVX2 float dot_q6_k_avx2(const void* w, const BlockQ8Act* x, int64_t cols) {
  const auto* b = static_cast<const BlockQ6K*>(w);
  const __m256i low_nibbles = _mm256_set1_epi8(0xF);
  const __m256i two_bits = _mm256_set1_epi8(3);
  const __m256i offset = _mm256_set1_epi8(32);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < cols / QK_K; ++i) {
    const BlockQ8Act* a = x + i * (QK_K / Q8_ACT_BLOCK);
    float d = f16(b[i].d);
    for (int64_t h = 0; h < 2; ++h) {
      __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].ql + 64 * h));
      __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].ql + 64 * h + 32));
      __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qh + 32 * h));
      // Group g of 32 values: nibble (g >> 1) of ql[(g & 1)], bits 2g..2g+1 of qh.
      __m256i low[4] = {_mm256_and_si256(ql0, low_nibbles), _mm256_and_si256(ql1, low_nibbles),
                        _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_nibbles),
                        _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_nibbles)};
      for (int64_t g = 0; g < 4; ++g) {
        __m256i high = _mm256_and_si256(
            _mm256_srl_epi16(qh, _mm_cvtsi32_si128(static_cast<int>(2 * g))), two_bits);
        __m256i code = _mm256_or_si256(low[g], _mm256_slli_epi16(high, 4));
        __m256i wq = _mm256_sub_epi8(code, offset);
        const BlockQ8Act& act = a[4 * h + g];
        const int8_t* sc = b[i].scales + 8 * h + 2 * g;
        __m256i scales = _mm256_setr_epi32(sc[0], sc[0], sc[0], sc[0], sc[1], sc[1], sc[1], sc[1]);
        __m256i isum = _mm256_mullo_epi32(dot_i8(wq, load_act(act)), scales);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(act.d * d), _mm256_cvtepi32_ps(isum), acc);
      }
    }
  }
  return hsum(acc);
}

}  // namespace socle::engine
