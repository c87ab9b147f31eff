#include "train/cross_entropy.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"

namespace socle::train {

std::vector<int32_t> next_token_targets(std::span<const int32_t> labels) {
  std::vector<int32_t> targets(labels.size(), IGNORE_LABEL);
  for (size_t t = 0; t + 1 < labels.size(); ++t)
    targets[t] = labels[t + 1];
  return targets;
}

int64_t trained_positions(std::span<const int32_t> targets, std::span<const float> weights) {
  int64_t count = 0;
  for (size_t t = 0; t < targets.size(); ++t) {
    if (targets[t] == IGNORE_LABEL) continue;
    if (!weights.empty() && weights[t] == 0.0f) continue;
    ++count;
  }
  return count;
}

template <typename Scalar>
double cross_entropy(Scalar* dlogits, const Scalar* logits, std::span<const int32_t> targets,
                     std::span<const float> weights, int64_t vocab, double grad_scale) {
  SOCLE_CHECK(weights.empty() || weights.size() == targets.size(),
              "one weight per position or none");
  double total = 0;  // in double whatever Scalar: the loss is a long sum
  for (size_t t = 0; t < targets.size(); ++t) {
    const Scalar* row = logits + static_cast<int64_t>(t) * vocab;
    Scalar* drow = dlogits == nullptr ? nullptr : dlogits + static_cast<int64_t>(t) * vocab;
    int32_t target = targets[t];
    Scalar w = weights.empty() ? Scalar(1) : static_cast<Scalar>(weights[t]);
    if (target == IGNORE_LABEL || w == Scalar(0)) {
      if (drow != nullptr) std::fill(drow, drow + vocab, Scalar(0));
      continue;
    }
    SOCLE_CHECK(target >= 0 && target < vocab, "a target inside the vocabulary");
    Scalar max = *std::max_element(row, row + vocab);
    double sum = 0;
    for (int64_t v = 0; v < vocab; ++v)
      sum += std::exp(static_cast<double>(row[v] - max));
    double lse = static_cast<double>(max) + std::log(sum);
    total += static_cast<double>(w) * (lse - static_cast<double>(row[target]));
    if (drow == nullptr) continue;
    Scalar g = static_cast<Scalar>(grad_scale) * w;
    for (int64_t v = 0; v < vocab; ++v)
      drow[v] = g * static_cast<Scalar>(std::exp(static_cast<double>(row[v]) - lse));
    drow[target] -= g;
  }
  return total;
}

template double cross_entropy<float>(float*, const float*, std::span<const int32_t>,
                                     std::span<const float>, int64_t, double);
template double cross_entropy<double>(double*, const double*, std::span<const int32_t>,
                                      std::span<const float>, int64_t, double);

}  // namespace socle::train
