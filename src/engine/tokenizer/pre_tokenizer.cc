#include "engine/tokenizer/pre_tokenizer.h"

#include <functional>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/config_fields.h"
#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/split_behavior.h"
#include "engine/tokenizer/unicode.h"

namespace socle::engine::tokenizer {

namespace {

constexpr std::string_view WHAT = "pre_tokenizer";

// GPT-2's word pattern, which ByteLevel applies when use_regex is true.
constexpr std::string_view GPT2_PATTERN =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Rust's Whitespace pre-tokenizer pattern.
constexpr std::string_view WHITESPACE_PATTERN = R"(\w+|[^\w\s]+)";

// Applies `split` to every piece.
void for_each_piece(
    std::vector<std::string>& pieces,
    const std::function<void(const std::string&, std::vector<std::string>&)>& split) {
  std::vector<std::string> out;
  out.reserve(pieces.size());
  for (const auto& p : pieces)
    split(p, out);
  pieces = std::move(out);
}

// Spans where each code point satisfying `pred` is its own delimiter.
std::vector<Span> char_spans(std::string_view text, const std::function<bool(char32_t)>& pred) {
  std::vector<Span> spans;
  size_t pos = 0;
  size_t run = 0;
  while (pos < text.size()) {
    size_t at = pos;
    char32_t cp = utf8_next(text, &pos);
    if (!pred(cp)) continue;
    if (run < at) spans.push_back({run, at, false});
    spans.push_back({at, pos, true});
    run = pos;
  }
  if (run < text.size()) spans.push_back({run, text.size(), false});
  return spans;
}

bool is_bert_punctuation(char32_t cp) {
  bool ascii_punct = (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
                     (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
  return ascii_punct || is_punctuation(cp);
}

class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, std::optional<Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}

  void pre_tokenize(std::vector<std::string>& pieces, bool /*first_section*/) const override {
    for_each_piece(pieces, [&](const std::string& piece, std::vector<std::string>& out) {
      std::string text = piece;
      if (add_prefix_space_ && (text.empty() || text[0] != ' ')) text.insert(0, " ");
      if (!regex_) {
        out.push_back(byte_level_encode(text));
        return;
      }
      std::vector<std::string> words;
      split_spans(text, spans_from_matches(text, regex_->find_all(text), false),
                  SplitBehavior::ISOLATED, words);
      for (const auto& w : words)
        out.push_back(byte_level_encode(w));
    });
  }

 private:
  bool add_prefix_space_;
  std::optional<Regex> regex_;
};

class Split final : public PreTokenizer {
 public:
  Split(Regex regex, SplitBehavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}

  void pre_tokenize(std::vector<std::string>& pieces, bool /*first_section*/) const override {
    for_each_piece(pieces, [&](const std::string& piece, std::vector<std::string>& out) {
      split_spans(piece, spans_from_matches(piece, regex_.find_all(piece), invert_), behavior_,
                  out);
    });
  }

 private:
  Regex regex_;
  SplitBehavior behavior_;
  bool invert_;
};

class CharSplit final : public PreTokenizer {
 public:
  CharSplit(std::function<bool(char32_t)> pred, SplitBehavior behavior)
      : pred_(std::move(pred)), behavior_(behavior) {}

  void pre_tokenize(std::vector<std::string>& pieces, bool /*first_section*/) const override {
    for_each_piece(pieces, [&](const std::string& piece, std::vector<std::string>& out) {
      split_spans(piece, char_spans(piece, pred_), behavior_, out);
    });
  }

 private:
  std::function<bool(char32_t)> pred_;
  SplitBehavior behavior_;
};

enum class PrependScheme { ALWAYS, FIRST, NEVER };

class Metaspace final : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}

  void pre_tokenize(std::vector<std::string>& pieces, bool first_section) const override {
    bool first_piece = true;
    for_each_piece(pieces, [&](const std::string& piece, std::vector<std::string>& out) {
      std::string text;
      for (char c : piece) {
        if (c == ' ') {
          text += replacement_;
        } else {
          text += c;
        }
      }
      bool prepend = scheme_ == PrependScheme::ALWAYS ||
                     (scheme_ == PrependScheme::FIRST && first_section && first_piece);
      first_piece = false;
      if (prepend && text.rfind(replacement_, 0) != 0) text.insert(0, replacement_);
      if (!split_) {
        if (!text.empty()) out.push_back(std::move(text));
        return;
      }
      std::vector<Span> spans;
      size_t prev = 0;
      for (size_t at = text.find(replacement_); at != std::string::npos;
           at = text.find(replacement_, at + replacement_.size())) {
        if (prev < at) spans.push_back({prev, at, false});
        spans.push_back({at, at + replacement_.size(), true});
        prev = at + replacement_.size();
      }
      if (prev < text.size()) spans.push_back({prev, text.size(), false});
      split_spans(text, spans, SplitBehavior::MERGED_WITH_NEXT, out);
    });
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void pre_tokenize(std::vector<std::string>& pieces, bool first_section) const override {
    for (const auto& step : steps_)
      step->pre_tokenize(pieces, first_section);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

// BERT's basic split: whitespace removed, then each punctuation character isolated.
class BertPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<std::string>& pieces, bool first_section) const override {
    whitespace_.pre_tokenize(pieces, first_section);
    punctuation_.pre_tokenize(pieces, first_section);
  }

 private:
  CharSplit whitespace_{is_unicode_whitespace, SplitBehavior::REMOVED};
  CharSplit punctuation_{is_bert_punctuation, SplitBehavior::ISOLATED};
};

Result<std::unique_ptr<PreTokenizer>> metaspace_from_json(const boost::json::object& o) {
  SOCLE_ASSIGN_OR_RETURN(std::string replacement,
                         string_field_or(o, "replacement", "\u2581", WHAT));
  if (replacement.empty())
    return invalid_argument("tokenizer pre_tokenizer Metaspace: empty replacement");
  // Files written before prepend_scheme existed say add_prefix_space instead.
  SOCLE_ASSIGN_OR_RETURN(bool add_prefix, bool_field_or(o, "add_prefix_space", true, WHAT));
  SOCLE_ASSIGN_OR_RETURN(
      std::string scheme_name,
      string_field_or(o, "prepend_scheme", add_prefix ? "always" : "never", WHAT));
  PrependScheme scheme;
  if (scheme_name == "always") {
    scheme = PrependScheme::ALWAYS;
  } else if (scheme_name == "first") {
    scheme = PrependScheme::FIRST;
  } else if (scheme_name == "never") {
    scheme = PrependScheme::NEVER;
  } else {
    return invalid_argument("tokenizer pre_tokenizer Metaspace: unknown prepend_scheme '" +
                            scheme_name + "'");
  }
  SOCLE_ASSIGN_OR_RETURN(bool split, bool_field_or(o, "split", true, WHAT));
  return std::unique_ptr<PreTokenizer>(new Metaspace(std::move(replacement), scheme, split));
}

}  // namespace

Result<std::unique_ptr<PreTokenizer>> pre_tokenizer_from_json(const boost::json::value& config) {
  if (config.is_null()) return std::unique_ptr<PreTokenizer>();
  SOCLE_ASSIGN_OR_RETURN(std::string type, component_type(config, WHAT));
  const auto& o = config.as_object();
  if (type == "ByteLevel") {
    SOCLE_ASSIGN_OR_RETURN(bool prefix, bool_field_or(o, "add_prefix_space", true, WHAT));
    SOCLE_ASSIGN_OR_RETURN(bool use_regex, bool_field_or(o, "use_regex", true, WHAT));
    std::optional<Regex> regex;
    if (use_regex) {
      SOCLE_ASSIGN_OR_RETURN(Regex r, Regex::compile(GPT2_PATTERN));
      regex.emplace(std::move(r));
    }
    return std::unique_ptr<PreTokenizer>(new ByteLevel(prefix, std::move(regex)));
  }
  if (type == "Split") {
    const auto* p = o.if_contains("pattern");
    if (p == nullptr) return invalid_argument("tokenizer pre_tokenizer Split needs a 'pattern'");
    SOCLE_ASSIGN_OR_RETURN(Regex regex, pattern_from_json(*p, WHAT));
    SOCLE_ASSIGN_OR_RETURN(std::string behavior_name, string_field(o, "behavior", WHAT));
    SOCLE_ASSIGN_OR_RETURN(SplitBehavior behavior, split_behavior_from_name(behavior_name));
    SOCLE_ASSIGN_OR_RETURN(bool invert, bool_field_or(o, "invert", false, WHAT));
    return std::unique_ptr<PreTokenizer>(new Split(std::move(regex), behavior, invert));
  }
  if (type == "Metaspace") return metaspace_from_json(o);
  if (type == "Digits") {
    SOCLE_ASSIGN_OR_RETURN(bool individual, bool_field_or(o, "individual_digits", false, WHAT));
    auto is_digit = [](char32_t c) { return c >= '0' && c <= '9'; };
    return std::unique_ptr<PreTokenizer>(
        new CharSplit(is_digit, individual ? SplitBehavior::ISOLATED : SplitBehavior::CONTIGUOUS));
  }
  if (type == "Whitespace") {
    SOCLE_ASSIGN_OR_RETURN(Regex regex, Regex::compile(WHITESPACE_PATTERN));
    return std::unique_ptr<PreTokenizer>(new Split(std::move(regex), SplitBehavior::REMOVED, true));
  }
  if (type == "WhitespaceSplit") {
    return std::unique_ptr<PreTokenizer>(
        new CharSplit(is_unicode_whitespace, SplitBehavior::REMOVED));
  }
  if (type == "BertPreTokenizer") return std::unique_ptr<PreTokenizer>(new BertPreTokenizer());
  if (type == "Punctuation") {
    SOCLE_ASSIGN_OR_RETURN(std::string behavior_name,
                           string_field_or(o, "behavior", "Isolated", WHAT));
    SOCLE_ASSIGN_OR_RETURN(SplitBehavior behavior, split_behavior_from_name(behavior_name));
    return std::unique_ptr<PreTokenizer>(new CharSplit(is_bert_punctuation, behavior));
  }
  if (type == "Sequence") {
    SOCLE_ASSIGN_OR_RETURN(const boost::json::array* list, array_field(o, "pretokenizers", WHAT));
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const auto& item : *list) {
      SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<PreTokenizer> step, pre_tokenizer_from_json(item));
      if (step) steps.push_back(std::move(step));
    }
    return std::unique_ptr<PreTokenizer>(new Sequence(std::move(steps)));
  }
  return unsupported_component(WHAT, type);
}

}  // namespace socle::engine::tokenizer
