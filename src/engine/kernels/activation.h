// Element-wise activations and the softmax, in place over n contiguous floats. Each has a
// scalar reference (`_ref`, on the C library's exp, erf and tanh), AVX2 and AVX-512 twins on
// the vectorised exp below, and a dispatching entry point. Every element goes through the
// same arithmetic wherever it sits (a vector's tail is padded, not finished in scalar code),
// so a value's result never depends on n, on its neighbours or on the thread split.
#pragma once

#include <cstdint>

#include "engine/kernels/kernel_path.h"
#include "engine/kernels/thread_pool.h"

namespace socle::engine {

// The SIMD paths' exp: Cody-Waite reduction to |r| <= ln 2 / 2, a degree-7 Taylor
// polynomial (truncation below 6e-9) and an exact power of two: within
// EXP_SIMD_MAX_REL_ERROR (2 ulps) of the exact value on [-87.33, 88.37], checked on four
// million inputs spread over that range and near zero (measured: 7.6e-8, the final rounding
// to float32 included). Below -87.33 it returns 0 (the exact value is under 1.2e-38), above
// 88.37 +inf.
inline constexpr double EXP_SIMD_MAX_REL_ERROR = 1.2e-7;

// The SIMD paths' erf-based GELU uses Abramowitz and Stegun's formula 7.1.26 for erf, whose
// absolute error is at most 1.5e-7: GELU(x) = x Phi(x) is then within
// |x| * GELU_SIMD_MAX_PHI_ERROR of the reference (the formula's 0.75e-7 on Phi, a few ulps
// of the float32 evaluation of Phi's tail, and the reference's own rounding of 1 + erf;
// measured: 2.9e-7 over a million normal inputs of standard deviation 3).
inline constexpr double GELU_SIMD_MAX_PHI_ERROR = 4e-7;

// x = x * sigmoid(x)
void silu_ref(float* x, int64_t n);
void silu_avx2(float* x, int64_t n);
void silu_avx512(float* x, int64_t n);

// gate = silu(gate) * up: the SwiGLU feed-forward's gating.
// gate, up: (n)
void swiglu_ref(float* gate, const float* up, int64_t n);
void swiglu_avx2(float* gate, const float* up, int64_t n);
void swiglu_avx512(float* gate, const float* up, int64_t n);

// x = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)): the exact GELU (bert's "gelu").
void gelu_ref(float* x, int64_t n);
void gelu_avx2(float* x, int64_t n);
void gelu_avx512(float* x, int64_t n);

// x = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): "gelu_new", "gelu_pytorch_tanh".
// The SIMD paths use the identity 0.5 (1 + tanh(y)) = 1 / (1 + exp(-2y)), which has no
// cancellation for negative x.
void gelu_tanh_ref(float* x, int64_t n);
void gelu_tanh_avx2(float* x, int64_t n);
void gelu_tanh_avx512(float* x, int64_t n);

// x = exp(x - max) / sum(exp(x - max)): a probability distribution over n values (n >= 1).
// Subtracting the maximum keeps every exp in (0, 1], so no input overflows.
void softmax_ref(float* x, int64_t n);
void softmax_avx2(float* x, int64_t n);
void softmax_avx512(float* x, int64_t n);

// x = exp(x): the C library's exp, or the SIMD exp described above (-inf gives 0).
void exp_ref(float* x, int64_t n);
void exp_avx2(float* x, int64_t n);
void exp_avx512(float* x, int64_t n);

// The element-wise functions on `path`, the values split over `pool`, and on
// kernel_path_active() and default_thread_pool().
void silu(float* x, int64_t n, KernelPath path, ThreadPool& pool);
void silu(float* x, int64_t n);
void swiglu(float* gate, const float* up, int64_t n, KernelPath path, ThreadPool& pool);
void swiglu(float* gate, const float* up, int64_t n);
void gelu(float* x, int64_t n, KernelPath path, ThreadPool& pool);
void gelu(float* x, int64_t n);
void gelu_tanh(float* x, int64_t n, KernelPath path, ThreadPool& pool);
void gelu_tanh(float* x, int64_t n);

// exp of n values on `path`, one thread (a sampler's row of logits).
void exp_values(float* x, int64_t n, KernelPath path);

// One softmax row on `path` (one thread: a row is a reduction), or on kernel_path_active().
void softmax(float* x, int64_t n, KernelPath path);
void softmax(float* x, int64_t n);

}  // namespace socle::engine
