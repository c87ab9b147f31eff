// Matrix multiplication of float32 activations by a weight matrix: the linear layers of
// every model. Each output row depends on its input row alone and sums in a fixed order, so
// a token's result does not depend on what else is in the batch.
#pragma once

#include <cstdint>

#include "engine/kernels/kernel_path.h"
#include "engine/kernels/thread_pool.h"
#include "engine/kernels/weight.h"

namespace socle::engine {

// out = x @ w^T + bias, the reference: the most naive loop, widening (or dequantising) each
// weight row to float32 and summing over the columns in order. For quantised weights this
// is "the same weights dequantised to float32 and run through the float32 path", the oracle
// for matmul below.
// out:  (n, w.rows)
// x:    (n, w.cols)
// bias: (w.rows) or nullptr
void matmul_ref(float* out, const float* x, const WeightView& w, const float* bias, int64_t n);

// out = x @ w^T + bias with `path`'s kernels: on the AVX512 path, tiles of rows by tokens
// for F32, F16, BF16, Q8_0, Q4_0 and Q4_K (matmul_tiled.h); otherwise one dot product per
// (row, token) pair (engine/kernels/dot.h). Output rows split over `pool`. Float weights
// take the float32 activations; quantised weights take the activations quantised in blocks
// of 32 (q8_activations.h). For a given path the result is bitwise the same whatever n, the
// thread count and whatever other rows x holds.
// out:  (n, w.rows)
// x:    (n, w.cols)
// bias: (w.rows) or nullptr
void matmul(float* out, const float* x, const WeightView& w, const float* bias, int64_t n,
            KernelPath path, ThreadPool& pool);

// The same on kernel_path_active() and default_thread_pool().
void matmul(float* out, const float* x, const WeightView& w, const float* bias, int64_t n);

}  // namespace socle::engine
