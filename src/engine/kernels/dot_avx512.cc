// AVX-512 twins of dot_ref.cc (F, BW and VL subsets). Float types take sixteen lanes with a
// masked tail; quantised types take two 32-value blocks per 512-bit register, their int32
// lanes 0..7 from the first block and 8..15 from the second, and an odd last block through
// 256-bit registers. As in the AVX2 set, block products are exact integers.
#include <immintrin.h>

#include "engine/kernels/dot.h"
#include "engine/kernels/quant.h"

#define SOCLE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

namespace socle::engine {
namespace {

constexpr int64_t LANES = 16;               // float32 values per __m512
constexpr __mmask16 SECOND_BLOCK = 0xFF00;  // int32 lanes of the second block of a pair

SOCLE_AVX512 __mmask16 tail_mask(int64_t n) {
  return static_cast<__mmask16>((1u << n) - 1u);
}

// Sixteen int32 sums of four products each of 64 signed bytes (two blocks): maddubs needs
// one unsigned operand, so |w| meets x with w's sign.
SOCLE_AVX512 __m512i dot_i8x64(__m512i w, __m512i x) {
  __mmask64 negative = _mm512_movepi8_mask(w);
  __m512i x_signed = _mm512_mask_sub_epi8(x, negative, _mm512_setzero_si512(), x);
  __m512i pairs = _mm512_maddubs_epi16(_mm512_abs_epi8(w), x_signed);
  return _mm512_madd_epi16(pairs, _mm512_set1_epi16(1));
}

SOCLE_AVX512 __m256i dot_i8x32(__m256i w, __m256i x) {
  __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

SOCLE_AVX512 __m512i join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

SOCLE_AVX512 __m256i load32(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// A vector of a for lanes 0..7 and b for lanes 8..15.
SOCLE_AVX512 __m512 pair_scale(float a, float b) {
  return _mm512_mask_blend_ps(SECOND_BLOCK, _mm512_set1_ps(a), _mm512_set1_ps(b));
}

SOCLE_AVX512 float f16(uint16_t bits) {
  return _cvtsh_ss(bits);
}

SOCLE_AVX512 float hsum256(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

// The 32 signed codes of a Q4_0 block in value order.
SOCLE_AVX512 __m256i q4_0_codes(const BlockQ4_0& b) {
  __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
  __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0xF)), _mm256_set1_epi8(8));
}

}  // namespace

SOCLE_AVX512 float dot_f32_avx512(const void* w, const float* x, int64_t cols) {
  const auto* p = static_cast<const float*>(w);
  __m512 acc = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + LANES <= cols; c += LANES)
    acc = _mm512_fmadd_ps(_mm512_loadu_ps(p + c), _mm512_loadu_ps(x + c), acc);
  if (c < cols) {
    __mmask16 m = tail_mask(cols - c);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, p + c), _mm512_maskz_loadu_ps(m, x + c), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

// In dot_f32_avx512's order: an F16 row gives the same bits as an F32 row of its widened values
// (attention over F16 KV blocks relies on it).
SOCLE_AVX512 float dot_f16_avx512(const void* w, const float* x, int64_t cols) {
  const auto* p = static_cast<const uint16_t*>(w);
  __m512 acc = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + LANES <= cols; c += LANES) {
    __m512 wv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + c)));
    acc = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + c), acc);
  }
  if (c < cols) {
    __mmask16 m = tail_mask(cols - c);
    __m512 wv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p + c));
    acc = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + c), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

SOCLE_AVX512 float dot_bf16_avx512(const void* w, const float* x, int64_t cols) {
  const auto* p = static_cast<const uint16_t*>(w);
  __m512 acc = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c < cols; c += LANES) {
    __mmask16 m = cols - c >= LANES ? static_cast<__mmask16>(0xFFFF) : tail_mask(cols - c);
    __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p + c));
    __m512 wv = _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
    acc = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + c), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

SOCLE_AVX512 float dot_q8_0_avx512(const void* w, const BlockQ8Act* x, int64_t cols) {
  const auto* b = static_cast<const BlockQ8_0*>(w);
  int64_t nb = cols / QK8_0;
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    __m512i wq = join(load32(b[i].qs), load32(b[i + 1].qs));
    __m512i xq = join(load32(x[i].qs), load32(x[i + 1].qs));
    __m512 scale = pair_scale(f16(b[i].d) * x[i].d, f16(b[i + 1].d) * x[i + 1].d);
    acc = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(dot_i8x64(wq, xq)), acc);
  }
  float sum = _mm512_reduce_add_ps(acc);
  if (i < nb) {
    __m256 isum = _mm256_cvtepi32_ps(dot_i8x32(load32(b[i].qs), load32(x[i].qs)));
    sum += hsum256(_mm256_mul_ps(_mm256_set1_ps(f16(b[i].d) * x[i].d), isum));
  }
  return sum;
}

SOCLE_AVX512 float dot_q4_0_avx512(const void* w, const BlockQ8Act* x, int64_t cols) {
  const auto* b = static_cast<const BlockQ4_0*>(w);
  int64_t nb = cols / QK4_0;
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    __m512i wq = join(q4_0_codes(b[i]), q4_0_codes(b[i + 1]));
    __m512i xq = join(load32(x[i].qs), load32(x[i + 1].qs));
    __m512 scale = pair_scale(f16(b[i].d) * x[i].d, f16(b[i + 1].d) * x[i + 1].d);
    acc = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(dot_i8x64(wq, xq)), acc);
  }
  float sum = _mm512_reduce_add_ps(acc);
  if (i < nb) {
    __m256 isum = _mm256_cvtepi32_ps(dot_i8x32(q4_0_codes(b[i]), load32(x[i].qs)));
    sum += hsum256(_mm256_mul_ps(_mm256_set1_ps(f16(b[i].d) * x[i].d), isum));
  }
  return sum;
}

SOCLE_AVX512 float dot_q4_k_avx512(const void* w, const BlockQ8Act* x, int64_t cols) {
  const auto* b = static_cast<const BlockQ4K*>(w);
  const __m512i low_nibbles = _mm512_set1_epi8(0xF);
  __m512 acc = _mm512_setzero_ps();
  float mins = 0.0f;
  for (int64_t i = 0; i < cols / QK_K; ++i) {
    const BlockQ8Act* a = x + i * (QK_K / Q8_ACT_BLOCK);
    uint8_t sc[8];
    uint8_t m[8];
    const uint8_t* s = b[i].scales;
    for (int j = 0; j < 4; ++j) {
      sc[j] = s[j] & 63;
      m[j] = s[j + 4] & 63;
      sc[j + 4] = static_cast<uint8_t>((s[j + 8] & 0xF) | ((s[j] >> 6) << 4));
      m[j + 4] = static_cast<uint8_t>((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
    }
    float d = f16(b[i].d);
    float dmin = f16(b[i].dmin);
    for (int64_t p = 0; p < 4; ++p) {
      // qs[32p..32p+31]: low nibbles are sub-block 2p, high nibbles 2p + 1.
      __m256i packed = load32(b[i].qs + 32 * p);
      __m512i both = join(packed, _mm256_srli_epi16(packed, 4));
      __m512i codes = _mm512_and_si512(both, low_nibbles);
      const BlockQ8Act& a0 = a[2 * p];
      const BlockQ8Act& a1 = a[2 * p + 1];
      __m512i xq = join(load32(a0.qs), load32(a1.qs));
      __m512i isum = _mm512_madd_epi16(_mm512_maddubs_epi16(codes, xq), _mm512_set1_epi16(1));
      __m512 scale = pair_scale(a0.d * d * static_cast<float>(sc[2 * p]),
                                a1.d * d * static_cast<float>(sc[2 * p + 1]));
      acc = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(isum), acc);
      mins +=
          a0.d * dmin * static_cast<float>(m[2 * p]) * static_cast<float>(a0.sums[0] + a0.sums[1]);
      mins += a1.d * dmin * static_cast<float>(m[2 * p + 1]) *
              static_cast<float>(a1.sums[0] + a1.sums[1]);
    }
  }
  return _mm512_reduce_add_ps(acc) - mins;
}

SOCLE_AVX512 float dot_q6_k_avx512(const void* w, const BlockQ8Act* x, int64_t cols) {
  const auto* b = static_cast<const BlockQ6K*>(w);
  const __m256i low_nibbles = _mm256_set1_epi8(0xF);
  const __m256i two_bits = _mm256_set1_epi8(3);
  const __m256i offset = _mm256_set1_epi8(32);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < cols / QK_K; ++i) {
    const BlockQ8Act* a = x + i * (QK_K / Q8_ACT_BLOCK);
    float d = f16(b[i].d);
    for (int64_t h = 0; h < 2; ++h) {
      __m256i ql0 = load32(b[i].ql + 64 * h);
      __m256i ql1 = load32(b[i].ql + 64 * h + 32);
      __m256i qh = load32(b[i].qh + 32 * h);
      __m256i low[4] = {_mm256_and_si256(ql0, low_nibbles), _mm256_and_si256(ql1, low_nibbles),
                        _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_nibbles),
                        _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_nibbles)};
      __m256i codes[4];
      for (int64_t g = 0; g < 4; ++g) {
        __m256i high = _mm256_and_si256(
            _mm256_srl_epi16(qh, _mm_cvtsi32_si128(static_cast<int>(2 * g))), two_bits);
        codes[g] = _mm256_sub_epi8(_mm256_or_si256(low[g], _mm256_slli_epi16(high, 4)), offset);
      }
      for (int64_t g = 0; g < 4; g += 2) {
        const BlockQ8Act& a0 = a[4 * h + g];
        const BlockQ8Act& a1 = a[4 * h + g + 1];
        const int8_t* sc = b[i].scales + 8 * h + 2 * g;  // 16-value scales of both blocks
        __m512i scales = _mm512_setr_epi32(sc[0], sc[0], sc[0], sc[0], sc[1], sc[1], sc[1], sc[1],
                                           sc[2], sc[2], sc[2], sc[2], sc[3], sc[3], sc[3], sc[3]);
        __m512i prod = dot_i8x64(join(codes[g], codes[g + 1]), join(load32(a0.qs), load32(a1.qs)));
        __m512i isum = _mm512_mullo_epi32(prod, scales);
        acc = _mm512_fmadd_ps(pair_scale(a0.d * d, a1.d * d), _mm512_cvtepi32_ps(isum), acc);
      }
    }
  }
  return _mm512_reduce_add_ps(acc);
}

}  // namespace socle::engine
