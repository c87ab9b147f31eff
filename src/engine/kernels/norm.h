// Normalisations over the last dimension of a row-major (rows, dim) tensor. `out` may be `x`.
// Each has a scalar reference (`_ref`), AVX2 and AVX-512 twins (each row's sums run in vector
// lanes, reduced once, so they differ from the reference by float32 rounding only), and a
// dispatching entry point that splits the rows over a thread pool. A row's result depends on
// that row alone: the same bits whatever the batch or the thread count, for a given path.
#pragma once

#include <cstdint>

#include "engine/kernels/kernel_path.h"
#include "engine/kernels/thread_pool.h"

namespace socle::engine {

// RMSNorm: out = x / sqrt(mean(x^2) + eps) * weight (llama, qwen).
// out, x: (rows, dim); weight: (dim)
void rmsnorm_ref(float* out, const float* x, const float* weight, int64_t rows, int64_t dim,
                 float eps);
void rmsnorm_avx2(float* out, const float* x, const float* weight, int64_t rows, int64_t dim,
                  float eps);
void rmsnorm_avx512(float* out, const float* x, const float* weight, int64_t rows, int64_t dim,
                    float eps);

// The same on `path`, rows split over `pool`.
void rmsnorm(float* out, const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
             KernelPath path, ThreadPool& pool);
// The same on kernel_path_active() and default_thread_pool().
void rmsnorm(float* out, const float* x, const float* weight, int64_t rows, int64_t dim, float eps);

// LayerNorm: out = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance
// (bert).
// out, x: (rows, dim); weight, bias: (dim)
void layernorm_ref(float* out, const float* x, const float* weight, const float* bias, int64_t rows,
                   int64_t dim, float eps);
void layernorm_avx2(float* out, const float* x, const float* weight, const float* bias,
                    int64_t rows, int64_t dim, float eps);
void layernorm_avx512(float* out, const float* x, const float* weight, const float* bias,
                      int64_t rows, int64_t dim, float eps);

// The same on `path`, rows split over `pool`.
void layernorm(float* out, const float* x, const float* weight, const float* bias, int64_t rows,
               int64_t dim, float eps, KernelPath path, ThreadPool& pool);
// The same on kernel_path_active() and default_thread_pool().
void layernorm(float* out, const float* x, const float* weight, const float* bias, int64_t rows,
               int64_t dim, float eps);

}  // namespace socle::engine
