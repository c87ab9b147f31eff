#include "engine/tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/check.h"
#include "engine/tokenizer/unicode.h"

namespace socle::engine::tokenizer {

namespace {

// Room for PCRE2's error messages, which are short sentences.
constexpr size_t ERROR_MESSAGE_SIZE = 256;

struct CodeDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

std::string escape_literal(std::string_view literal) {
  // PCRE2 reads a backslash before any ASCII non-alphanumeric character as that character.
  std::string out;
  for (char c : literal) {
    auto u = static_cast<unsigned char>(c);
    bool ascii_alnum = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
    if (u < 0x80 && !ascii_alnum) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

struct Regex::Impl {
  std::unique_ptr<pcre2_code, CodeDeleter> code;
};

Regex::Regex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

Result<Regex> Regex::compile(std::string_view pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  // UCP makes \s, \w, \d and [[:classes:]] follow Unicode properties, as the Oniguruma
  // regexes that Hugging Face's tokenizers compile these patterns with do.
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[ERROR_MESSAGE_SIZE];
    pcre2_get_error_message(error_code, message, sizeof(message));
    return invalid_argument("cannot compile the tokenizer regex '" + std::string(pattern) +
                            "' at offset " + std::to_string(error_offset) + ": " +
                            reinterpret_cast<const char*>(message));
  }
  // JIT compilation is an optimisation; the interpreter gives the same matches without it.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  auto impl = std::make_unique<Impl>();
  impl->code.reset(code);
  return Regex(std::move(impl));
}

Result<Regex> Regex::literal(std::string_view literal) {
  return compile(escape_literal(literal));
}

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view subject) const {
  std::vector<std::pair<size_t, size_t>> out;
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(
      pcre2_match_data_create_from_pattern(impl_->code.get(), nullptr));
  SOCLE_CHECK(md != nullptr, "PCRE2 can allocate match data");
  size_t start = 0;
  while (start <= subject.size()) {
    int rc = pcre2_match(impl_->code.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()),
                         subject.size(), start, PCRE2_NO_UTF_CHECK, md.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      // PCRE2's match limit (10 million backtracking steps): the Llama 3 pattern's
      // \s*[\r\n]+ reaches it after some 10 million blanks, which a request body can hold.
      // The run of blanks or of other bytes from here is then one piece: a different split
      // than the pattern's for such input, never a crash.
      auto blank = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
      size_t e = start;
      bool is_blank = start < subject.size() && blank(subject[start]);
      while (e < subject.size() && blank(subject[e]) == is_blank)
        ++e;
      if (e == start) break;
      out.emplace_back(start, e);
      start = e;
      continue;
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    size_t b = ov[0];
    size_t e = ov[1];
    out.emplace_back(b, e);
    if (e > b) {
      start = e;
    } else {
      if (e >= subject.size()) break;
      start = e + utf8_sequence_length(static_cast<unsigned char>(subject[e]));
    }
  }
  return out;
}

std::string Regex::replace_all(std::string_view subject, std::string_view replacement) const {
  std::string out;
  size_t prev = 0;
  for (auto [b, e] : find_all(subject)) {
    out.append(subject.substr(prev, b - prev));
    out.append(replacement);
    prev = e;
  }
  out.append(subject.substr(prev));
  return out;
}

}  // namespace socle::engine::tokenizer
