#include "engine/sampling/json_constraint.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace socle::engine::sampling {

TokenTexts::TokenTexts(std::vector<std::string> texts) : texts_(std::move(texts)) {
  for (size_t id = 0; id < texts_.size(); ++id) {
    if (!texts_[id].empty()) order_.push_back(static_cast<int32_t>(id));
  }
  std::sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) {
    return texts_[static_cast<size_t>(a)] < texts_[static_cast<size_t>(b)];
  });
  shared_.resize(order_.size());
  for (size_t i = 0; i < order_.size(); ++i) {
    const std::string& text = texts_[static_cast<size_t>(order_[i])];
    longest_ = std::max(longest_, text.size());
    if (i == 0) continue;
    const std::string& before = texts_[static_cast<size_t>(order_[i - 1])];
    auto end = std::mismatch(text.begin(), text.end(), before.begin(), before.end()).first;
    shared_[i] = static_cast<uint32_t>(end - text.begin());
  }
}

TokenTexts::Mask TokenTexts::walk(const JsonRecognizer& state) const {
  Mask m;
  m.allowed.assign(texts_.size(), 0);
  // after[k] is the state after the first k bytes of the last token walked, for k <= have;
  // its byte `have` was refused when have < its length.
  std::vector<JsonRecognizer> after(longest_ + 1, state);
  size_t have = 0;
  for (size_t i = 0; i < order_.size(); ++i) {
    size_t shared = shared_[i];
    // This token starts with the bytes the last one shares, refused byte included.
    if (shared > have) continue;
    int32_t id = order_[i];
    const std::string& text = texts_[static_cast<size_t>(id)];
    have = shared;
    while (have < text.size()) {
      after[have + 1] = after[have];
      if (!after[have + 1].push(static_cast<uint8_t>(text[have]))) break;
      ++have;
    }
    if (have == text.size()) {
      m.allowed[static_cast<size_t>(id)] = 1;
      m.any = true;
    }
  }
  return m;
}

std::shared_ptr<const TokenTexts::Mask> TokenTexts::mask(const JsonRecognizer& state) const {
  {
    std::lock_guard lock(mu_);
    for (Kept& k : kept_) {
      if (k.state == state) {
        k.used = ++uses_;
        return k.mask;
      }
    }
  }
  // Walked outside the lock: two sequences meeting a new state at once both walk it.
  auto m = std::make_shared<const Mask>(walk(state));
  std::lock_guard lock(mu_);
  if (kept_.size() < JSON_MASKS_KEPT) {
    kept_.push_back({state, m, ++uses_});
  } else {
    auto oldest = std::min_element(kept_.begin(), kept_.end(),
                                   [](const Kept& a, const Kept& b) { return a.used < b.used; });
    *oldest = {state, m, ++uses_};
  }
  return m;
}

JsonConstraint::JsonConstraint(std::shared_ptr<const TokenTexts> texts,
                               std::vector<int32_t> end_ids)
    : texts_(std::move(texts)), end_ids_(std::move(end_ids)) {}

void JsonConstraint::allowed(std::span<uint8_t> mask) const {
  std::fill(mask.begin(), mask.end(), 0);
  bool any = false;
  if (!state_.finished()) {
    std::shared_ptr<const TokenTexts::Mask> m = texts_->mask(state_);
    size_t n = std::min(mask.size(), m->allowed.size());
    std::copy_n(m->allowed.begin(), n, mask.begin());
    any = m->any;
  }
  if (!any) {
    for (int32_t id : end_ids_) {
      if (id >= 0 && static_cast<size_t>(id) < mask.size()) mask[static_cast<size_t>(id)] = 1;
    }
  }
}

void JsonConstraint::accept(int32_t token) {
  if (std::find(end_ids_.begin(), end_ids_.end(), token) != end_ids_.end()) return;
  if (token < 0 || static_cast<size_t>(token) >= texts_->size()) return;
  // A token the mask allowed always reads; the state stays as it was otherwise.
  state_.push(texts_->text(token));
}

}  // namespace socle::engine::sampling
