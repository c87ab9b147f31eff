#include "engine/tokenizer/split_behavior.h"

#include <algorithm>

namespace socle::engine::tokenizer {

Result<SplitBehavior> split_behavior_from_name(std::string_view name) {
  if (name == "Removed") return SplitBehavior::REMOVED;
  if (name == "Isolated") return SplitBehavior::ISOLATED;
  if (name == "MergedWithPrevious") return SplitBehavior::MERGED_WITH_PREVIOUS;
  if (name == "MergedWithNext") return SplitBehavior::MERGED_WITH_NEXT;
  if (name == "Contiguous") return SplitBehavior::CONTIGUOUS;
  return invalid_argument("tokenizer pre_tokenizer: split behavior '" + std::string(name) +
                          "' is not supported");
}

std::vector<Span> spans_from_matches(std::string_view text,
                                     const std::vector<std::pair<size_t, size_t>>& matches,
                                     bool invert) {
  std::vector<Span> spans;
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (b == e) continue;
    if (prev < b) spans.push_back({prev, b, invert});
    spans.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < text.size()) spans.push_back({prev, text.size(), invert});
  return spans;
}

void split_spans(std::string_view text, const std::vector<Span>& spans, SplitBehavior behavior,
                 std::vector<std::string>& out) {
  // Each rule below merges ranges exactly as the Rust fold over (offsets, is_match) does.
  std::vector<std::pair<size_t, size_t>> kept;
  switch (behavior) {
    case SplitBehavior::REMOVED:
      for (const auto& s : spans) {
        if (!s.delimiter) kept.emplace_back(s.begin, s.end);
      }
      break;
    case SplitBehavior::ISOLATED:
      for (const auto& s : spans)
        kept.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::MERGED_WITH_PREVIOUS: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.delimiter && !previous_match && !kept.empty()) {
          kept.back().second = s.end;
        } else {
          kept.emplace_back(s.begin, s.end);
        }
        previous_match = s.delimiter;
      }
      break;
    }
    case SplitBehavior::MERGED_WITH_NEXT: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->delimiter && !previous_match && !kept.empty()) {
          kept.back().first = it->begin;
        } else {
          kept.emplace_back(it->begin, it->end);
        }
        previous_match = it->delimiter;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
    case SplitBehavior::CONTIGUOUS: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.delimiter == previous_match && !kept.empty()) {
          kept.back().second = s.end;
        } else {
          kept.emplace_back(s.begin, s.end);
        }
        previous_match = s.delimiter;
      }
      break;
    }
  }
  for (auto [b, e] : kept) {
    if (e > b) out.emplace_back(text.substr(b, e - b));
  }
}

}  // namespace socle::engine::tokenizer
