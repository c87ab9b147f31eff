// How a split keeps its delimiters: the SplitDelimiterBehavior of Hugging Face tokenizers.
// Shared by the pre-tokenizers that cut text.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace socle::engine::tokenizer {

enum class SplitBehavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS };

// Parses "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext" or "Contiguous".
Result<SplitBehavior> split_behavior_from_name(std::string_view name);

// A byte range of a text and whether it is a delimiter (a match of the split pattern).
struct Span {
  size_t begin;
  size_t end;
  bool delimiter;
};

// Applies `behavior` to `spans` (which cover `text` in order) and appends the resulting
// non-empty pieces of `text` to `out`.
void split_spans(std::string_view text, const std::vector<Span>& spans, SplitBehavior behavior,
                 std::vector<std::string>& out);

// Spans of `text` where each match in `matches` is a delimiter and the gaps are not; empty
// matches are dropped. With `invert`, matches are the pieces and the gaps the delimiters.
std::vector<Span> spans_from_matches(std::string_view text,
                                     const std::vector<std::pair<size_t, size_t>>& matches,
                                     bool invert);

}  // namespace socle::engine::tokenizer
