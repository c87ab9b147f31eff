// Dot products of one weight row with one activation row: the inner loop of every matmul.
// Each weight type has a scalar reference (`_ref`) and AVX2 and AVX-512 twins, tested
// against it.
// Float weights (F32, F16, BF16) meet float32 activations; quantised weights meet
// activations quantised by quantize_activations_ref, and each block's product is an exact
// integer sum scaled in float32, so paths differ only in the order they add the blocks.
#pragma once

#include <cstdint>

#include "engine/format/dtype.h"
#include "engine/kernels/q8_activations.h"

namespace socle::engine {

// w: one row of `cols` values of the function's type; x: (cols)
using DotFloatFn = float (*)(const void* w, const float* x, int64_t cols);
// w: one row of `cols` values of the function's type; x: (cols / 32)
using DotQuantFn = float (*)(const void* w, const BlockQ8Act* x, int64_t cols);

// Sums w[c] * x[c] for c = 0, 1, ... in that order, in float32.
float dot_f32_ref(const void* w, const float* x, int64_t cols);
float dot_f16_ref(const void* w, const float* x, int64_t cols);
float dot_bf16_ref(const void* w, const float* x, int64_t cols);

// Block by block in order: sum += (weight scale * activation scale) * integer block sum
// (minus the min term for Q4_K).
float dot_q8_0_ref(const void* w, const BlockQ8Act* x, int64_t cols);
float dot_q4_0_ref(const void* w, const BlockQ8Act* x, int64_t cols);
float dot_q4_k_ref(const void* w, const BlockQ8Act* x, int64_t cols);
float dot_q6_k_ref(const void* w, const BlockQ8Act* x, int64_t cols);

// AVX2 + FMA + F16C: eight float32 lanes; call them only where the CPU has those features.
float dot_f32_avx2(const void* w, const float* x, int64_t cols);
float dot_f16_avx2(const void* w, const float* x, int64_t cols);
float dot_bf16_avx2(const void* w, const float* x, int64_t cols);
float dot_q8_0_avx2(const void* w, const BlockQ8Act* x, int64_t cols);
float dot_q4_0_avx2(const void* w, const BlockQ8Act* x, int64_t cols);
float dot_q4_k_avx2(const void* w, const BlockQ8Act* x, int64_t cols);
float dot_q6_k_avx2(const void* w, const BlockQ8Act* x, int64_t cols);

// AVX-512 (F, BW, VL) + FMA + F16C: sixteen float32 lanes, two quantised blocks at a time.
float dot_f32_avx512(const void* w, const float* x, int64_t cols);
float dot_f16_avx512(const void* w, const float* x, int64_t cols);
float dot_bf16_avx512(const void* w, const float* x, int64_t cols);
float dot_q8_0_avx512(const void* w, const BlockQ8Act* x, int64_t cols);
float dot_q4_0_avx512(const void* w, const BlockQ8Act* x, int64_t cols);
float dot_q4_k_avx512(const void* w, const BlockQ8Act* x, int64_t cols);
float dot_q6_k_avx512(const void* w, const BlockQ8Act* x, int64_t cols);

}  // namespace socle::engine
