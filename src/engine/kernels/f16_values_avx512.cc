// AVX-512 twin of f32_to_f16_values_ref: vcvtps2ph with rounding to nearest even given in the
// instruction (not taken from MXCSR), sixteen values at a time and a masked tail. (The
// zero-masking form: GCC 12 warns that the plain one's undefined pass-through is used.)
#include <immintrin.h>

#include "engine/kernels/f16_values.h"

#define SOCLE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,f16c")))

namespace socle::engine {

SOCLE_AVX512 void f32_to_f16_values_avx512(uint16_t* out, const float* x, int64_t n) {
  constexpr int64_t LANES = 16;
  constexpr int ROUND = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  constexpr __mmask16 ALL = 0xFFFF;
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES) {
    __m256i h = _mm512_maskz_cvtps_ph(ALL, _mm512_loadu_ps(x + i), ROUND);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), h);
  }
  if (i < n) {
    auto m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    __m256i h = _mm512_maskz_cvtps_ph(m, _mm512_maskz_loadu_ps(m, x + i), ROUND);
    _mm256_mask_storeu_epi16(out + i, m, h);
  }
}

}  // namespace socle::engine
