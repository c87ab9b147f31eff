// Element-wise activations and the softmax, in place over n contiguous floats.
#pragma once

#include <cstdint>

namespace socle::engine {

// x = x * sigmoid(x)
void silu_ref(float* x, int64_t n);

// gate = silu(gate) * up: the SwiGLU feed-forward's gating.
// gate, up: (n)
void swiglu_ref(float* gate, const float* up, int64_t n);

// x = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)): the exact GELU (bert's "gelu").
void gelu_ref(float* x, int64_t n);

// x = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): "gelu_new", "gelu_pytorch_tanh".
void gelu_tanh_ref(float* x, int64_t n);

// x = exp(x - max) / sum(exp(x - max)): a probability distribution over n values (n >= 1).
void softmax_ref(float* x, int64_t n);

}  // namespace socle::engine
