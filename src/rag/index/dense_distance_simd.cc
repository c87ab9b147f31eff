// AVX2 and AVX-512 twins of dot_i8_ref (dense_distance.cc). Each function carries its own
// target attribute, as the engine's kernels do, so the rest of the binary stays baseline
// x86-64. Both widen the int8 values to int16 and let madd form pairwise int32 sums: exact,
// with no saturation to think about (maddubs would need an unsigned operand).
#include <immintrin.h>

#include "rag/index/dense_distance.h"

#define SOCLE_AVX2 __attribute__((target("avx2,fma,f16c")))
#define SOCLE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

namespace socle::rag {
namespace {

constexpr int64_t AVX2_STEP = 16;    // int8 values widened into one __m256i of int16
constexpr int64_t AVX512_STEP = 32;  // int8 values widened into one __m512i of int16

SOCLE_AVX2 int32_t hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

SOCLE_AVX2 __m256i load_i8_as_i16(const int8_t* p) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

SOCLE_AVX512 __m512i load_i8_as_i16_512(const int8_t* p) {
  return _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

}  // namespace

SOCLE_AVX2 int32_t dot_i8_avx2(const int8_t* a, const int8_t* b, int64_t n) {
  __m256i acc = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + AVX2_STEP <= n; i += AVX2_STEP) {
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(load_i8_as_i16(a + i), load_i8_as_i16(b + i)));
  }
  int32_t sum = hsum_epi32(acc);
  for (; i < n; ++i)
    sum += int32_t{a[i]} * int32_t{b[i]};
  return sum;
}

SOCLE_AVX512 int32_t dot_i8_avx512(const int8_t* a, const int8_t* b, int64_t n) {
  __m512i acc = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + AVX512_STEP <= n; i += AVX512_STEP) {
    acc = _mm512_add_epi32(acc,
                           _mm512_madd_epi16(load_i8_as_i16_512(a + i), load_i8_as_i16_512(b + i)));
  }
  int32_t sum = _mm512_reduce_add_epi32(acc);
  for (; i < n; ++i)
    sum += int32_t{a[i]} * int32_t{b[i]};
  return sum;
}

}  // namespace socle::rag
