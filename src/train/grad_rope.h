// Rotary position embeddings for training: the rotation of each pair of a head's dimensions
// (engine/kernels/rope.h's pairings and angles) and its inverse, which is its backward: a
// rotation is orthogonal, so the gradient goes back through the rotation by minus the angle.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/kernels/rope.h"

namespace socle::train {

// The cosines and sines of positions 0 .. n_pos - 1, as the engine computes them
// (rope_cos_sin): row p holds head_dim / 2 values.
struct RopeTable {
  int64_t half = 0;        // head_dim / 2
  std::vector<float> cos;  // (n_pos, half)
  std::vector<float> sin;  // (n_pos, half)
};
RopeTable rope_table(int64_t n_pos, int64_t head_dim, const float* inv_freq);

// Rotates every head of every token in place: token t at position t. `inverse` rotates by
// minus the angle: applied to d out, it gives d x (the backward of the forward rotation).
// x: (n_tokens, n_heads * head_dim)
template <typename Scalar>
void rope_rotate(Scalar* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                 const RopeTable& table, engine::RopePairing pairing, bool inverse);

}  // namespace socle::train
