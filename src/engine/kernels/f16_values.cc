#include "engine/kernels/f16_values.h"

#include "engine/format/dtype.h"

namespace socle::engine {

void f32_to_f16_values_ref(uint16_t* out, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = f32_to_f16(x[i]);
}

void f32_to_f16_values(uint16_t* out, const float* x, int64_t n, KernelPath path) {
  switch (path) {
    case KernelPath::SCALAR:
      f32_to_f16_values_ref(out, x, n);
      return;
    case KernelPath::AVX2:
      f32_to_f16_values_avx2(out, x, n);
      return;
    case KernelPath::AVX512:
      f32_to_f16_values_avx512(out, x, n);
      return;
  }
}

}  // namespace socle::engine
