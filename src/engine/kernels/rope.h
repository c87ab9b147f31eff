// Rotary position embeddings: each pair of a head's dimensions is rotated by the token's
// position times the pair's frequency.
#pragma once

#include <cstdint>

#include "engine/kernels/kernel_path.h"

namespace socle::engine {

// Which dimensions form a pair.
enum class RopePairing {
  HALF,         // (i, i + head_dim/2): Hugging Face's rotate_half, GPT-NeoX
  INTERLEAVED,  // (2i, 2i + 1): Meta's original llama, GPT-J, GGUF's llama layout
};

// The unscaled frequencies theta^(-2i / head_dim), in radians per position.
// inv_freq: (head_dim / 2)
void rope_inv_freq(float* inv_freq, int64_t head_dim, double theta);

// Linear scaling ("linear" rope type): every frequency divided by `factor`.
// inv_freq: (n)
void rope_scale_linear(float* inv_freq, int64_t n, double factor);

// Llama 3.1's scaling ("llama3" rope type): wavelengths longer than
// original_max_positions / low_freq_factor are stretched by `factor`, those shorter than
// original_max_positions / high_freq_factor are kept, and those between are interpolated.
// inv_freq: (n)
void rope_scale_llama3(float* inv_freq, int64_t n, double factor, double low_freq_factor,
                       double high_freq_factor, double original_max_positions);

// The rotation of each pair at position `pos`: the angle is the float32 product
// pos * inv_freq[i], as transformers and llama.cpp compute it, and its cosine and sine are
// taken in double (positions reach 10^5 and more, where a float32 argument reduction would
// lose the angle), then rounded to float32. Every path uses these same values.
// cos, sin, inv_freq: (n)
void rope_cos_sin(float* cos, float* sin, int64_t n, int64_t pos, const float* inv_freq);

// Rotates every head of one token at position `pos`, in place.
// x: (n_heads, head_dim); inv_freq: (head_dim / 2)
void rope_apply_ref(float* x, int64_t n_heads, int64_t head_dim, int64_t pos, const float* inv_freq,
                    RopePairing pairing);
// The same with the rotations in AVX2 or AVX-512 lanes (the cosines and sines as above). Each
// output is x0 * c -+ x1 * s, as in the reference, but may be one fused multiply-add: within
// an ulp or so of |x0| + |x1| of the reference.
void rope_apply_avx2(float* x, int64_t n_heads, int64_t head_dim, int64_t pos,
                     const float* inv_freq, RopePairing pairing);
void rope_apply_avx512(float* x, int64_t n_heads, int64_t head_dim, int64_t pos,
                       const float* inv_freq, RopePairing pairing);

// The same on `path`, or on kernel_path_active(). One token's heads are a few thousand values,
// too few to split over threads.
void rope_apply(float* x, int64_t n_heads, int64_t head_dim, int64_t pos, const float* inv_freq,
                RopePairing pairing, KernelPath path);
void rope_apply(float* x, int64_t n_heads, int64_t head_dim, int64_t pos, const float* inv_freq,
                RopePairing pairing);

}  // namespace socle::engine
