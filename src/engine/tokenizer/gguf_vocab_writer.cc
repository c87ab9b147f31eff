// From a Hugging Face tokenizer to GGUF's tokenizer keys (gguf_vocab.h). The tokenizer is
// loaded first, so that a file socle cannot read is never written, and the post-processor
// is probed rather than parsed: what it adds to an encoding is what add_bos_token and
// add_eos_token must say.
#include <filesystem>
#include <map>
#include <unordered_set>

#include "base/file.h"
#include "base/json.h"
#include "engine/tokenizer/config_fields.h"
#include "engine/tokenizer/gguf_encoder_vocab.h"
#include "engine/tokenizer/gguf_keys.h"
#include "engine/tokenizer/gguf_pre_tokenizers.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/tokenizer.h"

namespace socle::engine::tokenizer {

namespace {

constexpr std::string_view TOKENIZER_FILE = "tokenizer.json";
// A one-character text whose ids show what the post-processor adds around a sequence.
constexpr std::string_view PROBE_TEXT = "a";

Status cannot_write(const std::string& why) {
  return invalid_argument("cannot write this tokenizer to GGUF: " + why);
}

// "<0x0A>": a byte token of a byte-fallback vocabulary.
bool is_byte_token(std::string_view t) {
  constexpr size_t BYTE_TOKEN_SIZE = 6;
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return t.size() == BYTE_TOKEN_SIZE && t.substr(0, 3) == "<0x" && hex(t[3]) && hex(t[4]) &&
         t[5] == '>';
}

// The merges of a BPE model, in either tokenizer.json format, as "left right".
Result<std::vector<std::string>> merge_lines(const boost::json::object& model) {
  const auto* merges = model.if_contains("merges");
  if (merges == nullptr || !merges->is_array()) return cannot_write("the BPE model has no merges");
  std::vector<std::string> out;
  out.reserve(merges->as_array().size());
  for (const auto& m : merges->as_array()) {
    std::string left;
    std::string right;
    if (m.is_string()) {
      std::string_view s = m.as_string();
      size_t space = s.find(' ');
      left = std::string(s.substr(0, space));
      right = std::string(s.substr(space + 1));
    } else {
      left = std::string(m.as_array()[0].as_string());
      right = std::string(m.as_array()[1].as_string());
    }
    // llama.cpp cuts each line at its first space after the first byte.
    if (left.empty() || left.find(' ') != std::string::npos ||
        right.find(' ') != std::string::npos) {
      return cannot_write("merge '" + left + "' '" + right +
                          "' has a space in a token, which GGUF's \"left right\" merges "
                          "cannot hold");
    }
    out.push_back(left + " " + right);
  }
  return out;
}

struct Specials {
  bool add_bos = false;
  bool add_eos = false;
  std::optional<int32_t> bos;
  std::optional<int32_t> eos;
};

// What the post-processor adds: nothing, a BOS in front, an EOS behind, or both, and the
// same around any text; anything else (BERT's [CLS] A [SEP] with no BOS named, a second
// sequence marker) has no GGUF key.
Result<Specials> probe_specials(const Tokenizer& tok) {
  Specials s;
  s.bos = tok.bos_id();
  s.eos = tok.eos_id();
  SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> empty, tok.encode("", true));
  if (empty.size() > 2) {
    return cannot_write("the post-processor adds " + std::to_string(empty.size()) +
                        " tokens to an empty text; GGUF can only say BOS and EOS");
  }
  if (empty.size() == 2) {
    s.add_bos = s.add_eos = true;
    if (s.bos && *s.bos != empty[0]) return cannot_write("the post-processor adds another BOS");
    if (s.eos && *s.eos != empty[1]) return cannot_write("the post-processor adds another EOS");
    s.bos = empty[0];
    s.eos = empty[1];
  } else if (empty.size() == 1) {
    if (s.eos && *s.eos == empty[0] && s.bos != s.eos) {
      s.add_eos = true;
    } else if (!s.bos || *s.bos == empty[0]) {
      s.add_bos = true;
      s.bos = empty[0];
    } else {
      return cannot_write("the post-processor adds token " + std::to_string(empty[0]) +
                          ", which is neither the BOS nor the EOS of tokenizer_config.json");
    }
  }
  SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> plain, tok.encode(PROBE_TEXT, false));
  SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> with, tok.encode(PROBE_TEXT, true));
  std::vector<int32_t> want;
  if (s.add_bos) want.push_back(*s.bos);
  want.insert(want.end(), plain.begin(), plain.end());
  if (s.add_eos) want.push_back(*s.eos);
  if (with != want) {
    return cannot_write(
        "the post-processor does not just add a BOS and/or an EOS around the "
        "text");
  }
  return s;
}

// The keys of an encoder model's other special tokens ([CLS], [SEP], [MASK]) and whether a
// pair gets a separator between its texts: [bos] A [eos] [sep] B [eos], as llama.cpp builds a
// reranking input. llama.cpp's WordPiece tokenizer always adds its BOS and separator around
// a text, so a WordPiece tokenizer must add exactly two tokens.
Status add_encoder_specials(const Tokenizer& tok, const boost::json::object& config,
                            const Specials& specials, bool wordpiece, GgufMetadata& out) {
  auto id_of = [&](std::string_view key) -> std::optional<int32_t> {
    auto text = config_token(config, key);
    return text ? tok.token_to_id(*text) : std::nullopt;
  };
  std::optional<int32_t> cls = id_of("cls_token");
  std::optional<int32_t> sep = id_of("sep_token");
  std::optional<int32_t> mask = id_of("mask_token");
  if (wordpiece) {
    if (!specials.add_bos || !specials.add_eos) {
      return cannot_write(
          "llama.cpp's WordPiece tokenizer adds a token before and after every text; this "
          "post-processor does not");
    }
    if (sep && sep != specials.eos)
      return cannot_write("the token after a text is not sep_token, as llama.cpp adds it");
    sep = specials.eos;
    if (!cls) cls = specials.bos;
  }
  if (!sep) sep = specials.eos;
  SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> one, tok.encode(PROBE_TEXT, false));
  SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> pair, tok.encode_pair(PROBE_TEXT, PROBE_TEXT, true));
  auto expected = [&](bool with_sep) {
    std::vector<int32_t> want;
    if (specials.add_bos) want.push_back(*specials.bos);
    want.insert(want.end(), one.begin(), one.end());
    if (specials.add_eos) want.push_back(*specials.eos);
    if (with_sep && sep) want.push_back(*sep);
    want.insert(want.end(), one.begin(), one.end());
    if (specials.add_eos) want.push_back(*specials.eos);
    return want;
  };
  bool add_sep = false;
  if (pair == expected(true) && sep) {
    add_sep = true;
  } else if (pair != expected(false)) {
    return cannot_write(
        "the post-processor's pair is not [bos] A [eos] [sep] B [eos], which is all GGUF can "
        "say of pairs");
  }
  auto add_id = [&](std::string_view key, std::optional<int32_t> id) {
    if (id) out.emplace_back(std::string(key), GgufValue::u32(static_cast<uint32_t>(*id)));
  };
  add_id(GGUF_KEY_CLS_ID, cls);
  add_id(GGUF_KEY_SEP_ID, sep);
  add_id(GGUF_KEY_MASK_ID, mask);
  out.emplace_back(std::string(GGUF_KEY_ADD_SEP), GgufValue::boolean(add_sep));
  return Status::ok();
}

void add_chat_templates(const boost::json::object& config, GgufMetadata& out) {
  const auto* t = config.if_contains("chat_template");
  if (t == nullptr) return;
  if (t->is_string()) {
    out.emplace_back(std::string(GGUF_KEY_CHAT_TEMPLATE),
                     GgufValue::str(std::string(t->as_string())));
    return;
  }
  if (!t->is_array()) return;
  // A list of named templates: "default" is the template, the others are named ones.
  for (const auto& item : t->as_array()) {
    if (!item.is_object()) continue;
    const auto* name = item.as_object().if_contains("name");
    const auto* text = item.as_object().if_contains("template");
    if (name == nullptr || text == nullptr || !name->is_string() || !text->is_string()) continue;
    std::string key(GGUF_KEY_CHAT_TEMPLATE);
    if (name->as_string() != "default") key += "." + std::string(name->as_string());
    out.emplace_back(std::move(key), GgufValue::str(std::string(text->as_string())));
  }
}

}  // namespace

Result<GgufMetadata> gguf_tokenizer_metadata(std::string_view tokenizer_json,
                                             std::string_view config_json) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::value root, json::parse(tokenizer_json));
  if (!root.is_object()) return invalid_argument("tokenizer.json must hold a JSON object");
  boost::json::object config;
  if (!config_json.empty()) {
    SOCLE_ASSIGN_OR_RETURN(boost::json::value c, json::parse(config_json));
    if (!c.is_object()) return invalid_argument("tokenizer_config.json must hold a JSON object");
    config = std::move(c.as_object());
  }
  const boost::json::object& o = root.as_object();
  SOCLE_ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::from_json(o, config));

  const auto& model = o.at("model").as_object();
  const auto* type = model.if_contains("type");
  std::string model_type =
      type != nullptr && type->is_string() ? std::string(type->as_string()) : "";
  bool wordpiece = model_type == "WordPiece";
  bool unigram = model_type == "Unigram";
  if (model_type != "BPE" && !wordpiece && !unigram) {
    return cannot_write("its model is '" + model_type +
                        "'; socle writes BPE (llama.cpp's gpt2 and llama models), WordPiece "
                        "(bert) and Unigram (t5)");
  }
  auto flag = [&](std::string_view key) {
    const auto* v = model.if_contains(key);
    return v != nullptr && v->is_bool() && v->as_bool();
  };
  static const boost::json::value null_value;
  auto component = [&](std::string_view key) -> const boost::json::value& {
    const auto* v = o.if_contains(key);
    return v == nullptr ? null_value : *v;
  };
  // BPE pipelines are named (gguf_pre_tokenizers.h); WordPiece and Unigram are checked
  // component by component when their keys are made (gguf_encoder_vocab.h).
  const GgufPipeline* pipeline = nullptr;
  if (!wordpiece && !unigram) {
    pipeline =
        gguf_pipeline_matching(component("normalizer"), component("pre_tokenizer"),
                               component("decoder"), flag("ignore_merges"), flag("byte_fallback"));
    if (pipeline == nullptr) {
      return cannot_write(
          "its normalizer, pre-tokenizer and decoder are none of those llama.cpp names: " +
          gguf_supported_pre_names() + ", or SentencePiece BPE as Llama 2 and Gemma 3 ship it");
    }
  }

  // Added tokens: GGUF says which ids they are (CONTROL, USER_DEFINED) and nothing else.
  bool has_normalizer =
      !canonical_component(component("normalizer"), ComponentKind::NORMALIZER).is_null();
  std::map<int32_t, bool> added_special;  // id -> special
  if (const auto* added = o.if_contains("added_tokens"); added != nullptr && added->is_array()) {
    for (const auto& a : added->as_array()) {
      const auto& t = a.as_object();
      std::string content(t.at("content").as_string());
      auto flag_of = [&](std::string_view key, bool fallback) {
        const auto* v = t.if_contains(key);
        return v != nullptr && v->is_bool() ? v->as_bool() : fallback;
      };
      bool special = flag_of("special", false);
      if (flag_of("lstrip", false) || flag_of("rstrip", false)) {
        return cannot_write("added token '" + content +
                            "' strips the spaces around it, which GGUF cannot say");
      }
      if (has_normalizer && flag_of("normalized", !special)) {
        return cannot_write("added token '" + content +
                            "' is matched after normalisation, which GGUF cannot say");
      }
      added_special[static_cast<int32_t>(t.at("id").to_number<int64_t>())] = special;
    }
  }

  std::optional<int32_t> unk;
  if (const auto* u = model.if_contains("unk_token"); u != nullptr && u->is_string()) {
    unk = tok.token_to_id(std::string_view(u->as_string()));
  } else if (wordpiece) {
    unk = tok.token_to_id("[UNK]");  // WordPiece's default unk_token
  }
  if (const auto* u = model.if_contains("unk_id"); unigram && u != nullptr && u->is_number()) {
    unk = static_cast<int32_t>(u->to_number<int64_t>());
  }
  if ((wordpiece || unigram) && !unk) return cannot_write("the model has no unknown token");
  const size_t n = tok.vocab_size();
  std::vector<std::string> tokens(n);
  std::vector<int32_t> types(n);
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < n; ++i) {
    auto id = static_cast<int32_t>(i);
    GgufTokenType t = GgufTokenType::NORMAL;
    if (auto text = tok.id_to_token(id)) {
      tokens[i] = std::move(*text);
      if (auto a = added_special.find(id); a != added_special.end())
        t = a->second ? GgufTokenType::CONTROL : GgufTokenType::USER_DEFINED;
      if (id == unk) t = GgufTokenType::UNKNOWN;
      if (t == GgufTokenType::NORMAL && pipeline != nullptr && pipeline->byte_fallback &&
          is_byte_token(tokens[i]))
        t = GgufTokenType::BYTE;
    } else {
      tokens[i] = "[PAD" + std::to_string(i) + "]";
      t = GgufTokenType::UNUSED;
    }
    types[i] = static_cast<int32_t>(t);
    if (tokens[i].empty()) return cannot_write("token " + std::to_string(i) + " is empty");
  }
  for (size_t i = 0; i < n; ++i) {
    if (!seen.insert(tokens[i]).second) {
      return cannot_write("two ids have the text '" + tokens[i] +
                          "' (llama.cpp needs each text once); the second is " + std::to_string(i));
    }
  }
  SOCLE_ASSIGN_OR_RETURN(Specials specials, probe_specials(tok));
  GgufMetadata out;
  if (wordpiece) {
    SOCLE_ASSIGN_OR_RETURN(out, gguf_wordpiece_keys(o, std::move(tokens), types));
  } else if (unigram) {
    SOCLE_ASSIGN_OR_RETURN(out, gguf_unigram_keys(o, std::move(tokens), types));
  } else {
    SOCLE_ASSIGN_OR_RETURN(std::vector<std::string> merges, merge_lines(model));
    out.emplace_back(std::string(GGUF_KEY_MODEL), GgufValue::str(std::string(pipeline->model)));
    out.emplace_back(std::string(GGUF_KEY_PRE), GgufValue::str(std::string(pipeline->pre)));
    out.emplace_back(std::string(GGUF_KEY_TOKENS), GgufValue::strings(tokens));
    out.emplace_back(std::string(GGUF_KEY_TOKEN_TYPE), GgufValue::i32s(types));
    if (pipeline->model == GGUF_MODEL_SENTENCEPIECE_BPE) {
      // llama.cpp merges SentencePiece symbols by the score of the token they form, highest
      // first: the rank of the first merge that forms each token, negated, gives the merges'
      // order. Tokens that no merge forms come last.
      auto last = static_cast<float>(merges.size());
      std::vector<float> scores(n, -last);
      for (size_t r = merges.size(); r-- > 0;) {
        std::string joined = merges[r];
        joined.erase(joined.find(' '), 1);
        if (auto id = tok.token_to_id(joined))
          scores[static_cast<size_t>(*id)] = -static_cast<float>(r);
      }
      out.emplace_back(std::string(GGUF_KEY_SCORES), GgufValue::f32s(scores));
    }
    out.emplace_back(std::string(GGUF_KEY_MERGES), GgufValue::strings(merges));
  }
  auto add_id = [&](std::string_view key, std::optional<int32_t> id) {
    if (id) out.emplace_back(std::string(key), GgufValue::u32(static_cast<uint32_t>(*id)));
  };
  add_id(GGUF_KEY_BOS_ID, specials.bos);
  add_id(GGUF_KEY_EOS_ID, specials.eos);
  add_id(GGUF_KEY_UNKNOWN_ID, unk);
  if (auto pad = config_token(config, "pad_token"))
    add_id(GGUF_KEY_PADDING_ID, tok.token_to_id(*pad));
  out.emplace_back(std::string(GGUF_KEY_ADD_BOS), GgufValue::boolean(specials.add_bos));
  out.emplace_back(std::string(GGUF_KEY_ADD_EOS), GgufValue::boolean(specials.add_eos));
  if (pipeline == nullptr) {
    SOCLE_RETURN_IF_ERROR(add_encoder_specials(tok, config, specials, wordpiece, out));
  }
  if (pipeline != nullptr && pipeline->model == GGUF_MODEL_SENTENCEPIECE_BPE) {
    out.emplace_back(std::string(GGUF_KEY_ADD_SPACE_PREFIX),
                     GgufValue::boolean(pipeline->add_space_prefix));
  }
  add_chat_templates(config, out);
  const auto* clean = config.if_contains("clean_up_tokenization_spaces");
  bool clean_up = clean == nullptr || !clean->is_bool() || clean->as_bool();
  // Encoder models always say it: no llama.cpp name stands for their default.
  if (pipeline == nullptr || clean_up != pipeline->clean_up_tokenization_spaces) {
    out.emplace_back(std::string(GGUF_KEY_CLEAN_UP), GgufValue::boolean(clean_up));
  }
  return out;
}

Result<GgufMetadata> gguf_tokenizer_metadata_from_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path file(path);
  if (fs::is_directory(file, ec)) file /= TOKENIZER_FILE;
  SOCLE_ASSIGN_OR_RETURN(TokenizerJsonFiles files, read_tokenizer_json_files(file.string()));
  auto keys = gguf_tokenizer_metadata(files.tokenizer, files.config);
  if (!keys.is_ok()) {
    return Status(keys.status().code(), file.string() + ": " + keys.status().message());
  }
  return keys;
}

Status gguf_write_tokenizer(const std::string& path, const GgufMetadata& tokenizer_keys,
                            std::string_view architecture, std::string_view name) {
  GgufMetadata all;
  all.reserve(tokenizer_keys.size() + 2);
  all.emplace_back("general.architecture", GgufValue::str(std::string(architecture)));
  all.emplace_back("general.name", GgufValue::str(std::string(name)));
  all.insert(all.end(), tokenizer_keys.begin(), tokenizer_keys.end());
  return gguf_write(path, all, {});
}

}  // namespace socle::engine::tokenizer
