#include "engine/tokenizer/decoder.h"

#include <array>
#include <optional>
#include <utility>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/config_fields.h"
#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/unicode.h"

namespace socle::engine::tokenizer {

namespace {

constexpr std::string_view WHAT = "decoder";
constexpr size_t BYTE_TOKEN_SIZE = 6;  // "<0xAB>"
constexpr int HEX_BASE = 16;

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(s);
  std::string out;
  size_t prev = 0;
  for (size_t at = s.find(from); at != std::string_view::npos; at = s.find(from, prev)) {
    out.append(s.substr(prev, at - prev));
    out.append(to);
    prev = at + from.size();
  }
  out.append(s.substr(prev));
  return out;
}

class ByteLevelDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<DecodePiece>& pieces) const override {
    // Runs of byte-level tokens become their bytes; added tokens stay as written
    // (transformers keeps the two apart so that added text is not byte-decoded).
    std::vector<DecodePiece> out;
    std::string run;
    bool in_run = false;
    for (auto& p : pieces) {
      if (p.added) {
        if (in_run) out.push_back({std::move(run), false});
        run.clear();
        in_run = false;
        out.push_back(std::move(p));
        continue;
      }
      in_run = true;
      // Token texts come from the vocabulary and are UTF-8; an earlier byte decoder in a
      // sequence could break that, so check rather than trust.
      std::string text = utf8_valid(p.text) ? std::move(p.text) : utf8_sanitize(p.text);
      size_t pos = 0;
      while (pos < text.size()) {
        size_t at = pos;
        char32_t cp = utf8_next(text, &pos);
        if (auto b = char_to_byte(cp)) {
          run += static_cast<char>(*b);
        } else {
          run.append(text, at, pos - at);
        }
      }
    }
    if (in_run) out.push_back({std::move(run), false});
    pieces = std::move(out);
  }
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void decode_chain(std::vector<DecodePiece>& pieces) const override {
    for (size_t i = 0; i < pieces.size(); ++i) {
      std::string t = replace_all(pieces[i].text, replacement_, " ");
      if (i == 0 && strip_first_ && !t.empty() && t[0] == ' ') t.erase(0, 1);
      pieces[i].text = std::move(t);
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<DecodePiece>& pieces) const override {
    for (size_t i = 0; i < pieces.size(); ++i) {
      std::string& t = pieces[i].text;
      if (i != 0) {
        if (!prefix_.empty() && t.rfind(prefix_, 0) == 0) {
          t.erase(0, prefix_.size());
        } else {
          t.insert(0, " ");
        }
      }
      if (cleanup_) t = clean_up_tokenization(t);
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class ReplaceDecoder final : public Decoder {
 public:
  // Exactly one of `literal` and `regex` is set.
  ReplaceDecoder(std::optional<std::string> literal, std::optional<Regex> regex,
                 std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
  void decode_chain(std::vector<DecodePiece>& pieces) const override {
    for (auto& p : pieces) {
      if (literal_) {
        p.text = replace_all(p.text, *literal_, content_);
      } else {
        // The regex needs valid UTF-8; byte decoders may have left a partial character.
        p.text = regex_->replace_all(utf8_sanitize(p.text), content_);
      }
    }
  }

 private:
  std::optional<std::string> literal_;
  std::optional<Regex> regex_;
  std::string content_;
};

class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<DecodePiece>& pieces) const override {
    std::vector<DecodePiece> out;
    std::string bytes;
    for (auto& p : pieces) {
      if (auto b = byte_token(p.text)) {
        bytes += static_cast<char>(*b);
        continue;
      }
      if (!bytes.empty()) out.push_back({std::move(bytes), false});
      bytes.clear();
      out.push_back(std::move(p));
    }
    if (!bytes.empty()) out.push_back({std::move(bytes), false});
    pieces = std::move(out);
  }

 private:
  static std::optional<unsigned char> byte_token(std::string_view t) {
    if (t.size() != BYTE_TOKEN_SIZE || t.substr(0, 3) != "<0x" || t.back() != '>')
      return std::nullopt;
    int value = 0;
    for (char c : t.substr(3, 2)) {
      int d = 0;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else {
        return std::nullopt;
      }
      value = value * HEX_BASE + d;
    }
    return static_cast<unsigned char>(value);
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<DecodePiece>& pieces) const override {
    std::string all;
    for (const auto& p : pieces)
      all += p.text;
    pieces.assign(1, {std::move(all), false});
  }
};

class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<DecodePiece>& pieces) const override {
    for (auto& p : pieces) {
      std::string_view t = p.text;
      for (size_t i = 0; i < start_ && t.substr(0, content_.size()) == content_; ++i) {
        t.remove_prefix(content_.size());
      }
      for (size_t i = 0; i < stop_ && t.size() >= content_.size() &&
                         t.substr(t.size() - content_.size()) == content_;
           ++i) {
        t.remove_suffix(content_.size());
      }
      p.text = std::string(t);
    }
  }

 private:
  std::string content_;
  size_t start_;
  size_t stop_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  void decode_chain(std::vector<DecodePiece>& pieces) const override {
    for (const auto& step : steps_)
      step->decode_chain(pieces);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

Result<std::unique_ptr<Decoder>> replace_from_json(const boost::json::object& o) {
  SOCLE_ASSIGN_OR_RETURN(std::string content, string_field(o, "content", WHAT));
  const auto* p = o.if_contains("pattern");
  if (p != nullptr && p->is_object()) {
    if (const auto* s = p->as_object().if_contains("String"); s != nullptr && s->is_string()) {
      return std::unique_ptr<Decoder>(
          new ReplaceDecoder(std::string(s->as_string()), std::nullopt, std::move(content)));
    }
  }
  if (p == nullptr) return invalid_argument("tokenizer decoder Replace needs a 'pattern'");
  SOCLE_ASSIGN_OR_RETURN(Regex regex, pattern_from_json(*p, WHAT));
  return std::unique_ptr<Decoder>(
      new ReplaceDecoder(std::nullopt, std::move(regex), std::move(content)));
}

}  // namespace

std::string clean_up_tokenization(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 10> RULES = {{
      {" .", "."},
      {" ?", "?"},
      {" !", "!"},
      {" ,", ","},
      {" ' ", "'"},
      {" n't", "n't"},
      {" 'm", "'m"},
      {" 's", "'s"},
      {" 've", "'ve"},
      {" 're", "'re"},
  }};
  std::string s(text);
  for (auto [from, to] : RULES)
    s = replace_all(s, from, to);
  return s;
}

Result<std::unique_ptr<Decoder>> decoder_from_json(const boost::json::value& config) {
  if (config.is_null()) return std::unique_ptr<Decoder>();
  SOCLE_ASSIGN_OR_RETURN(std::string type, component_type(config, WHAT));
  const auto& o = config.as_object();
  if (type == "ByteLevel") return std::unique_ptr<Decoder>(new ByteLevelDecoder());
  if (type == "Metaspace") {
    SOCLE_ASSIGN_OR_RETURN(std::string replacement,
                           string_field_or(o, "replacement", "\u2581", WHAT));
    SOCLE_ASSIGN_OR_RETURN(bool add_prefix, bool_field_or(o, "add_prefix_space", true, WHAT));
    SOCLE_ASSIGN_OR_RETURN(
        std::string scheme,
        string_field_or(o, "prepend_scheme", add_prefix ? "always" : "never", WHAT));
    return std::unique_ptr<Decoder>(
        new MetaspaceDecoder(std::move(replacement), scheme != "never"));
  }
  if (type == "WordPiece") {
    SOCLE_ASSIGN_OR_RETURN(std::string prefix, string_field_or(o, "prefix", "##", WHAT));
    SOCLE_ASSIGN_OR_RETURN(bool cleanup, bool_field_or(o, "cleanup", true, WHAT));
    return std::unique_ptr<Decoder>(new WordPieceDecoder(std::move(prefix), cleanup));
  }
  if (type == "Replace") return replace_from_json(o);
  if (type == "ByteFallback") return std::unique_ptr<Decoder>(new ByteFallbackDecoder());
  if (type == "Fuse") return std::unique_ptr<Decoder>(new FuseDecoder());
  if (type == "Strip") {
    SOCLE_ASSIGN_OR_RETURN(std::string content, string_field(o, "content", WHAT));
    SOCLE_ASSIGN_OR_RETURN(int64_t start, int_field_or(o, "start", 0, WHAT));
    SOCLE_ASSIGN_OR_RETURN(int64_t stop, int_field_or(o, "stop", 0, WHAT));
    if (content.empty() || start < 0 || stop < 0) {
      return invalid_argument("tokenizer decoder Strip: needs a content and non-negative counts");
    }
    return std::unique_ptr<Decoder>(new StripDecoder(std::move(content), static_cast<size_t>(start),
                                                     static_cast<size_t>(stop)));
  }
  if (type == "Sequence") {
    SOCLE_ASSIGN_OR_RETURN(const boost::json::array* list, array_field(o, "decoders", WHAT));
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const auto& item : *list) {
      SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<Decoder> step, decoder_from_json(item));
      if (step) steps.push_back(std::move(step));
    }
    return std::unique_ptr<Decoder>(new SequenceDecoder(std::move(steps)));
  }
  return unsupported_component(WHAT, type);
}

}  // namespace socle::engine::tokenizer
