// Next-token cross-entropy over the positions that are trained, and its gradient.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace socle::train {

// The label that marks a position as not trained (PyTorch's ignore_index).
inline constexpr int32_t IGNORE_LABEL = -100;

// The targets of next-token prediction, as transformers shifts them: row t of the logits
// predicts labels[t + 1]; the last row predicts nothing (IGNORE_LABEL).
std::vector<int32_t> next_token_targets(std::span<const int32_t> labels);

// Sum (in double) over rows t whose target is not IGNORE_LABEL of weight[t] * (logsumexp(logits[t])
// - logits[t][target[t]]), and dlogits[t] = grad_scale * weight[t] * (softmax(logits[t]) -
// onehot(target[t])) (zero on ignored rows). `weights` empty means 1 everywhere. `dlogits`
// may be null (loss only). Targets must be in [0, vocab) or IGNORE_LABEL (checked).
// logits, dlogits: (n, vocab); targets, weights: (n)
template <typename Scalar>
double cross_entropy(Scalar* dlogits, const Scalar* logits, std::span<const int32_t> targets,
                     std::span<const float> weights, int64_t vocab, double grad_scale);

// The number of trained positions: rows whose target is not IGNORE_LABEL and whose weight is
// not zero (the divisor of a step's mean loss).
int64_t trained_positions(std::span<const int32_t> targets, std::span<const float> weights);

}  // namespace socle::train
