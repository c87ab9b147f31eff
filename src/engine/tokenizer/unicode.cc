#include "engine/tokenizer/unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "base/check.h"

namespace socle::engine::tokenizer {

namespace {

constexpr char32_t REPLACEMENT_CHARACTER = 0xFFFD;
constexpr char32_t MAX_CODE_POINT = 0x10FFFF;

// Length (1..4) of the well-formed sequence at s[pos], or 0 when it is ill-formed; then
// `*truncated` says whether it was well-formed up to the end of `s`. Follows the table of
// well-formed byte sequences in the Unicode standard (Table 3-7).
size_t valid_sequence_length(std::string_view s, size_t pos, bool* truncated) {
  *truncated = false;
  auto b0 = static_cast<unsigned char>(s[pos]);
  if (b0 < 0x80) return 1;
  size_t need = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;  // a byte that never starts a sequence
  }
  for (size_t i = 1; i < need; ++i) {
    if (pos + i >= s.size()) {
      *truncated = true;
      return 0;
    }
    auto b = static_cast<unsigned char>(s[pos + i]);
    unsigned char l = i == 1 ? lo : 0x80;
    unsigned char h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) return 0;
  }
  return need;
}

// Number of bytes an ill-formed sequence at s[pos] spans: its maximal subpart, at least one.
size_t maximal_subpart(std::string_view s, size_t pos) {
  auto b0 = static_cast<unsigned char>(s[pos]);
  size_t need = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  size_t i = 1;
  for (; i < need && pos + i < s.size(); ++i) {
    auto b = static_cast<unsigned char>(s[pos + i]);
    unsigned char l = i == 1 ? lo : 0x80;
    unsigned char h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) break;
  }
  return i;
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }  // NOLINT(cppcoreguidelines-no-malloc)
};

utf8proc_category_t category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

}  // namespace

bool utf8_valid(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    bool truncated = false;
    size_t n = valid_sequence_length(s, pos, &truncated);
    if (n == 0) return false;
    pos += n;
  }
  return true;
}

size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

char32_t utf8_next(std::string_view s, size_t* pos) {
  auto b0 = static_cast<unsigned char>(s[*pos]);
  size_t n = utf8_sequence_length(b0);
  SOCLE_CHECK(*pos + n <= s.size(), "utf8_next is only called on valid UTF-8");
  char32_t cp = 0;
  if (n == 1) {
    cp = b0;
  } else if (n == 2) {
    cp = b0 & 0x1F;
  } else if (n == 3) {
    cp = b0 & 0x0F;
  } else {
    cp = b0 & 0x07;
  }
  for (size_t i = 1; i < n; ++i)
    cp = (cp << 6) | (static_cast<unsigned char>(s[*pos + i]) & 0x3F);
  *pos += n;
  return cp;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    SOCLE_CHECK(cp <= MAX_CODE_POINT, "code points end at U+10FFFF");
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string utf8_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    bool truncated = false;
    size_t n = valid_sequence_length(s, pos, &truncated);
    if (n > 0) {
      out.append(s.substr(pos, n));
      pos += n;
    } else {
      utf8_append(out, REPLACEMENT_CHARACTER);
      pos += maximal_subpart(s, pos);
    }
  }
  return out;
}

size_t utf8_complete_prefix(std::string_view s) {
  // Only the last three bytes can belong to a sequence that more bytes would complete.
  constexpr size_t MAX_PENDING = 3;
  size_t start = s.size() > MAX_PENDING ? s.size() - MAX_PENDING : 0;
  for (size_t pos = start; pos < s.size(); ++pos) {
    auto b = static_cast<unsigned char>(s[pos]);
    if ((b & 0xC0) == 0x80) continue;  // a continuation byte
    bool truncated = false;
    size_t n = valid_sequence_length(s, pos, &truncated);
    if (n == 0 && truncated) return pos;
  }
  return s.size();
}

std::vector<char32_t> utf8_decode(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size())
    out.push_back(utf8_next(s, &pos));
  return out;
}

std::string unicode_normalize(std::string_view s, NormalForm form) {
  if (s.empty()) return {};
  // Every code point below U+0300 (the first combining mark) is NFC_Quick_Check=Yes, and no
  // character that could combine with it follows when there is no other: such text is its
  // own NFC. In UTF-8 those are the bytes below 0xCC (U+0300 is CC 80). Most prose, French
  // included, takes this path and skips utf8proc's decomposition and recomposition.
  constexpr unsigned char FIRST_COMBINING_LEAD_BYTE = 0xCC;
  if (form == NormalForm::NFC && std::all_of(s.begin(), s.end(), [](char c) {
        return static_cast<unsigned char>(c) < FIRST_COMBINING_LEAD_BYTE;
      })) {
    return std::string(s);
  }
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::NFC:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalForm::NFD:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalForm::NFKC:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalForm::NFKD:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                    static_cast<utf8proc_ssize_t>(s.size()), &out,
                                    static_cast<utf8proc_option_t>(options));
  std::unique_ptr<utf8proc_uint8_t, FreeDeleter> owned(out);
  SOCLE_CHECK(n >= 0, "utf8proc_map succeeds on valid UTF-8");
  return {reinterpret_cast<const char*>(out), static_cast<size_t>(n)};
}

std::string unicode_lowercase(std::string_view s) {
  // U+0130 (capital I with dot above) is the one code point whose full lower-case mapping
  // is two code points; utf8proc only knows simple mappings.
  constexpr char32_t CAPITAL_I_WITH_DOT = 0x130;
  constexpr char32_t COMBINING_DOT_ABOVE = 0x307;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    char32_t cp = utf8_next(s, &pos);
    if (cp == CAPITAL_I_WITH_DOT) {
      out += 'i';
      utf8_append(out, COMBINING_DOT_ABOVE);
      continue;
    }
    utf8_append(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
  }
  return out;
}

bool is_mark_nonspacing(char32_t cp) {
  return category(cp) == UTF8PROC_CATEGORY_MN;
}

bool is_mark(char32_t cp) {
  auto c = category(cp);
  return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}

bool is_control_or_format(char32_t cp) {
  auto c = category(cp);
  return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CO ||
         c == UTF8PROC_CATEGORY_CS;
}

bool is_punctuation(char32_t cp) {
  auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool is_letter_or_number(char32_t cp) {
  auto c = category(cp);
  return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
         (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

bool is_unicode_whitespace(char32_t cp) {
  // The White_Space property (PropList.txt), which utf8proc does not expose.
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

std::vector<std::pair<size_t, size_t>> graphemes(std::string_view s) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t pos = 0;
  size_t begin = 0;
  utf8proc_int32_t state = 0;
  char32_t prev = 0;
  bool first = true;
  while (pos < s.size()) {
    size_t at = pos;
    char32_t cp = utf8_next(s, &pos);
    if (!first && utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(prev),
                                                   static_cast<utf8proc_int32_t>(cp), &state)) {
      out.emplace_back(begin, at);
      begin = at;
    }
    first = false;
    prev = cp;
  }
  if (begin < s.size()) out.emplace_back(begin, s.size());
  return out;
}

}  // namespace socle::engine::tokenizer
