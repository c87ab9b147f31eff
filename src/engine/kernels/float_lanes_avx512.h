// What the AVX-512 float kernels (matmul_tiled_float_avx512.cc, matmul_transposed_avx512.cc)
// share: sixteen float32 lanes, their tail mask, and F32/F16/BF16 weights widened into them.
// Only for translation units compiled for AVX-512 paths picked at run time.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "engine/format/dtype.h"

#define SOCLE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

namespace socle::engine::avx512 {

inline constexpr int64_t LANES = 16;  // float32 values per __m512

// The first min(left, 16) lanes.
SOCLE_AVX512 inline __mmask16 lanes_mask(int64_t left) {
  return left >= LANES ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
}

// Sixteen weights of `row` from column c (fewer under the mask, the rest zero) widened to
// float32.
template <DType TYPE>
SOCLE_AVX512 inline __m512 load_weights(const void* row, int64_t c, __mmask16 m) {
  if constexpr (TYPE == DType::F32) {
    return _mm512_maskz_loadu_ps(m, static_cast<const float*>(row) + c);
  } else if constexpr (TYPE == DType::F16) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(row) + c));
  } else {
    const auto* p = static_cast<const uint16_t*>(row) + c;
    __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
}

}  // namespace socle::engine::avx512
