#include "train/adamw.h"

#include <cmath>

#include "base/check.h"

namespace socle::train {

void AdamW::step(std::span<const std::span<float>> params,
                 std::span<const std::span<const float>> grads, double lr) {
  SOCLE_CHECK(params.size() == grads.size(), "one gradient per parameter tensor");
  if (m_.empty()) {
    for (std::span<float> p : params) {
      m_.emplace_back(p.size(), 0.0f);
      v_.emplace_back(p.size(), 0.0f);
    }
  }
  SOCLE_CHECK(m_.size() == params.size(), "the same tensors at every step");
  ++t_;
  const double b1 = config_.beta1;
  const double b2 = config_.beta2;
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(t_));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(t_)));
  const double step_size = lr / bc1;
  const double decay = 1.0 - lr * config_.weight_decay;
  for (size_t k = 0; k < params.size(); ++k) {
    std::span<float> w = params[k];
    std::span<const float> g = grads[k];
    SOCLE_CHECK(g.size() == w.size() && m_[k].size() == w.size(), "gradient shaped as its tensor");
    float* m = m_[k].data();
    float* v = v_[k].data();
    for (size_t i = 0; i < w.size(); ++i) {
      double gi = g[i];
      double mi = b1 * m[i] + (1.0 - b1) * gi;
      double vi = b2 * v[i] + (1.0 - b2) * gi * gi;
      m[i] = static_cast<float>(mi);
      v[i] = static_cast<float>(vi);
      double wi = static_cast<double>(w[i]) * decay;
      wi -= step_size * mi / (std::sqrt(vi) / bc2_sqrt + config_.eps);
      w[i] = static_cast<float>(wi);
    }
  }
}

Status AdamW::restore(int64_t steps_taken, std::vector<std::vector<float>> m,
                      std::vector<std::vector<float>> v) {
  if (m.size() != v.size()) return invalid_argument("optimiser moments disagree in count");
  for (size_t k = 0; k < m.size(); ++k) {
    if (m[k].size() != v[k].size()) {
      return invalid_argument("optimiser moments disagree in size for tensor " + std::to_string(k));
    }
  }
  if (steps_taken < 0) return invalid_argument("negative optimiser step count");
  t_ = steps_taken;
  m_ = std::move(m);
  v_ = std::move(v);
  return Status::ok();
}

}  // namespace socle::train
