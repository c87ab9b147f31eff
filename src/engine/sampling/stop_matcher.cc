#include "engine/sampling/stop_matcher.h"

#include <algorithm>

namespace socle::engine::sampling {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

StopMatcher::Step StopMatcher::push(std::string_view text) {
  Step step;
  if (stopped_) return step;
  held_.append(text);
  // The earliest stop string in what is held: earlier text was released only when no stop
  // string could start in it.
  size_t first = std::string::npos;
  for (const auto& s : stops_)
    first = std::min(first, held_.find(s));
  if (first != std::string::npos) {
    stopped_ = true;
    step.stopped = true;
    step.text = held_.substr(0, first);
    held_.clear();
    return step;
  }
  // Hold back the longest end of the text that begins a stop string; release the rest. A
  // stop string starts with a whole character, so the cut falls between characters.
  size_t keep = 0;
  for (const auto& s : stops_) {
    for (size_t n = std::min(s.size() - 1, held_.size()); n > keep; --n) {
      if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
    }
  }
  step.text = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return step;
}

std::string StopMatcher::finish() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace socle::engine::sampling
