#include "train/grad_clip.h"

#include <cmath>
#include <vector>

namespace socle::train {

double global_grad_norm(std::span<const std::span<const float>> grads) {
  double ss = 0;
  for (std::span<const float> g : grads) {
    for (float v : g)
      ss += static_cast<double>(v) * static_cast<double>(v);
  }
  return std::sqrt(ss);
}

double clip_grad_norm(std::span<const std::span<float>> grads, double max_norm) {
  std::vector<std::span<const float>> view(grads.begin(), grads.end());
  double norm = global_grad_norm(view);
  double coef = max_norm / (norm + CLIP_NORM_EPS);
  if (coef >= 1.0) return norm;
  for (std::span<float> g : grads) {
    for (float& v : g)
      v = static_cast<float>(static_cast<double>(v) * coef);
  }
  return norm;
}

}  // namespace socle::train
