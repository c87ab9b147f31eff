#include "rag/parse/block_builder.h"

#include <algorithm>

#include "base/check.h"
#include "engine/tokenizer/unicode.h"

namespace socle::rag {
namespace {

namespace tok = engine::tokenizer;

constexpr int MAX_HEADING_LEVEL = 6;  // HTML's h1..h6; deeper outline levels share the last

bool is_ascii_space_or_control(unsigned char c) {
  return c < 0x20 || c == 0x20 || c == 0x7F;
}

// UTF-8 of U+00AD SOFT HYPHEN and U+FEFF ZERO WIDTH NO-BREAK SPACE (a BOM).
constexpr std::string_view SOFT_HYPHEN = "\xC2\xAD";
constexpr std::string_view BOM = "\xEF\xBB\xBF";

// C1 control characters U+0080..U+009F are C2 80..C2 9F in UTF-8.
bool is_c1_control(std::string_view s, size_t i) {
  return i + 1 < s.size() && static_cast<unsigned char>(s[i]) == 0xC2 &&
         static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
         static_cast<unsigned char>(s[i + 1]) < 0xA0;
}

std::string valid_utf8(std::string_view text) {
  return tok::utf8_valid(text) ? std::string(text) : tok::utf8_sanitize(text);
}

}  // namespace

std::string normalize_space(std::string_view raw) {
  std::string text = valid_utf8(raw);
  std::string_view s = text;
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (is_ascii_space_or_control(c) || is_c1_control(s, i)) {
      pending_space = true;
      i += c < 0x80 ? 1 : 2;
      continue;
    }
    if (s.substr(i).starts_with(SOFT_HYPHEN)) {
      i += SOFT_HYPHEN.size();
      continue;
    }
    if (s.substr(i).starts_with(BOM)) {
      i += BOM.size();
      continue;
    }
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += s[i];
    ++i;
  }
  return out;
}

std::string normalize_lines(std::string_view text) {
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string line = normalize_space(text.substr(start, end - start));
    if (!line.empty()) {
      if (!out.empty()) out += '\n';
      out += line;
    }
    start = end + 1;
  }
  return out;
}

std::string normalize_code(std::string_view raw) {
  std::string text = valid_utf8(raw);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
      continue;
    }
    if (c == '\n' || c == '\t' || !is_ascii_space_or_control(static_cast<unsigned char>(c))) {
      if (c == '\n') {
        while (!out.empty() && (out.back() == ' ' || out.back() == '\t'))
          out.pop_back();
      }
      out += c;
    } else if (c == ' ') {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t' || out.back() == '\n'))
    out.pop_back();
  // Leading empty lines go, but the indentation of the first line with text stays.
  size_t first_text = out.find_first_not_of(" \t\n");
  if (first_text == std::string::npos) return {};
  size_t line_start = out.rfind('\n', first_text);
  out.erase(0, line_start == std::string::npos ? 0 : line_start + 1);
  return out;
}

std::string label(std::string text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = max - 3;  // room for "…" (3 bytes)
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;  // not inside a character
  text.resize(cut);
  text += "\xE2\x80\xA6";
  return text;
}

void BlockBuilder::add_heading(int level, std::string_view text, int page) {
  std::string normalized = normalize_space(text);
  if (normalized.empty()) return;
  level = std::clamp(level, 1, MAX_HEADING_LEVEL);
  while (!open_.empty() && open_.back().level >= level)
    open_.pop_back();
  push(BlockKind::HEADING, normalized, page, level);
  // The heading's block keeps its whole text; the path that every block under it carries
  // keeps a label.
  open_.push_back({level, label(std::move(normalized))});
}

void BlockBuilder::add(BlockKind kind, std::string_view text, int page) {
  SOCLE_CHECK(kind != BlockKind::HEADING, "headings go through add_heading");
  push(kind, kind == BlockKind::CODE ? normalize_code(text) : normalize_space(text), page, 0);
}

void BlockBuilder::add_lines(std::string_view text, int page) {
  push(BlockKind::PARAGRAPH, normalize_lines(text), page, 0);
}

void BlockBuilder::push(BlockKind kind, std::string text, int page, int level) {
  if (text.empty()) return;
  Block b;
  b.kind = kind;
  b.text = std::move(text);
  b.page = page;
  b.level = level;
  b.heading_path = path();
  blocks_.push_back(std::move(b));
}

std::vector<std::string> BlockBuilder::path() const {
  std::vector<std::string> out;
  out.reserve(open_.size());
  for (const auto& h : open_)
    out.push_back(h.text);
  return out;
}

}  // namespace socle::rag
