// F16C twin of f32_to_f16_values_ref: vcvtps2ph with rounding to nearest even given in the
// instruction (not taken from MXCSR), eight values at a time, the last ones one by one as the
// reference rounds them.
#include <immintrin.h>

#include "engine/format/dtype.h"
#include "engine/kernels/f16_values.h"

#define SOCLE_AVX2 __attribute__((target("avx2,f16c")))

namespace socle::engine {

SOCLE_AVX2 void f32_to_f16_values_avx2(uint16_t* out, const float* x, int64_t n) {
  constexpr int64_t LANES = 8;
  constexpr int ROUND = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES) {
    __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), ROUND);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i)
    out[i] = f32_to_f16(x[i]);
}

}  // namespace socle::engine
