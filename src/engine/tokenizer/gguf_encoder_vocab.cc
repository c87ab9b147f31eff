// WordPiece ("bert") and Unigram ("t5") tokenizers in GGUF keys, both ways
// (gguf_encoder_vocab.h). Writing checks each tokenizer.json component against the one
// form the keys stand for and refuses any other, naming it; reading builds that form.
#include "engine/tokenizer/gguf_encoder_vocab.h"

#include <array>
#include <boost/json/parse.hpp>
#include <unordered_set>

#include "base/base64.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/gguf_keys.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/precompiled.h"
#include "engine/tokenizer/unigram.h"
#include "engine/tokenizer/wordpiece.h"

namespace socle::engine::tokenizer {

namespace {

// U+2581, which llama.cpp puts before a word-initial WordPiece token and SentencePiece uses
// for spaces.
constexpr std::string_view PHANTOM_SPACE = "\xe2\x96\x81";
// The only WordPiece options llama.cpp's WPM tokenizer implements (Hugging Face's defaults).
constexpr std::string_view WORDPIECE_PREFIX = "##";
constexpr int64_t WORDPIECE_MAX_CHARS = 100;
// The Replace that Hugging Face's converter appends to a SentencePiece normalizer whose
// remove_extra_whitespaces is on.
constexpr std::string_view EXTRA_SPACES_PATTERN = " {2,}";

Status cannot_write(const std::string& why) {
  return invalid_argument("cannot write this tokenizer to GGUF: " + why);
}

Status bad_key(std::string_view key, const std::string& why) {
  return invalid_argument("GGUF tokenizer: " + std::string(key) + " " + why);
}

const boost::json::value& member(const boost::json::object& o, std::string_view key) {
  static const boost::json::value null_value;
  const auto* v = o.if_contains(key);
  return v == nullptr ? null_value : *v;
}

std::string type_of(const boost::json::value& v) {
  if (!v.is_object()) return v.is_null() ? "none" : "not an object";
  const auto* t = v.as_object().if_contains("type");
  return t != nullptr && t->is_string() ? std::string(t->as_string()) : "untyped";
}

// A bool option of a component: `fallback` when absent, nothing when not a bool.
std::optional<bool> option(const boost::json::object& o, std::string_view key, bool fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (!v->is_bool()) return std::nullopt;
  return v->as_bool();
}

std::string string_option(const boost::json::object& o, std::string_view key,
                          std::string_view fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::string(fallback);
  return std::string(v->as_string());
}

GgufValue bool_value(bool b) {
  return GgufValue::boolean(b);
}

GgufValue byte_array(std::string_view bytes) {
  GgufValue out;
  out.type = GgufType::ARRAY;
  out.array_type = GgufType::UINT8;
  out.array.resize(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i)
    out.array[i].u = static_cast<unsigned char>(bytes[i]);
  return out;
}

GgufValue f64_array(const std::vector<double>& values) {
  GgufValue out;
  out.type = GgufType::ARRAY;
  out.array_type = GgufType::FLOAT64;
  out.array.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    out.array[i].type = GgufType::FLOAT64;
    out.array[i].f = values[i];
  }
  return out;
}

// The head of every file: model, pre, tokens and their types.
GgufMetadata head_keys(std::string_view model, const std::vector<std::string>& tokens,
                       const std::vector<int32_t>& types) {
  GgufMetadata out;
  out.emplace_back(std::string(GGUF_KEY_MODEL), GgufValue::str(std::string(model)));
  // llama.cpp ignores tokenizer.ggml.pre for these models; its converter writes "default".
  out.emplace_back(std::string(GGUF_KEY_PRE), GgufValue::str("default"));
  out.emplace_back(std::string(GGUF_KEY_TOKENS), GgufValue::strings(tokens));
  out.emplace_back(std::string(GGUF_KEY_TOKEN_TYPE), GgufValue::i32s(types));
  return out;
}

bool is_added(int32_t type) {
  auto t = static_cast<GgufTokenType>(type);
  return t == GgufTokenType::CONTROL || t == GgufTokenType::USER_DEFINED ||
         t == GgufTokenType::UNKNOWN;
}

// Metaspace with U+2581 and split on: whether it prepends ("always") or not ("never").
Result<bool> metaspace_prefix(const boost::json::value& v, std::string_view what) {
  if (type_of(v) != "Metaspace") {
    return cannot_write(std::string(what) + " is " + type_of(v) +
                        "; a Unigram tokenizer in GGUF is Metaspace (U+2581)");
  }
  const auto& o = v.as_object();
  if (string_option(o, "replacement", PHANTOM_SPACE) != PHANTOM_SPACE)
    return cannot_write(std::string(what) + " Metaspace replaces spaces by another character");
  if (option(o, "split", true) != true)
    return cannot_write(std::string(what) + " Metaspace does not split at spaces");
  auto legacy = option(o, "add_prefix_space", true);
  std::string scheme = string_option(o, "prepend_scheme", legacy == true ? "always" : "never");
  if (scheme != "always" && scheme != "never") {
    return cannot_write(std::string(what) + " Metaspace's prepend_scheme is '" + scheme +
                        "'; GGUF's add_space_prefix says always or never");
  }
  return scheme == "always";
}

}  // namespace

Result<GgufMetadata> gguf_wordpiece_keys(const boost::json::object& tokenizer,
                                         std::vector<std::string> tokens,
                                         const std::vector<int32_t>& types) {
  const auto& model = tokenizer.at("model").as_object();
  if (string_option(model, "continuing_subword_prefix", WORDPIECE_PREFIX) != WORDPIECE_PREFIX)
    return cannot_write("the WordPiece prefix is not \"##\", the only one llama.cpp reads");
  const auto* max_chars = model.if_contains("max_input_chars_per_word");
  if (max_chars != nullptr &&
      (!max_chars->is_number() || max_chars->to_number<int64_t>() != WORDPIECE_MAX_CHARS)) {
    return cannot_write("max_input_chars_per_word is not 100, which GGUF cannot say");
  }
  const auto& norm = member(tokenizer, "normalizer");
  if (type_of(norm) != "BertNormalizer") {
    return cannot_write("the normalizer is " + type_of(norm) +
                        "; a WordPiece tokenizer in GGUF has BertNormalizer");
  }
  const auto& n = norm.as_object();
  if (option(n, "clean_text", true) != true || option(n, "handle_chinese_chars", true) != true) {
    return cannot_write(
        "BertNormalizer's clean_text or handle_chinese_chars is off; llama.cpp always does both");
  }
  auto lowercase = option(n, "lowercase", true);
  if (!lowercase) return cannot_write("BertNormalizer's lowercase is not a bool");
  bool strip_accents = *lowercase;  // null: strip when lowercasing, as Hugging Face
  if (const auto* s = n.if_contains("strip_accents"); s != nullptr && !s->is_null()) {
    if (!s->is_bool()) return cannot_write("BertNormalizer's strip_accents is not a bool");
    strip_accents = s->as_bool();
  }
  const auto& pre = member(tokenizer, "pre_tokenizer");
  if (type_of(pre) != "BertPreTokenizer") {
    return cannot_write("the pre-tokenizer is " + type_of(pre) +
                        "; a WordPiece tokenizer in GGUF has BertPreTokenizer");
  }
  const auto& dec = member(tokenizer, "decoder");
  if (type_of(dec) != "WordPiece" ||
      string_option(dec.as_object(), "prefix", WORDPIECE_PREFIX) != WORDPIECE_PREFIX ||
      option(dec.as_object(), "cleanup", true) != true) {
    return cannot_write("the decoder is not WordPiece with prefix \"##\" and cleanup");
  }
  // llama.cpp's phantom-space vocabulary: it prepends U+2581 to each word and matches the
  // word's first token with it, continuations without.
  std::unordered_set<std::string> seen;
  for (size_t id = 0; id < tokens.size(); ++id) {
    auto type = static_cast<GgufTokenType>(types[id]);
    if (type == GgufTokenType::NORMAL) {
      std::string& t = tokens[id];
      if (t.starts_with(PHANTOM_SPACE)) {
        return cannot_write("token " + std::to_string(id) + " ('" + t +
                            "') starts with U+2581, which GGUF's WordPiece uses for word starts");
      }
      t = t.starts_with(WORDPIECE_PREFIX) ? t.substr(WORDPIECE_PREFIX.size())
                                          : std::string(PHANTOM_SPACE) + t;
      if (t.empty()) return cannot_write("token " + std::to_string(id) + " is just \"##\"");
    }
    if (!seen.insert(tokens[id]).second) {
      return cannot_write("two ids have the text '" + tokens[id] +
                          "' in llama.cpp's WordPiece form; the second is " + std::to_string(id));
    }
  }
  GgufMetadata out = head_keys(GGUF_MODEL_WORDPIECE, tokens, types);
  out.emplace_back(std::string(GGUF_KEY_NORMALIZER_LOWERCASE), bool_value(*lowercase));
  out.emplace_back(std::string(GGUF_KEY_NORMALIZER_STRIP_ACCENTS), bool_value(strip_accents));
  return out;
}

Result<GgufMetadata> gguf_unigram_keys(const boost::json::object& tokenizer,
                                       std::vector<std::string> tokens,
                                       const std::vector<int32_t>& types) {
  const auto& model = tokenizer.at("model").as_object();
  const auto& vocab = model.at("vocab").as_array();
  // Normalizer: [Precompiled], optionally followed by the Replace of runs of spaces.
  const auto& norm = member(tokenizer, "normalizer");
  std::vector<const boost::json::value*> parts;
  if (type_of(norm) == "Sequence") {
    for (const auto& p : norm.as_object().at("normalizers").as_array())
      parts.push_back(&p);
  } else if (!norm.is_null()) {
    parts.push_back(&norm);
  }
  std::string charsmap;
  bool remove_extra_spaces = false;
  size_t at = 0;
  if (at < parts.size() && type_of(*parts[at]) == "Precompiled") {
    SOCLE_ASSIGN_OR_RETURN(charsmap, precompiled_charsmap_bytes(parts[at]->as_object()));
    ++at;
  }
  if (at < parts.size() && type_of(*parts[at]) == "Replace") {
    const auto& r = parts[at]->as_object();
    const auto* pattern = r.if_contains("pattern");
    const auto* regex = pattern != nullptr && pattern->is_object()
                            ? pattern->as_object().if_contains("Regex")
                            : nullptr;
    if (regex != nullptr && regex->is_string() && regex->as_string() == EXTRA_SPACES_PATTERN &&
        member(r, "content") == " ") {
      remove_extra_spaces = true;
      ++at;
    }
  }
  if (at != parts.size()) {
    return cannot_write("the normalizer has a " + type_of(*parts[at]) +
                        " step; a Unigram tokenizer in GGUF has Precompiled, then at most the "
                        "Replace of runs of spaces by one");
  }
  SOCLE_ASSIGN_OR_RETURN(bool prefix,
                         metaspace_prefix(member(tokenizer, "pre_tokenizer"), "the pre-tokenizer"));
  SOCLE_ASSIGN_OR_RETURN(bool decoder_prefix,
                         metaspace_prefix(member(tokenizer, "decoder"), "the decoder"));
  if (decoder_prefix != prefix)
    return cannot_write("the decoder's prepend_scheme is not the pre-tokenizer's");

  // Scores by id; ids that only the added tokens have (no Unigram entry) score 0.
  std::vector<double> scores(tokens.size(), 0.0);
  std::vector<float> scores32(tokens.size(), 0.0F);
  bool exact = true;
  for (size_t id = 0; id < vocab.size() && id < tokens.size(); ++id) {
    scores[id] = vocab[id].as_array()[1].to_number<double>();
    scores32[id] = static_cast<float>(scores[id]);
    exact = exact && static_cast<double>(scores32[id]) == scores[id];
  }
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (!is_added(types[id]) && tokens[id].find(PHANTOM_SPACE, 1) != std::string::npos) {
      // llama.cpp runs Viterbi over the whole text, Hugging Face word by word: a token with
      // U+2581 inside could only be chosen by the former.
      return cannot_write("token " + std::to_string(id) + " ('" + tokens[id] +
                          "') has U+2581 after its first character");
    }
  }
  GgufMetadata out = head_keys(GGUF_MODEL_UNIGRAM, tokens, types);
  out.emplace_back(std::string(GGUF_KEY_SCORES), GgufValue::f32s(scores32));
  if (!exact) out.emplace_back(std::string(GGUF_KEY_SCORES_F64), f64_array(scores));
  out.emplace_back(std::string(GGUF_KEY_ADD_SPACE_PREFIX), bool_value(prefix));
  out.emplace_back(std::string(GGUF_KEY_REMOVE_EXTRA_WHITESPACES), bool_value(remove_extra_spaces));
  if (!charsmap.empty())
    out.emplace_back(std::string(GGUF_KEY_PRECOMPILED_CHARSMAP), byte_array(charsmap));
  return out;
}

namespace {

Result<bool> bool_key(const GgufFile& f, std::string_view key, bool fallback) {
  const GgufValue* v = f.value(key);
  if (v == nullptr) return fallback;
  if (v->type != GgufType::BOOL) return bad_key(key, "must be a bool");
  return v->b;
}

Status stage_error(const Status& s) {
  return Status(s.code(), "GGUF tokenizer: " + s.message());
}

}  // namespace

Result<GgufEncoderStages> gguf_wordpiece_stages(const GgufFile& file,
                                                const std::vector<GgufValue>& tokens,
                                                const std::vector<GgufTokenType>& types,
                                                const std::vector<bool>& filler, int32_t unk) {
  // llama.cpp: lowercase by default, strip_accents as lowercase unless said.
  SOCLE_ASSIGN_OR_RETURN(bool lowercase, bool_key(file, GGUF_KEY_NORMALIZER_LOWERCASE, true));
  SOCLE_ASSIGN_OR_RETURN(bool strip, bool_key(file, GGUF_KEY_NORMALIZER_STRIP_ACCENTS, lowercase));
  GgufEncoderStages s;
  boost::json::object norm{{"type", "BertNormalizer"},
                           {"clean_text", true},
                           {"handle_chinese_chars", true},
                           {"strip_accents", strip},
                           {"lowercase", lowercase}};
  auto normalizer = normalizer_from_json(norm);
  if (!normalizer.is_ok()) return stage_error(normalizer.status());
  s.normalizer = std::move(normalizer).value();
  auto pre = pre_tokenizer_from_json(boost::json::object{{"type", "BertPreTokenizer"}});
  if (!pre.is_ok()) return stage_error(pre.status());
  s.pre_tokenizer = std::move(pre).value();
  auto dec = decoder_from_json(
      boost::json::object{{"type", "WordPiece"}, {"prefix", WORDPIECE_PREFIX}, {"cleanup", true}});
  if (!dec.is_ok()) return stage_error(dec.status());
  s.decoder = std::move(dec).value();
  // Back from the phantom-space form: "▁foo" starts a word, any other normal token continues.
  Vocab vocab;
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (filler[id]) continue;
    std::string text = tokens[id].s;
    if (types[id] == GgufTokenType::NORMAL) {
      text = text.starts_with(PHANTOM_SPACE) ? text.substr(PHANTOM_SPACE.size())
                                             : std::string(WORDPIECE_PREFIX) + text;
    }
    if (vocab.contains(text)) {
      return bad_key(GGUF_KEY_TOKENS,
                     "holds '" + text + "' twice (again at id " + std::to_string(id) + ")");
    }
    vocab.add(std::move(text), static_cast<int32_t>(id));
  }
  s.model = std::make_unique<WordPiece>(std::move(vocab), unk, std::string(WORDPIECE_PREFIX),
                                        static_cast<size_t>(WORDPIECE_MAX_CHARS));
  return s;
}

Result<GgufEncoderStages> gguf_unigram_stages(const GgufFile& file,
                                              const std::vector<GgufValue>& tokens,
                                              const std::vector<bool>& filler, int32_t unk) {
  const size_t n = tokens.size();
  // llama.cpp's UGM default is no prefix; socle and llama.cpp's converter always write it.
  SOCLE_ASSIGN_OR_RETURN(bool prefix, bool_key(file, GGUF_KEY_ADD_SPACE_PREFIX, false));
  SOCLE_ASSIGN_OR_RETURN(bool squeeze, bool_key(file, GGUF_KEY_REMOVE_EXTRA_WHITESPACES, false));
  boost::json::array steps;
  if (const GgufValue* map = file.value(GGUF_KEY_PRECOMPILED_CHARSMAP); map != nullptr) {
    if (map->type != GgufType::ARRAY ||
        (map->array_type != GgufType::UINT8 && map->array_type != GgufType::INT8)) {
      return bad_key(GGUF_KEY_PRECOMPILED_CHARSMAP, "must be an array of bytes");
    }
    std::string bytes(map->array.size(), '\0');
    for (size_t i = 0; i < bytes.size(); ++i) {
      const GgufValue& b = map->array[i];
      bytes[i] =
          static_cast<char>(map->array_type == GgufType::UINT8 ? b.u : static_cast<uint64_t>(b.i));
    }
    steps.push_back({{"type", "Precompiled"}, {"precompiled_charsmap", base64_encode(bytes)}});
  }
  if (squeeze) {
    steps.push_back(
        {{"type", "Replace"}, {"pattern", {{"Regex", EXTRA_SPACES_PATTERN}}}, {"content", " "}});
  }
  GgufEncoderStages s;
  if (!steps.empty()) {
    auto normalizer =
        normalizer_from_json(boost::json::object{{"type", "Sequence"}, {"normalizers", steps}});
    if (!normalizer.is_ok()) return stage_error(normalizer.status());
    s.normalizer = std::move(normalizer).value();
  }
  boost::json::object metaspace{{"type", "Metaspace"},
                                {"replacement", PHANTOM_SPACE},
                                {"prepend_scheme", prefix ? "always" : "never"},
                                {"split", true}};
  auto pre = pre_tokenizer_from_json(metaspace);
  if (!pre.is_ok()) return stage_error(pre.status());
  s.pre_tokenizer = std::move(pre).value();
  auto dec = decoder_from_json(metaspace);
  if (!dec.is_ok()) return stage_error(dec.status());
  s.decoder = std::move(dec).value();

  // Scores: the float64 copy socle writes when float32 rounds them, else llama.cpp's.
  std::vector<double> scores(n, 0.0);
  const GgufValue* exact = file.value(GGUF_KEY_SCORES_F64);
  const GgufValue* values = exact != nullptr ? exact : file.value(GGUF_KEY_SCORES);
  GgufType want = exact != nullptr ? GgufType::FLOAT64 : GgufType::FLOAT32;
  std::string_view key = exact != nullptr ? GGUF_KEY_SCORES_F64 : GGUF_KEY_SCORES;
  if (values == nullptr) return bad_key(key, "is missing");
  if (values->type != GgufType::ARRAY || values->array_type != want || values->array.size() != n) {
    return bad_key(key, "must be an array of " + std::to_string(n) + " floats");
  }
  Vocab vocab;
  for (size_t id = 0; id < n; ++id) {
    // Ids that stand for no token (llama.cpp's converter scores them -10000) must not lower
    // the unknown token's score, which is the lowest score less 10.
    if (filler[id]) continue;
    scores[id] = values->array[id].f;
    if (vocab.contains(tokens[id].s)) {
      return bad_key(GGUF_KEY_TOKENS,
                     "holds '" + tokens[id].s + "' twice (again at id " + std::to_string(id) + ")");
    }
    vocab.add(tokens[id].s, static_cast<int32_t>(id));
  }
  s.model = std::make_unique<Unigram>(std::move(vocab), std::move(scores), unk);
  return s;
}

}  // namespace socle::engine::tokenizer
