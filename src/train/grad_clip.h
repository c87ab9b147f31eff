// Clipping of gradients by their global L2 norm, as torch.nn.utils.clip_grad_norm_ does it.
#pragma once

#include <span>

namespace socle::train {

// torch's guard against a zero norm: the scale is max_norm / (norm + 1e-6).
inline constexpr double CLIP_NORM_EPS = 1e-6;

// The L2 norm of all the tensors together (summed in double).
double global_grad_norm(std::span<const std::span<const float>> grads);

// Scales every gradient by max_norm / (norm + CLIP_NORM_EPS) when that is below 1, and
// returns the norm before clipping.
double clip_grad_norm(std::span<const std::span<float>> grads, double max_norm);

}  // namespace socle::train
