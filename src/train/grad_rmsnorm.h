// RMSNorm's forward and backward for training, templated on the scalar type so that the
// finite-difference tests run them in double. The weight is frozen: only the input gradient.
#pragma once

#include <cstdint>

namespace socle::train {

// out = x / sqrt(mean(x^2) + eps) * weight, row by row (the engine's rmsnorm_ref, in Scalar).
// out, x: (rows, dim); weight: (dim)
template <typename Scalar>
void rmsnorm_forward(Scalar* out, const Scalar* x, const float* weight, int64_t rows, int64_t dim,
                     double eps);

// dx += d out / d x applied to dy, for the forward above at input x.
// dx, dy, x: (rows, dim); weight: (dim)
template <typename Scalar>
void rmsnorm_backward(Scalar* dx, const Scalar* dy, const Scalar* x, const float* weight,
                      int64_t rows, int64_t dim, double eps);

}  // namespace socle::train
