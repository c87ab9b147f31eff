// Cutting one block's text into pieces that fit a budget, at the coarsest separators that work:
// line breaks, then sentence ends, then spaces; never inside a word.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "rag/chunk/chunker.h"

namespace socle::rag {

// A byte range [begin, end) of a text.
struct TextRange {
  size_t begin = 0;
  size_t end = 0;
};

// The largest n in [lo, hi] for which fits(n) holds, given that fits(lo) does. Probes lo+1,
// lo+2, lo+4, ... then bisects, so it costs O(log(n - lo)) calls when fits is monotone (true up
// to some n, false after); when it is not, the answer still satisfies fits.
size_t largest_fitting(size_t lo, size_t hi, const std::function<bool(size_t)>& fits);

// True for the bytes of ASCII whitespace (space, tab, newline, CR, FF, VT).
bool is_space_byte(char c);

// Splits `text` (not starting or ending with whitespace, except a code block's indentation)
// into ranges each measuring at most `budget`, except a single word longer than that.
// Consecutive ranges are separated by whitespace only; the ranges cover every word.
std::vector<TextRange> split_text(std::string_view text, int64_t budget, const Measure& measure);

}  // namespace socle::rag
