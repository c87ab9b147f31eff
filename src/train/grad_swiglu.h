// SwiGLU's gating for training: out = silu(gate) * up, and its backward.
#pragma once

#include <cstdint>

namespace socle::train {

// out = gate * sigmoid(gate) * up.
// out, gate, up: (n)
template <typename Scalar>
void swiglu_forward(Scalar* out, const Scalar* gate, const Scalar* up, int64_t n);

// d_gate += d_out * up * sigmoid(gate) * (1 + gate * (1 - sigmoid(gate)));
// d_up += d_out * silu(gate).
// d_gate, d_up, d_out, gate, up: (n)
template <typename Scalar>
void swiglu_backward(Scalar* d_gate, Scalar* d_up, const Scalar* d_out, const Scalar* gate,
                     const Scalar* up, int64_t n);

}  // namespace socle::train
