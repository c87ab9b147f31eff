// Matrix multiplication of float32 activations by a weight matrix: the linear layers of
// every model. Each output row depends on its input row alone and sums in a fixed order, so
// a token's result does not depend on what else is in the batch.
#pragma once

#include <cstdint>

#include "engine/kernels/weight.h"

namespace socle::engine {

// out = x @ w^T + bias, the reference: the most naive loop, widening each weight row to
// float32 and summing over the columns in order. Faster twins (SIMD, threads, quantised
// activations) are tested against it.
// out:  (n, w.rows)
// x:    (n, w.cols)
// bias: (w.rows) or nullptr
void matmul_ref(float* out, const float* x, const WeightView& w, const float* bias, int64_t n);

}  // namespace socle::engine
