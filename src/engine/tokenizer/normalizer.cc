#include "engine/tokenizer/normalizer.h"

#include <vector>

#include "engine/tokenizer/config_fields.h"
#include "engine/tokenizer/precompiled.h"
#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/unicode.h"

namespace socle::engine::tokenizer {

namespace {

constexpr std::string_view WHAT = "normalizer";

class UnicodeForm final : public Normalizer {
 public:
  explicit UnicodeForm(NormalForm form) : form_(form) {}
  std::string normalize(std::string_view text) const override {
    return unicode_normalize(text, form_);
  }

 private:
  NormalForm form_;
};

class Lowercase final : public Normalizer {
 public:
  std::string normalize(std::string_view text) const override { return unicode_lowercase(text); }
};

class StripAccents final : public Normalizer {
 public:
  std::string normalize(std::string_view text) const override {
    std::string out;
    size_t pos = 0;
    while (pos < text.size()) {
      char32_t cp = utf8_next(text, &pos);
      if (!is_mark(cp)) utf8_append(out, cp);
    }
    return out;
  }
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  std::string normalize(std::string_view text) const override {
    std::vector<char32_t> cps = utf8_decode(text);
    size_t b = 0;
    size_t e = cps.size();
    if (left_) {
      while (b < e && is_unicode_whitespace(cps[b]))
        ++b;
    }
    if (right_) {
      while (e > b && is_unicode_whitespace(cps[e - 1]))
        --e;
    }
    std::string out;
    for (size_t i = b; i < e; ++i)
      utf8_append(out, cps[i]);
    return out;
  }

 private:
  bool left_;
  bool right_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string normalize(std::string_view text) const override {
    if (text.empty()) return {};
    return prefix_ + std::string(text);
  }

 private:
  std::string prefix_;
};

class Replace final : public Normalizer {
 public:
  Replace(Regex pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::string normalize(std::string_view text) const override {
    return pattern_.replace_all(text, content_);
  }

 private:
  Regex pattern_;
  std::string content_;
};

class Sequence final : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  std::string normalize(std::string_view text) const override {
    std::string s(text);
    for (const auto& step : steps_)
      s = step->normalize(s);
    return s;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// BERT's BasicTokenizer cleaning, as the Rust BertNormalizer does it.
class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool chinese_chars, bool strip_accents, bool lowercase)
      : clean_text_(clean_text),
        chinese_chars_(chinese_chars),
        strip_accents_(strip_accents),
        lowercase_(lowercase) {}

  std::string normalize(std::string_view text) const override {
    std::string s;
    size_t pos = 0;
    while (pos < text.size()) {
      char32_t cp = utf8_next(text, &pos);
      if (clean_text_) {
        if (cp == 0 || cp == REPLACEMENT || is_bert_control(cp)) continue;
        if (cp == '\t' || cp == '\n' || cp == '\r' || is_unicode_whitespace(cp)) cp = ' ';
      }
      if (chinese_chars_ && is_chinese_char(cp)) {
        s += ' ';
        utf8_append(s, cp);
        s += ' ';
        continue;
      }
      utf8_append(s, cp);
    }
    if (strip_accents_) {
      std::string nfd = unicode_normalize(s, NormalForm::NFD);
      s.clear();
      pos = 0;
      while (pos < nfd.size()) {
        char32_t cp = utf8_next(nfd, &pos);
        if (!is_mark_nonspacing(cp)) utf8_append(s, cp);
      }
    }
    if (lowercase_) s = unicode_lowercase(s);
    return s;
  }

 private:
  static constexpr char32_t REPLACEMENT = 0xFFFD;

  static bool is_bert_control(char32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    return is_control_or_format(cp);
  }

  // The CJK Unified Ideographs blocks, which BERT surrounds with spaces.
  static bool is_chinese_char(char32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }

  bool clean_text_;
  bool chinese_chars_;
  bool strip_accents_;
  bool lowercase_;
};

}  // namespace

Result<std::unique_ptr<Normalizer>> normalizer_from_json(const boost::json::value& config) {
  if (config.is_null()) return std::unique_ptr<Normalizer>();
  SOCLE_ASSIGN_OR_RETURN(std::string type, component_type(config, WHAT));
  const auto& o = config.as_object();
  if (type == "NFC") return std::unique_ptr<Normalizer>(new UnicodeForm(NormalForm::NFC));
  if (type == "NFD") return std::unique_ptr<Normalizer>(new UnicodeForm(NormalForm::NFD));
  if (type == "NFKC") return std::unique_ptr<Normalizer>(new UnicodeForm(NormalForm::NFKC));
  if (type == "NFKD") return std::unique_ptr<Normalizer>(new UnicodeForm(NormalForm::NFKD));
  if (type == "Lowercase") return std::unique_ptr<Normalizer>(new Lowercase());
  if (type == "StripAccents") return std::unique_ptr<Normalizer>(new StripAccents());
  if (type == "Strip") {
    SOCLE_ASSIGN_OR_RETURN(bool left, bool_field_or(o, "strip_left", true, WHAT));
    SOCLE_ASSIGN_OR_RETURN(bool right, bool_field_or(o, "strip_right", true, WHAT));
    return std::unique_ptr<Normalizer>(new Strip(left, right));
  }
  if (type == "Prepend") {
    SOCLE_ASSIGN_OR_RETURN(std::string prefix, string_field(o, "prepend", WHAT));
    return std::unique_ptr<Normalizer>(new Prepend(std::move(prefix)));
  }
  if (type == "Replace") {
    const auto* p = o.if_contains("pattern");
    if (p == nullptr) return invalid_argument("tokenizer normalizer Replace needs a 'pattern'");
    SOCLE_ASSIGN_OR_RETURN(Regex pattern, pattern_from_json(*p, WHAT));
    SOCLE_ASSIGN_OR_RETURN(std::string content, string_field(o, "content", WHAT));
    return std::unique_ptr<Normalizer>(new Replace(std::move(pattern), std::move(content)));
  }
  if (type == "Sequence") {
    SOCLE_ASSIGN_OR_RETURN(const boost::json::array* list, array_field(o, "normalizers", WHAT));
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const auto& item : *list) {
      SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<Normalizer> step, normalizer_from_json(item));
      if (step) steps.push_back(std::move(step));
    }
    return std::unique_ptr<Normalizer>(new Sequence(std::move(steps)));
  }
  if (type == "BertNormalizer") {
    SOCLE_ASSIGN_OR_RETURN(bool clean, bool_field_or(o, "clean_text", true, WHAT));
    SOCLE_ASSIGN_OR_RETURN(bool chinese, bool_field_or(o, "handle_chinese_chars", true, WHAT));
    SOCLE_ASSIGN_OR_RETURN(bool lower, bool_field_or(o, "lowercase", true, WHAT));
    // strip_accents: null means "follow lowercase", as in BERT's original tokenizer.
    SOCLE_ASSIGN_OR_RETURN(bool strip, bool_field_or(o, "strip_accents", lower, WHAT));
    return std::unique_ptr<Normalizer>(new BertNormalizer(clean, chinese, strip, lower));
  }
  if (type == "Precompiled") return precompiled_from_json(o);
  return unsupported_component(WHAT, type);
}

}  // namespace socle::engine::tokenizer
