#include "rag/chunk/split.h"

#include <algorithm>
#include <array>

namespace socle::rag {
namespace {

enum class Level { LINE, SENTENCE, SPACE, WORD };

Level finer(Level level) {
  return static_cast<Level>(static_cast<int>(level) + 1);
}

bool ends_with(std::string_view text, size_t pos, std::string_view suffix) {
  return pos >= suffix.size() && text.substr(pos - suffix.size(), suffix.size()) == suffix;
}

// Closing quotes and brackets, and the no-break spaces French puts before » and after «.
constexpr std::array<std::string_view, 9> CLOSERS = {")",
                                                     "]",
                                                     "\"",
                                                     "'",
                                                     "\xC2\xBB" /* » */,
                                                     "\xE2\x80\x9D" /* ” */,
                                                     "\xE2\x80\x99" /* ’ */,
                                                     "\xC2\xA0" /* U+00A0 */,
                                                     "\xE2\x80\xAF" /* U+202F */};
constexpr std::array<std::string_view, 4> SENTENCE_ENDS = {".", "!", "?", "\xE2\x80\xA6" /* … */};
// `." »` is three closers deep; more is not a sentence end worth finding.
constexpr int MAX_CLOSERS = 4;

// Whether the text before `pos` ends a sentence: a . ! ? or … possibly followed by closers.
bool ends_sentence(std::string_view text, size_t begin, size_t pos) {
  for (int closers = 0; closers <= MAX_CLOSERS && pos > begin; ++closers) {
    for (std::string_view end : SENTENCE_ENDS) {
      if (ends_with(text, pos, end)) return true;
    }
    bool stripped = false;
    for (std::string_view closer : CLOSERS) {
      if (ends_with(text, pos, closer) && pos - closer.size() >= begin) {
        pos -= closer.size();
        stripped = true;
        break;
      }
    }
    if (!stripped) return false;
  }
  return false;
}

// The segments of `r` between the whitespace runs that separate at `level`. A run at the very
// start is part of the first segment (a code line's indentation). After a line break the next
// segment starts right after the last newline, so that code keeps its indentation.
std::vector<TextRange> segments(std::string_view text, TextRange r, Level level) {
  std::vector<TextRange> out;
  size_t seg_begin = r.begin;
  size_t i = r.begin;
  while (i < r.end && is_space_byte(text[i]))
    ++i;
  while (i < r.end) {
    if (!is_space_byte(text[i])) {
      ++i;
      continue;
    }
    size_t run_begin = i;
    size_t last_newline = std::string_view::npos;
    while (i < r.end && is_space_byte(text[i])) {
      if (text[i] == '\n') last_newline = i;
      ++i;
    }
    bool cut = false;
    switch (level) {
      case Level::LINE:
        cut = last_newline != std::string_view::npos;
        break;
      case Level::SENTENCE:
        cut = ends_sentence(text, seg_begin, run_begin);
        break;
      case Level::SPACE:
      case Level::WORD:
        cut = true;
        break;
    }
    if (!cut || i == r.end) continue;
    out.push_back({seg_begin, run_begin});
    seg_begin = level == Level::LINE ? last_newline + 1 : i;
  }
  out.push_back({seg_begin, r.end});
  return out;
}

class Splitter {
 public:
  Splitter(std::string_view text, int64_t budget, const Measure& measure)
      : text_(text), budget_(budget), measure_(measure) {}

  void split(TextRange r, Level level, std::vector<TextRange>& out) const {
    if (level == Level::WORD || fits(r.begin, r.end)) {
      out.push_back(r);
      return;
    }
    std::vector<TextRange> segs = segments(text_, r, level);
    if (segs.size() <= 1) {
      split(r, finer(level), out);
      return;
    }
    for (size_t i = 0; i < segs.size();) {
      if (!fits(segs[i].begin, segs[i].end)) {
        split(segs[i], finer(level), out);
        ++i;
        continue;
      }
      size_t n = largest_fitting(
          1, segs.size() - i, [&](size_t k) { return fits(segs[i].begin, segs[i + k - 1].end); });
      out.push_back({segs[i].begin, segs[i + n - 1].end});
      i += n;
    }
  }

 private:
  bool fits(size_t begin, size_t end) const {
    return measure_(text_.substr(begin, end - begin)) <= budget_;
  }

  std::string_view text_;
  int64_t budget_;
  const Measure& measure_;
};

}  // namespace

size_t largest_fitting(size_t lo, size_t hi, const std::function<bool(size_t)>& fits) {
  size_t good = lo;
  size_t step = 1;
  while (good < hi) {
    size_t probe = good + std::min(step, hi - good);
    if (!fits(probe)) {
      hi = probe - 1;
      break;
    }
    good = probe;
    step *= 2;
  }
  while (good < hi) {
    size_t mid = good + (hi - good + 1) / 2;
    if (fits(mid)) {
      good = mid;
    } else {
      hi = mid - 1;
    }
  }
  return good;
}

bool is_space_byte(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::vector<TextRange> split_text(std::string_view text, int64_t budget, const Measure& measure) {
  std::vector<TextRange> out;
  Splitter(text, budget, measure).split({0, text.size()}, Level::LINE, out);
  return out;
}

}  // namespace socle::rag
