// Normalisations over the last dimension of a row-major (rows, dim) tensor. `out` may be `x`.
#pragma once

#include <cstdint>

namespace socle::engine {

// RMSNorm: out = x / sqrt(mean(x^2) + eps) * weight (llama, qwen).
// out, x: (rows, dim); weight: (dim)
void rmsnorm_ref(float* out, const float* x, const float* weight, int64_t rows, int64_t dim,
                 float eps);

// LayerNorm: out = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance
// (bert).
// out, x: (rows, dim); weight, bias: (dim)
void layernorm_ref(float* out, const float* x, const float* weight, const float* bias, int64_t rows,
                   int64_t dim, float eps);

}  // namespace socle::engine
