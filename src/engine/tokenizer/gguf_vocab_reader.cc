// From GGUF's tokenizer keys to a tokenizer (gguf_vocab.h): the names pick the normalizer,
// pre-tokenizer and decoder (gguf_pre_tokenizers.h), the token list and merges make the BPE
// model, the token types make the added tokens, add_bos_token and add_eos_token make the
// post-processor. WordPiece ("bert") and Unigram ("t5") files build their stages in
// gguf_encoder_vocab.cc. Every array is checked against the token count before it is used.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <map>

#include "engine/tokenizer/bpe.h"
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/gguf_encoder_vocab.h"
#include "engine/tokenizer/gguf_keys.h"
#include "engine/tokenizer/gguf_pre_tokenizers.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/post_processor.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace socle::engine::tokenizer {

namespace {

// llama.cpp's special ids for a "llama" (SentencePiece) file that does not name them.
constexpr int32_t SENTENCEPIECE_DEFAULT_BOS = 1;
constexpr int32_t SENTENCEPIECE_DEFAULT_EOS = 2;
constexpr int32_t SENTENCEPIECE_DEFAULT_UNK = 0;
// ... and for a "bert" (BERT's uncased vocabulary) and a "t5" one.
constexpr int32_t WORDPIECE_DEFAULT_CLS = 101;
constexpr int32_t WORDPIECE_DEFAULT_UNK = 100;
constexpr int32_t WORDPIECE_DEFAULT_SEP = 102;
constexpr int32_t UNIGRAM_DEFAULT_EOS = 1;
constexpr int32_t UNIGRAM_DEFAULT_UNK = 2;
// A UTF-8 continuation byte is 10xxxxxx.
constexpr unsigned char UTF8_CONTINUATION_MASK = 0xC0;
constexpr unsigned char UTF8_CONTINUATION_BITS = 0x80;

Status bad_key(std::string_view key, const std::string& why) {
  return invalid_argument("GGUF tokenizer: " + std::string(key) + " " + why);
}

Result<std::string> string_key(const GgufFile& f, std::string_view key, bool required) {
  const GgufValue* v = f.value(key);
  if (v == nullptr) {
    if (required) return bad_key(key, "is missing");
    return std::string();
  }
  if (v->type != GgufType::STRING) return bad_key(key, "must be a string");
  return v->s;
}

Result<bool> bool_key(const GgufFile& f, std::string_view key, bool fallback) {
  const GgufValue* v = f.value(key);
  if (v == nullptr) return fallback;
  if (v->type != GgufType::BOOL) return bad_key(key, "must be a bool");
  return v->b;
}

// An array of `element` with at least `min_size` entries; null when absent and not required.
Result<const GgufValue*> array_key(const GgufFile& f, std::string_view key, GgufType element,
                                   size_t min_size, bool required) {
  const GgufValue* v = f.value(key);
  if (v == nullptr) {
    if (required) return bad_key(key, "is missing");
    return nullptr;
  }
  if (v->type != GgufType::ARRAY || v->array_type != element) {
    return bad_key(key, "must be an array of " + std::to_string(static_cast<uint32_t>(element)) +
                            " (GGUF type)");
  }
  if (v->array.size() < min_size) {
    return bad_key(key, "has " + std::to_string(v->array.size()) + " entries for " +
                            std::to_string(min_size) + " tokens");
  }
  return v;
}

// A token id key: nothing when absent, an error when it is not a token of the list.
Result<std::optional<int32_t>> id_key(const GgufFile& f, std::string_view key, size_t n_tokens) {
  const GgufValue* v = f.value(key);
  if (v == nullptr) return std::optional<int32_t>();
  auto id = v->as_count();
  if (!id || *id >= n_tokens) return bad_key(key, "is not the id of a token");
  return std::optional<int32_t>(static_cast<int32_t>(*id));
}

// What the tokenizer keys say, checked.
struct Keys {
  std::string model;                       // tokenizer.ggml.model
  const GgufPipeline* pipeline = nullptr;  // null for the encoder models (bert, t5)
  const std::vector<GgufValue>* tokens = nullptr;
  std::vector<GgufTokenType> types;
  std::optional<int32_t> bos;
  std::optional<int32_t> eos;
  std::optional<int32_t> unk;
  std::optional<int32_t> pad;
  std::optional<int32_t> sep;
  bool add_bos = false;
  bool add_eos = false;
  bool add_sep = false;
  bool clean_up = false;

  std::string_view text(int32_t id) const { return (*tokens)[static_cast<size_t>(id)].s; }
};

// Ids that llama.cpp's converter fills with "[PAD<id>]" stand for no token.
bool is_filler(const Keys& k, size_t id) {
  std::string_view t = (*k.tokens)[id].s;
  return t.empty() ||
         (k.types[id] == GgufTokenType::UNUSED && t == "[PAD" + std::to_string(id) + "]");
}

Result<Keys> read_keys(const GgufFile& f) {
  Keys k;
  SOCLE_ASSIGN_OR_RETURN(std::string model, string_key(f, GGUF_KEY_MODEL, true));
  SOCLE_ASSIGN_OR_RETURN(std::string pre, string_key(f, GGUF_KEY_PRE, false));
  bool sentencepiece = model == GGUF_MODEL_SENTENCEPIECE_BPE;
  bool wordpiece = model == GGUF_MODEL_WORDPIECE;
  bool unigram = model == GGUF_MODEL_UNIGRAM;
  k.model = model;
  if (wordpiece || unigram) {
    // Their pipelines are fixed (gguf_encoder_vocab.h); tokenizer.ggml.pre is ignored.
  } else if (model == GGUF_MODEL_BYTE_LEVEL_BPE) {
    k.pipeline = gguf_pipeline_by_pre(pre);
    if (k.pipeline == nullptr) {
      return bad_key(GGUF_KEY_PRE, "is '" + pre +
                                       "', a pre-tokenizer socle does not know; it knows " +
                                       gguf_supported_pre_names());
    }
  } else if (sentencepiece) {
    SOCLE_ASSIGN_OR_RETURN(bool prefix, bool_key(f, GGUF_KEY_ADD_SPACE_PREFIX, true));
    SOCLE_ASSIGN_OR_RETURN(bool squeeze, bool_key(f, GGUF_KEY_REMOVE_EXTRA_WHITESPACES, false));
    if (squeeze) return bad_key(GGUF_KEY_REMOVE_EXTRA_WHITESPACES, "is true: not supported");
    k.pipeline = gguf_sentencepiece_pipeline(prefix);
  } else {
    return bad_key(GGUF_KEY_MODEL,
                   "is '" + model + "'; socle reads '" + std::string(GGUF_MODEL_BYTE_LEVEL_BPE) +
                       "' (byte-level BPE), '" + std::string(GGUF_MODEL_SENTENCEPIECE_BPE) +
                       "' (SentencePiece BPE), '" + std::string(GGUF_MODEL_WORDPIECE) +
                       "' (WordPiece) and '" + std::string(GGUF_MODEL_UNIGRAM) + "' (Unigram)");
  }
  SOCLE_ASSIGN_OR_RETURN(const GgufValue* tokens,
                         array_key(f, GGUF_KEY_TOKENS, GgufType::STRING, 0, true));
  k.tokens = &tokens->array;
  const size_t n = k.tokens->size();
  if (n == 0 || n > static_cast<size_t>(INT32_MAX)) return bad_key(GGUF_KEY_TOKENS, "is empty");
  SOCLE_ASSIGN_OR_RETURN(const GgufValue* types,
                         array_key(f, GGUF_KEY_TOKEN_TYPE, GgufType::INT32, n, false));
  k.types.assign(n, GgufTokenType::NORMAL);
  if (types != nullptr) {
    for (size_t i = 0; i < n; ++i) {
      int64_t t = types->array[i].i;
      bool known = t >= static_cast<int64_t>(GgufTokenType::UNDEFINED) &&
                   t <= static_cast<int64_t>(GgufTokenType::BYTE);
      k.types[i] = known ? static_cast<GgufTokenType>(t) : GgufTokenType::UNDEFINED;
    }
  }
  SOCLE_ASSIGN_OR_RETURN(k.bos, id_key(f, GGUF_KEY_BOS_ID, n));
  SOCLE_ASSIGN_OR_RETURN(k.eos, id_key(f, GGUF_KEY_EOS_ID, n));
  SOCLE_ASSIGN_OR_RETURN(k.unk, id_key(f, GGUF_KEY_UNKNOWN_ID, n));
  SOCLE_ASSIGN_OR_RETURN(k.pad, id_key(f, GGUF_KEY_PADDING_ID, n));
  SOCLE_ASSIGN_OR_RETURN(k.sep, id_key(f, GGUF_KEY_SEP_ID, n));
  // llama.cpp's defaults for files that do not name their special tokens, which older
  // converters relied on.
  auto fallback = [&](std::optional<int32_t>& id, int32_t value) {
    if (!id && static_cast<size_t>(value) < n) id = value;
  };
  if (sentencepiece) {
    fallback(k.bos, SENTENCEPIECE_DEFAULT_BOS);
    fallback(k.eos, SENTENCEPIECE_DEFAULT_EOS);
    fallback(k.unk, SENTENCEPIECE_DEFAULT_UNK);
  } else if (wordpiece) {
    fallback(k.bos, WORDPIECE_DEFAULT_CLS);
    fallback(k.unk, WORDPIECE_DEFAULT_UNK);
    fallback(k.sep, WORDPIECE_DEFAULT_SEP);
  } else if (unigram) {
    fallback(k.eos, UNIGRAM_DEFAULT_EOS);
    fallback(k.unk, UNIGRAM_DEFAULT_UNK);
  }
  // llama.cpp adds a BOS by default for SentencePiece, WordPiece and Llama 3's
  // pre-tokenizer, an EOS for Unigram.
  bool bos_default =
      sentencepiece || wordpiece || (k.pipeline != nullptr && k.pipeline->pre == "llama-bpe");
  SOCLE_ASSIGN_OR_RETURN(k.add_bos, bool_key(f, GGUF_KEY_ADD_BOS, bos_default));
  SOCLE_ASSIGN_OR_RETURN(k.add_eos, bool_key(f, GGUF_KEY_ADD_EOS, unigram));
  SOCLE_ASSIGN_OR_RETURN(k.add_sep, bool_key(f, GGUF_KEY_ADD_SEP, false));
  if (wordpiece) {
    // llama.cpp's WordPiece tokenizer ignores add_bos_token and add_eos_token: it always
    // puts the BOS ([CLS]) before a text and the separator ([SEP]) after it.
    if (!k.sep) k.sep = k.eos;
    if (!k.bos || !k.sep) {
      return bad_key(GGUF_KEY_SEP_ID, "or " + std::string(GGUF_KEY_BOS_ID) +
                                          " is missing: a WordPiece file needs both");
    }
    k.add_bos = k.add_eos = true;
    k.eos = k.sep;
  }
  if (k.add_bos && !k.bos) return bad_key(GGUF_KEY_ADD_BOS, "is true but there is no BOS id");
  if (k.add_eos && !k.eos) return bad_key(GGUF_KEY_ADD_EOS, "is true but there is no EOS id");
  if (k.add_sep && !k.sep) {
    if (!k.eos) return bad_key(GGUF_KEY_ADD_SEP, "is true but there is no separator id");
    k.sep = k.eos;
  }
  if ((wordpiece || unigram) && (!k.unk || is_filler(k, static_cast<size_t>(*k.unk)))) {
    return bad_key(GGUF_KEY_UNKNOWN_ID, "is missing: a WordPiece or Unigram file needs one");
  }
  bool clean_default = k.pipeline == nullptr || k.pipeline->clean_up_tokenization_spaces;
  SOCLE_ASSIGN_OR_RETURN(k.clean_up, bool_key(f, GGUF_KEY_CLEAN_UP, clean_default));
  return k;
}

bool is_added(GgufTokenType t) {
  return t == GgufTokenType::CONTROL || t == GgufTokenType::USER_DEFINED ||
         t == GgufTokenType::UNKNOWN;
}

// The merges of a file that has none: a SentencePiece file keeps a score per token, and
// llama.cpp merges the adjacent pair that forms the token of highest score, leftmost first.
// Every split of a token into two tokens is a merge whose rank is its score's place.
void merges_from_scores(const Vocab& vocab, const std::vector<float>& scores,
                        std::vector<std::pair<std::string, std::string>>& merges,
                        std::vector<int32_t>& ranks) {
  std::vector<float> distinct;
  std::vector<std::pair<float, std::pair<std::string, std::string>>> found;
  for (size_t id = 0; id < vocab.id_limit(); ++id) {
    auto text = vocab.token(static_cast<int32_t>(id));
    if (!text) continue;
    for (size_t cut = 1; cut < text->size(); ++cut) {
      // Only at character boundaries: no UTF-8 continuation byte starts the right part.
      if ((static_cast<unsigned char>((*text)[cut]) & UTF8_CONTINUATION_MASK) ==
          UTF8_CONTINUATION_BITS) {
        continue;
      }
      std::string_view left = text->substr(0, cut);
      std::string_view right = text->substr(cut);
      if (vocab.contains(left) && vocab.contains(right)) {
        found.push_back({scores[id], {std::string(left), std::string(right)}});
      }
    }
  }
  distinct.reserve(found.size());
  ranks.reserve(found.size());
  merges.reserve(found.size());
  for (const auto& f : found)
    distinct.push_back(f.first);
  std::sort(distinct.begin(), distinct.end(), std::greater<>());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  for (auto& f : found) {
    auto place = std::lower_bound(distinct.begin(), distinct.end(), f.first, std::greater<>());
    ranks.push_back(static_cast<int32_t>(place - distinct.begin()));
    merges.push_back(std::move(f.second));
  }
}

Result<std::unique_ptr<Model>> read_model(const GgufFile& f, const Keys& k) {
  const size_t n = k.tokens->size();
  Vocab vocab;
  for (size_t i = 0; i < n; ++i) {
    if (is_filler(k, i)) continue;
    if (vocab.contains((*k.tokens)[i].s)) {
      return bad_key(GGUF_KEY_TOKENS, "holds '" + (*k.tokens)[i].s + "' twice (again at id " +
                                          std::to_string(i) + ")");
    }
    vocab.add((*k.tokens)[i].s, static_cast<int32_t>(i));
  }
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<int32_t> ranks;
  bool sentencepiece = k.pipeline->model == GGUF_MODEL_SENTENCEPIECE_BPE;
  SOCLE_ASSIGN_OR_RETURN(const GgufValue* lines,
                         array_key(f, GGUF_KEY_MERGES, GgufType::STRING, 0, !sentencepiece));
  if (lines != nullptr) {
    merges.reserve(lines->array.size());
    for (size_t i = 0; i < lines->array.size(); ++i) {
      const std::string& line = lines->array[i].s;
      // As llama.cpp reads them: cut at the first space after the first byte.
      size_t space = line.find(' ', 1);
      if (space == std::string::npos) {
        return bad_key(GGUF_KEY_MERGES, "entry " + std::to_string(i) + " ('" + line +
                                            "') is not two tokens separated by a space");
      }
      merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    }
  } else {
    SOCLE_ASSIGN_OR_RETURN(const GgufValue* score_values,
                           array_key(f, GGUF_KEY_SCORES, GgufType::FLOAT32, n, true));
    std::vector<float> scores(n);
    for (size_t i = 0; i < n; ++i)
      scores[i] = static_cast<float>(score_values->array[i].f);
    merges_from_scores(vocab, scores, merges, ranks);
  }
  BpeOptions options;
  if (k.unk && !is_filler(k, static_cast<size_t>(*k.unk)))
    options.unk_token = std::string(k.text(*k.unk));
  options.byte_fallback = k.pipeline->byte_fallback;
  options.fuse_unk = k.pipeline->fuse_unk;
  options.ignore_merges = k.pipeline->ignore_merges;
  auto bpe = Bpe::create(std::move(vocab), merges, std::move(options), ranks);
  if (!bpe.is_ok()) return Status(bpe.status().code(), "GGUF tokenizer: " + bpe.status().message());
  return std::unique_ptr<Model>(std::move(bpe).value());
}

// [BOS] A [EOS], as add_bos_token and add_eos_token say; null when neither is added.
boost::json::value post_processor_json(const Keys& k) {
  if (!k.add_bos && !k.add_eos && !(k.pipeline == nullptr && k.add_sep)) return nullptr;
  boost::json::object specials;
  auto sequence = [&](std::string_view name) {
    boost::json::array items;
    auto special = [&](std::string_view label) {
      items.push_back(boost::json::object{{"SpecialToken", {{"id", label}, {"type_id", 0}}}});
    };
    if (k.add_bos) special("BOS");
    items.push_back(boost::json::object{{"Sequence", {{"id", name}, {"type_id", 0}}}});
    if (k.add_eos) special("EOS");
    return items;
  };
  auto special_token = [&](std::string_view label, int32_t id) {
    boost::json::object t;
    t["id"] = label;
    t["ids"] = boost::json::array{id};
    t["tokens"] = boost::json::array{k.text(id)};
    specials[label] = std::move(t);
  };
  if (k.add_bos) special_token("BOS", *k.bos);
  if (k.add_eos) special_token("EOS", *k.eos);
  boost::json::array pair = sequence("A");
  if (k.pipeline == nullptr) {
    // Encoder models: [bos] A [eos] [sep] B [eos], as llama.cpp builds a reranking input.
    if (k.add_sep) {
      pair.push_back(boost::json::object{{"SpecialToken", {{"id", "SEP"}, {"type_id", 0}}}});
      special_token("SEP", *k.sep);
    }
    boost::json::array second = sequence("B");
    if (k.add_bos) second.erase(second.begin());
    for (auto& item : second)
      pair.push_back(std::move(item));
  } else {
    for (auto& item : sequence("B"))
      pair.push_back(std::move(item));
  }
  return boost::json::object{{"type", "TemplateProcessing"},
                             {"single", sequence("A")},
                             {"pair", std::move(pair)},
                             {"special_tokens", std::move(specials)}};
}

boost::json::object config_json(const GgufFile& f, const Keys& k) {
  boost::json::object config;
  if (k.bos) config["bos_token"] = k.text(*k.bos);
  if (k.eos) config["eos_token"] = k.text(*k.eos);
  if (k.pad) config["pad_token"] = k.text(*k.pad);
  if (const GgufValue* t = f.value(GGUF_KEY_CHAT_TEMPLATE);
      t != nullptr && t->type == GgufType::STRING)
    config["chat_template"] = t->s;
  config["clean_up_tokenization_spaces"] = k.clean_up;
  return config;
}

}  // namespace

Result<boost::json::object> gguf_tokenizer_config(const GgufFile& file) {
  SOCLE_ASSIGN_OR_RETURN(Keys k, read_keys(file));
  return config_json(file, k);
}

Result<Tokenizer> tokenizer_from_gguf(const GgufFile& file) {
  SOCLE_ASSIGN_OR_RETURN(Keys k, read_keys(file));
  TokenizerParts parts;
  if (k.pipeline == nullptr) {
    std::vector<bool> filler(k.tokens->size());
    for (size_t i = 0; i < filler.size(); ++i)
      filler[i] = is_filler(k, i);
    GgufEncoderStages stages;
    if (k.model == GGUF_MODEL_WORDPIECE) {
      SOCLE_ASSIGN_OR_RETURN(stages,
                             gguf_wordpiece_stages(file, *k.tokens, k.types, filler, *k.unk));
    } else {
      SOCLE_ASSIGN_OR_RETURN(stages, gguf_unigram_stages(file, *k.tokens, filler, *k.unk));
    }
    parts.normalizer = std::move(stages.normalizer);
    parts.pre_tokenizer = std::move(stages.pre_tokenizer);
    parts.model = std::move(stages.model);
    parts.decoder = std::move(stages.decoder);
  } else {
    SOCLE_ASSIGN_OR_RETURN(parts.normalizer,
                           normalizer_from_json(boost::json::parse(k.pipeline->normalizer)));
    SOCLE_ASSIGN_OR_RETURN(parts.pre_tokenizer,
                           pre_tokenizer_from_json(boost::json::parse(k.pipeline->pre_tokenizer)));
    SOCLE_ASSIGN_OR_RETURN(parts.decoder,
                           decoder_from_json(boost::json::parse(k.pipeline->decoder)));
    SOCLE_ASSIGN_OR_RETURN(parts.model, read_model(file, k));
  }
  SOCLE_ASSIGN_OR_RETURN(parts.post_processor, post_processor_from_json(post_processor_json(k)));
  // Control, user-defined and unknown tokens are cut out of the raw text before the model
  // sees it, as llama.cpp does; the control and unknown ones are special (skipped when
  // decoding without special tokens).
  boost::json::array added;
  for (size_t i = 0; i < k.tokens->size(); ++i) {
    if (!is_added(k.types[i]) || is_filler(k, i)) continue;
    added.push_back({{"id", i},
                     {"content", (*k.tokens)[i].s},
                     {"special", k.types[i] != GgufTokenType::USER_DEFINED},
                     {"normalized", false}});
  }
  auto list = AddedTokens::from_json(added);
  if (!list.is_ok())
    return Status(list.status().code(), "GGUF tokenizer: " + list.status().message());
  parts.added = std::move(list).value();
  return Tokenizer::from_parts(std::move(parts), config_json(file, k));
}

}  // namespace socle::engine::tokenizer
