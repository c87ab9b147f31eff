// AdamW as torch.optim.AdamW computes it (decoupled weight decay, bias-corrected moments):
// for step t = 1, 2, ...:
//   w -= lr * weight_decay * w
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// Each element's update is evaluated in double and rounded once to float32; the moments are
// kept in float32.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"

namespace socle::train {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

class AdamW {
 public:
  explicit AdamW(AdamWConfig config) : config_(config) {}

  // One step at learning rate `lr` over `params` with their gradients `grads` (the same
  // tensors in the same order at every step; the first call sizes the moments).
  void step(std::span<const std::span<float>> params, std::span<const std::span<const float>> grads,
            double lr);

  const AdamWConfig& config() const { return config_; }
  int64_t steps_taken() const { return t_; }
  // The moments, per tensor, for checkpoints.
  std::vector<std::vector<float>>& first_moments() { return m_; }
  std::vector<std::vector<float>>& second_moments() { return v_; }
  const std::vector<std::vector<float>>& first_moments() const { return m_; }
  const std::vector<std::vector<float>>& second_moments() const { return v_; }
  // Restores a state saved from first_moments(), second_moments() and steps_taken().
  // INVALID_ARGUMENT if the two lists disagree in shape.
  Status restore(int64_t steps_taken, std::vector<std::vector<float>> m,
                 std::vector<std::vector<float>> v);

 private:
  AdamWConfig config_;
  int64_t t_ = 0;
  std::vector<std::vector<float>> m_;
  std::vector<std::vector<float>> v_;
};

}  // namespace socle::train
