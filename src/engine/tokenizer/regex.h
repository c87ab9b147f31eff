// A compiled regular expression for tokenizer patterns (Split, Replace, ByteLevel): PCRE2
// in UTF mode with Unicode properties, so that \p{L}, \p{N}, \s and case-insensitive groups
// mean what they mean in the Hugging Face tokenizers that ship these patterns.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace socle::engine::tokenizer {

class Regex {
 public:
  // Compiles `pattern`; a syntax error becomes INVALID_ARGUMENT naming the pattern and offset.
  static Result<Regex> compile(std::string_view pattern);
  // A pattern that matches `literal` exactly.
  static Result<Regex> literal(std::string_view literal);

  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  // Every non-overlapping match in `subject` (valid UTF-8), left to right, as byte ranges
  // [begin, end). After an empty match the search resumes one character further on.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view subject) const;

  // `subject` with each match replaced by `replacement` (taken literally).
  std::string replace_all(std::string_view subject, std::string_view replacement) const;

 private:
  struct Impl;
  explicit Regex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace socle::engine::tokenizer
