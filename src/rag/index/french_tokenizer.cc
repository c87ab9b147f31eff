#include "rag/index/french_tokenizer.h"

#include <libstemmer.h>
#include <utf8proc.h>

#include "base/check.h"
#include "rag/index/french_stop_words.h"

namespace socle::rag {
namespace {

constexpr char32_t APOSTROPHE = U'\'';
constexpr char32_t RIGHT_SINGLE_QUOTE = U'\u2019';   // ’, the typographic apostrophe
constexpr char32_t MODIFIER_APOSTROPHE = U'\u02BC';  // ʼ, a letter (Lm) by category

// The elided words that end in an apostrophe, lowercase: l'école, qu'il, jusqu'à.
constexpr std::string_view ELISIONS[] = {
    "l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu"};

// Room for the canonical decomposition of one code point (at most 4 in Unicode 15).
constexpr int DECOMPOSITION_MAX = 8;

bool is_apostrophe(char32_t cp) {
  return cp == APOSTROPHE || cp == RIGHT_SINGLE_QUOTE || cp == MODIFIER_APOSTROPHE;
}

bool is_mark(char32_t cp) {
  auto c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}

// Letters (L*), marks (M*) and numbers (N*) make words: utf8proc numbers these categories
// consecutively, LU first and NO last.
bool is_word_char(char32_t cp) {
  auto c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_NO;
}

// The code point at text[*pos], advancing *pos; an invalid byte reads as U+FFFD (not a word
// character) and advances by one.
char32_t next_code_point(std::string_view text, size_t* pos) {
  utf8proc_int32_t cp = 0;
  auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + *pos),
                            static_cast<utf8proc_ssize_t>(text.size() - *pos), &cp);
  if (n <= 0) {
    *pos += 1;
    return U'\uFFFD';
  }
  *pos += static_cast<size_t>(n);
  return static_cast<char32_t>(cp);
}

void append_utf8(std::string& out, char32_t cp) {
  utf8proc_uint8_t buf[4];
  auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

// Where the word [begin, end) starts once its elision is stripped.
size_t skip_elision(std::string_view text, size_t begin, size_t end) {
  for (std::string_view e : ELISIONS) {
    if (end - begin <= e.size()) continue;
    bool match = true;
    // ASCII lowercase: | 0x20 maps A-Z to a-z, and no other byte onto a-z.
    for (size_t i = 0; i < e.size() && match; ++i)
      match = static_cast<char>(text[begin + i] | 0x20) == e[i];
    if (!match) continue;
    size_t after = begin + e.size();
    if (is_apostrophe(next_code_point(text, &after)) && after < end) return after;
  }
  return begin;
}

// Calls emit(begin, end) for each word of step 1.
template <typename Emit>
void split_words(std::string_view text, Emit&& emit) {
  size_t pos = 0;
  size_t word_begin = 0, word_end = 0;
  bool in_word = false;
  bool after_apostrophe = false;  // the word's last character so far was an apostrophe
  while (pos < text.size()) {
    size_t cp_begin = pos;
    char32_t cp = next_code_point(text, &pos);
    if (is_word_char(cp) && !is_apostrophe(cp)) {
      if (!in_word) word_begin = cp_begin;
      in_word = true;
      after_apostrophe = false;
      word_end = pos;
      continue;
    }
    if (in_word && is_apostrophe(cp) && !after_apostrophe) {
      after_apostrophe = true;  // kept only if a word character follows
      continue;
    }
    if (in_word) emit(word_begin, word_end);
    in_word = false;
    after_apostrophe = false;
  }
  if (in_word) emit(word_begin, word_end);
}

}  // namespace

Result<std::unique_ptr<FrenchTokenizer>> FrenchTokenizer::create() {
  sb_stemmer* stemmer = sb_stemmer_new("french", "UTF_8");
  if (stemmer == nullptr) {
    return internal_error("libstemmer has no French stemmer for UTF-8; reinstall libstemmer0d");
  }
  return std::unique_ptr<FrenchTokenizer>(new FrenchTokenizer(stemmer));
}

FrenchTokenizer::~FrenchTokenizer() {
  sb_stemmer_delete(stemmer_);
}

std::string FrenchTokenizer::fold(std::string_view word) {
  std::string out;
  out.reserve(word.size());
  size_t pos = 0;
  while (pos < word.size()) {
    char32_t cp = next_code_point(word, &pos);
    if (is_apostrophe(cp)) {
      out += '\'';
      continue;
    }
    auto lower = utf8proc_tolower(static_cast<utf8proc_int32_t>(cp));
    utf8proc_int32_t parts[DECOMPOSITION_MAX];
    int boundclass = 0;
    auto n =
        utf8proc_decompose_char(lower, parts, DECOMPOSITION_MAX, UTF8PROC_DECOMPOSE, &boundclass);
    if (n < 0 || n > DECOMPOSITION_MAX) {  // not a valid code point, or a longer decomposition
      parts[0] = lower;
      n = 1;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i) {
      auto part = static_cast<char32_t>(parts[i]);
      if (is_mark(part)) continue;
      switch (part) {
        case U'\u0153':  // œ
          out += "oe";
          break;
        case U'\u00E6':  // æ
          out += "ae";
          break;
        case U'\u00DF':  // ß
          out += "ss";
          break;
        default:
          append_utf8(out, part);
      }
    }
  }
  return out;
}

std::vector<FrenchToken> FrenchTokenizer::words(std::string_view text) {
  std::vector<FrenchToken> out;
  split_words(text, [&](size_t begin, size_t end) {
    begin = skip_elision(text, begin, end);
    std::string folded = fold(text.substr(begin, end - begin));
    if (folded.empty() || folded.size() > FRENCH_MAX_WORD_BYTES) return;
    if (french_stop_word(folded)) return;
    out.push_back({std::move(folded), static_cast<int64_t>(begin), static_cast<int64_t>(end)});
  });
  return out;
}

std::vector<FrenchToken> FrenchTokenizer::tokenize(std::string_view text) {
  std::vector<FrenchToken> out = words(text);
  for (FrenchToken& t : out)
    t.text = stem(t.text);
  return out;
}

std::string FrenchTokenizer::stem(std::string_view word) {
  const sb_symbol* s = sb_stemmer_stem(stemmer_, reinterpret_cast<const sb_symbol*>(word.data()),
                                       static_cast<int>(word.size()));
  SOCLE_CHECK(s != nullptr, "libstemmer fails only when out of memory");
  return {reinterpret_cast<const char*>(s), static_cast<size_t>(sb_stemmer_length(stemmer_))};
}

}  // namespace socle::rag
