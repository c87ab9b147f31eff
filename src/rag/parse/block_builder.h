// The whitespace rules of Block::text, and the heading stack that fills Block::heading_path:
// every parser emits its blocks through a BlockBuilder.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rag/parse/document.h"

namespace socle::rag {

// Block text: invalid UTF-8 becomes U+FFFD; runs of ASCII whitespace, control characters
// (C0, DEL, C1) become one space; soft hyphens and stray BOMs (invisible, but they would split
// words for search) are removed; the result is trimmed.
std::string normalize_space(std::string_view text);
// As normalize_space line by line, dropping empty lines and joining the others with "\n".
std::string normalize_lines(std::string_view text);
// Code keeps its layout: "\r\n" and "\r" become "\n", control characters other than tab and
// newline are removed, trailing spaces of each line and leading and trailing empty lines go.
std::string normalize_code(std::string_view text);

// The most bytes of a label repeated on many blocks or lines (a heading in each block's
// heading path, a CSV column name or a JSON key path on each row): a longer one is cut,
// at a character boundary, with "…", so that a small upload cannot grow into gigabytes of
// chunks (a 20 KB heading over 10,000 sections did).
inline constexpr size_t MAX_LABEL_BYTES = 200;
// `text` cut to `max` bytes (at least 4) as above; `text` is valid UTF-8.
std::string label(std::string text, size_t max = MAX_LABEL_BYTES);

class BlockBuilder {
 public:
  // Adds a heading; `level` is clamped to 1..6. It closes the open headings of its level and
  // deeper, and opens itself. A heading with no text adds nothing and changes nothing.
  void add_heading(int level, std::string_view text, int page = 0);
  // Adds a block of `kind` (any but HEADING) under the open headings, its text normalised by
  // normalize_code for CODE and normalize_space otherwise. Empty text adds nothing.
  void add(BlockKind kind, std::string_view text, int page = 0);
  // Adds a PARAGRAPH whose text keeps its line breaks (normalize_lines).
  void add_lines(std::string_view text, int page = 0);

  std::vector<Block> take() { return std::move(blocks_); }

 private:
  struct OpenHeading {
    int level = 0;
    std::string text;
  };

  void push(BlockKind kind, std::string text, int page, int level);
  std::vector<std::string> path() const;

  std::vector<OpenHeading> open_;  // outermost first, levels strictly increasing
  std::vector<Block> blocks_;
};

}  // namespace socle::rag
