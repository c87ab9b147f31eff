// Float32 values narrowed to IEEE half precision in bulk: what a KV pool of f16 stores for each
// new key and value row. Every path rounds to nearest with ties to even, as f32_to_f16 does,
// so the stored bits are the same on every path (NaN aside: each stays a NaN).
#pragma once

#include <cstdint>

#include "engine/kernels/kernel_path.h"

namespace socle::engine {

// out[i] = f32_to_f16(x[i]) for i in [0, n).
void f32_to_f16_values_ref(uint16_t* out, const float* x, int64_t n);
// The same with the CPU's conversion instruction (F16C), eight or sixteen lanes at a time.
void f32_to_f16_values_avx2(uint16_t* out, const float* x, int64_t n);
void f32_to_f16_values_avx512(uint16_t* out, const float* x, int64_t n);

// The same on `path`.
void f32_to_f16_values(uint16_t* out, const float* x, int64_t n, KernelPath path);

}  // namespace socle::engine
