// Markdown, line by line after CommonMark's block rules for the constructs that carry
// structure (headings, lists, fenced code, tables); inline markup is reduced to its text.
#include <algorithm>
#include <string>
#include <vector>

#include "rag/parse/block_builder.h"
#include "rag/parse/formats.h"
#include "rag/parse/text_decode.h"

namespace socle::rag {
namespace {

// CommonMark: up to three spaces of indentation still start a block; four make code.
constexpr size_t MAX_BLOCK_INDENT = 3;
constexpr size_t MAX_ATX_LEVEL = 6;
constexpr size_t MIN_FENCE = 3;
// A link's label and destination are short: a closing bracket further away is not looked for.
constexpr size_t MAX_LINK_SPAN = 2000;
// Looking for closing brackets may scan this many bytes per byte of a paragraph, after which
// the rest of its brackets are text: a paragraph of unmatched brackets stays linear.
constexpr size_t SCAN_BUDGET_PER_BYTE = 16;

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t") == std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

size_t leading_spaces(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && s[n] == ' ')
    ++n;
  return n;
}

size_t run_length(std::string_view s, size_t from, char c) {
  size_t n = 0;
  while (from + n < s.size() && s[from + n] == c)
    ++n;
  return n;
}

bool atx_heading(std::string_view line, int* level, std::string_view* text) {
  size_t indent = leading_spaces(line);
  if (indent > MAX_BLOCK_INDENT) return false;
  size_t hashes = run_length(line, indent, '#');
  if (hashes == 0 || hashes > MAX_ATX_LEVEL) return false;
  size_t after = indent + hashes;
  if (after < line.size() && line[after] != ' ' && line[after] != '\t') return false;
  std::string_view content = trim(line.substr(after));
  // An optional closing run of #, preceded by a space (or making up the whole content).
  size_t last = content.find_last_not_of('#');
  if (last == std::string_view::npos) {
    content = {};
  } else if (last + 1 < content.size() && (content[last] == ' ' || content[last] == '\t')) {
    content = trim(content.substr(0, last));
  }
  *level = static_cast<int>(hashes);
  *text = content;
  return true;
}

bool fence_open(std::string_view line, char* fence_char, size_t* fence_len) {
  size_t indent = leading_spaces(line);
  if (indent > MAX_BLOCK_INDENT || indent >= line.size()) return false;
  char c = line[indent];
  if (c != '`' && c != '~') return false;
  size_t n = run_length(line, indent, c);
  if (n < MIN_FENCE) return false;
  // A backtick fence's info string may not hold backticks (it would be inline code).
  if (c == '`' && line.find('`', indent + n) != std::string_view::npos) return false;
  *fence_char = c;
  *fence_len = n;
  return true;
}

bool fence_close(std::string_view line, char fence_char, size_t fence_len) {
  size_t indent = leading_spaces(line);
  if (indent > MAX_BLOCK_INDENT) return false;
  size_t n = run_length(line, indent, fence_char);
  return n >= fence_len && is_blank(line.substr(indent + n));
}

bool thematic_break(std::string_view line) {
  if (leading_spaces(line) > MAX_BLOCK_INDENT) return false;
  std::string_view t = trim(line);
  if (t.empty() || (t[0] != '-' && t[0] != '*' && t[0] != '_')) return false;
  size_t marks = 0;
  for (char c : t) {
    if (c == t[0]) {
      ++marks;
    } else if (c != ' ' && c != '\t') {
      return false;
    }
  }
  return marks >= 3;
}

// "===" under a paragraph makes it a level-1 heading, "---" a level-2 one.
int setext_level(std::string_view line) {
  if (leading_spaces(line) > MAX_BLOCK_INDENT) return 0;
  std::string_view t = trim(line);
  if (t.empty() || (t[0] != '=' && t[0] != '-')) return 0;
  if (t.find_first_not_of(t[0]) != std::string_view::npos) return 0;
  return t[0] == '=' ? 1 : 2;
}

// "- item", "* item", "+ item", "1. item", "1) item", at any indentation (nested lists).
bool list_item(std::string_view line, std::string_view* content) {
  std::string_view t = trim(line);
  size_t marker = 0;
  if (!t.empty() && (t[0] == '-' || t[0] == '*' || t[0] == '+')) {
    marker = 1;
  } else {
    size_t digits = 0;
    while (digits < t.size() && digits < 9 && t[digits] >= '0' && t[digits] <= '9')
      ++digits;
    if (digits == 0 || digits >= t.size() || (t[digits] != '.' && t[digits] != ')')) return false;
    marker = digits + 1;
  }
  if (marker < t.size() && t[marker] != ' ' && t[marker] != '\t') return false;
  *content = trim(t.substr(marker));
  return true;
}

// "[label]: destination" lines define link targets; they are not text.
bool link_definition(std::string_view line) {
  if (leading_spaces(line) > MAX_BLOCK_INDENT) return false;
  std::string_view t = trim(line);
  if (t.size() < 4 || t[0] != '[') return false;
  size_t close = t.find("]:");
  return close != std::string_view::npos && close > 1 && !trim(t.substr(close + 2)).empty();
}

// Splits a table row on the pipes that are not escaped, without the outer pipes.
std::vector<std::string_view> table_cells(std::string_view line) {
  std::string_view t = trim(line);
  if (!t.empty() && t.front() == '|') t.remove_prefix(1);
  if (!t.empty() && t.back() == '|' && (t.size() < 2 || t[t.size() - 2] != '\\')) {
    t.remove_suffix(1);
  }
  std::vector<std::string_view> cells;
  size_t start = 0;
  for (size_t i = 0; i <= t.size(); ++i) {
    if (i == t.size() || (t[i] == '|' && (i == 0 || t[i - 1] != '\\'))) {
      cells.push_back(trim(t.substr(start, i - start)));
      start = i + 1;
    }
  }
  return cells;
}

// "| --- | :---: |": the line under a table's header row.
bool table_delimiter(std::string_view line) {
  if (line.find('-') == std::string_view::npos) return false;
  for (std::string_view cell : table_cells(line)) {
    if (cell.starts_with(':')) cell.remove_prefix(1);
    if (cell.ends_with(':')) cell.remove_suffix(1);
    if (cell.empty() || cell.find_first_not_of('-') != std::string_view::npos) return false;
  }
  return true;
}

bool is_ascii_punctuation(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

// Where the bracket or parenthesis opened at `open` closes (nesting counted), or npos when it
// does not within MAX_LINK_SPAN bytes or `*budget` (bytes left to scan, spent here) runs out.
size_t matching(std::string_view s, size_t open, char open_c, char close_c, size_t* budget) {
  int depth = 0;
  size_t end = std::min({s.size(), open + MAX_LINK_SPAN, open + *budget});
  *budget -= end - open;
  for (size_t i = open; i < end; ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == open_c) {
      ++depth;
    } else if (s[i] == close_c && --depth == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

// The text of inline Markdown: links and images keep their label, autolinks their address;
// strong, strikethrough and code-span markers go; backslash escapes are resolved. Single * and
// _ stay, since they are as often part of the text (snake_case, 2*3) as emphasis.
std::string inline_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  // Where a link's "](destination)" starts and where it ends: skipped when reached. Links
  // nest inside labels only, so the innermost is always reached first.
  std::vector<std::pair<size_t, size_t>> skips;
  size_t budget = SCAN_BUDGET_PER_BYTE * s.size();
  for (size_t i = 0; i < s.size();) {
    // An autolink or escape that jumped over a label's end leaves its skip behind.
    while (!skips.empty() && i > skips.back().first)
      skips.pop_back();
    if (!skips.empty() && i == skips.back().first) {
      i = skips.back().second + 1;
      skips.pop_back();
      continue;
    }
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && is_ascii_punctuation(s[i + 1])) {
      out += s[i + 1];
      i += 2;
      continue;
    }
    if (c == '`') {
      ++i;
      continue;
    }
    if ((c == '*' || c == '~') && i + 1 < s.size() && s[i + 1] == c) {
      i += 2;
      continue;
    }
    if (c == '!' && i + 1 < s.size() && s[i + 1] == '[') {
      ++i;
      continue;
    }
    if (c == '[') {
      size_t close = matching(s, i, '[', ']', &budget);
      if (close != std::string_view::npos && close + 1 < s.size() &&
          (s[close + 1] == '(' || s[close + 1] == '[')) {
        size_t end = s[close + 1] == '(' ? matching(s, close + 1, '(', ')', &budget)
                                         : matching(s, close + 1, '[', ']', &budget);
        if (end != std::string_view::npos && (skips.empty() || end < skips.back().first)) {
          skips.emplace_back(close, end);
          ++i;
          continue;
        }
      }
    }
    if (c == '<') {
      // An autolink holds no space or '<': the scan stops at the first, which keeps it linear.
      size_t close = s.find_first_of(" \t<>", i + 1);
      if (close != std::string_view::npos && s[close] == '>') {
        std::string_view inside = s.substr(i + 1, close - i - 1);
        if (inside.find("://") != std::string_view::npos ||
            inside.find('@') != std::string_view::npos) {
          out += inside;
          i = close + 1;
          continue;
        }
      }
    }
    out += c;
    ++i;
  }
  return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

// The line after YAML front matter ("---" on the first line, up to "---" or "..."), or 0.
size_t skip_front_matter(const std::vector<std::string_view>& lines) {
  if (lines.empty() || trim(lines[0]) != "---") return 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (trim(lines[i]) == "---" || trim(lines[i]) == "...") return i + 1;
  }
  return 0;
}

std::string table_row(std::string_view line) {
  std::string out;
  bool first = true;
  for (std::string_view cell : table_cells(line)) {
    if (!first) out += " | ";
    out += normalize_space(inline_text(cell));
    first = false;
  }
  return out;
}

}  // namespace

Result<ParsedDocument> parse_markdown(std::string_view bytes) {
  SOCLE_ASSIGN_OR_RETURN(std::string text, decode_text(bytes, "the Markdown file"));
  std::vector<std::string_view> lines = split_lines(text);
  BlockBuilder builder;
  std::string paragraph;  // the lines of the paragraph or list item being read
  BlockKind kind = BlockKind::PARAGRAPH;
  auto flush = [&] {
    builder.add(kind, inline_text(paragraph));
    paragraph.clear();
    kind = BlockKind::PARAGRAPH;
  };
  for (size_t i = skip_front_matter(lines); i < lines.size();) {
    std::string_view line = lines[i];
    int level = 0;
    std::string_view content;
    char fence_char = 0;
    size_t fence_len = 0;
    if (fence_open(line, &fence_char, &fence_len)) {
      flush();
      std::string code;
      size_t j = i + 1;
      for (; j < lines.size() && !fence_close(lines[j], fence_char, fence_len); ++j) {
        code += lines[j];
        code += '\n';
      }
      builder.add(BlockKind::CODE, code);
      i = j + 1;  // an unclosed fence runs to the end of the document
    } else if (is_blank(line)) {
      flush();
      ++i;
    } else if (atx_heading(line, &level, &content)) {
      flush();
      builder.add_heading(level, inline_text(content));
      ++i;
    } else if (!paragraph.empty() && kind == BlockKind::PARAGRAPH &&
               (level = setext_level(line)) > 0) {
      builder.add_heading(level, inline_text(paragraph));
      paragraph.clear();
      ++i;
    } else if (thematic_break(line)) {
      flush();
      ++i;
    } else if (i + 1 < lines.size() && line.find('|') != std::string_view::npos &&
               table_delimiter(lines[i + 1])) {
      flush();
      builder.add(BlockKind::TABLE_ROW, table_row(line));
      for (i += 2;
           i < lines.size() && !is_blank(lines[i]) && lines[i].find('|') != std::string_view::npos;
           ++i) {
        builder.add(BlockKind::TABLE_ROW, table_row(lines[i]));
      }
    } else if (list_item(line, &content)) {
      flush();
      kind = BlockKind::LIST_ITEM;
      paragraph = content;
      ++i;
    } else if (link_definition(line)) {
      ++i;
    } else {
      // Block quotes are read as the text they quote.
      std::string_view t = trim(line);
      while (t.starts_with('>'))
        t = trim(t.substr(1));
      if (!paragraph.empty()) paragraph += ' ';
      paragraph += t;
      ++i;
    }
  }
  flush();
  ParsedDocument out;
  out.blocks = builder.take();
  return out;
}

}  // namespace socle::rag
