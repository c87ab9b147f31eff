// The tokenizers of encoder models in GGUF, as llama.cpp's converter writes them and its
// vocabulary loader reads them (internal to the tokenizer folder; gguf_vocab.h is the
// interface):
//
//   "bert"  WordPiece (llama.cpp's WPM). Tokens in llama.cpp's "phantom space" form: a
//           word-initial token "foo" is written "▁foo", a continuation "##foo" is written
//           "foo"; added tokens (control, user-defined, unknown) keep their text.
//           tokenizer.ggml.normalizer.lowercase and .strip_accents carry BertNormalizer's
//           options; the pre-tokenizer is BertPreTokenizer and the decoder WordPiece ("##",
//           cleanup). Only Hugging Face's defaults of the other options are written: clean_text
//           and handle_chinese_chars on, the "##" prefix, 100 characters per word at most.
//   "t5"    Unigram (llama.cpp's UGM): tokens and their log-probabilities (tokenizer.ggml.scores,
//           float32), tokenizer.ggml.precompiled_charsmap (SentencePiece's Precompiled
//           normalizer, raw bytes as uint8), tokenizer.ggml.add_space_prefix (Metaspace's
//           prepend_scheme "always" or "never") and tokenizer.ggml.remove_extra_whitespaces
//           (the Replace of runs of spaces by one that Hugging Face's converter appends).
//           Scores that float32 does not hold exactly are also written as float64 in
//           tokenizer.huggingface.scores, which socle reads first (llama.cpp ignores it), so
//           that no Viterbi tie is decided differently from tokenizer.json.
//
// Both add [CLS]/<s> before a text and [SEP]/</s> after it (add_bos_token, add_eos_token), and
// before a second text of a pair the separator when tokenizer.ggml.add_sep_token says so, as
// llama.cpp's reranking input does: [bos] A [eos] [sep] B [eos].
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/tokenizer/gguf_vocab.h"

namespace socle::engine::tokenizer {

class Normalizer;
class PreTokenizer;
class Model;
class Decoder;

inline constexpr std::string_view GGUF_MODEL_WORDPIECE = "bert";
inline constexpr std::string_view GGUF_MODEL_UNIGRAM = "t5";

// Writing. `tokenizer` is tokenizer.json's content; `tokens` and `types` the token texts and
// GgufTokenType values by id, as the writer built them from it. Returns tokenizer.ggml.model,
// .pre, .tokens (converted), .token_type and the model's own keys; INVALID_ARGUMENT, naming it,
// for a component or option that the keys cannot carry.
Result<GgufMetadata> gguf_wordpiece_keys(const boost::json::object& tokenizer,
                                         std::vector<std::string> tokens,
                                         const std::vector<int32_t>& types);
Result<GgufMetadata> gguf_unigram_keys(const boost::json::object& tokenizer,
                                       std::vector<std::string> tokens,
                                       const std::vector<int32_t>& types);

// Reading: the stages that a "bert" or "t5" file stands for (the added tokens and the
// post-processor are the caller's). `tokens` and `types` are by id, `filler[id]` marks ids
// that stand for no token, `unk` is the unknown token's id.
struct GgufEncoderStages {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<Decoder> decoder;
};
Result<GgufEncoderStages> gguf_wordpiece_stages(const GgufFile& file,
                                                const std::vector<GgufValue>& tokens,
                                                const std::vector<GgufTokenType>& types,
                                                const std::vector<bool>& filler, int32_t unk);
Result<GgufEncoderStages> gguf_unigram_stages(const GgufFile& file,
                                              const std::vector<GgufValue>& tokens,
                                              const std::vector<bool>& filler, int32_t unk);

}  // namespace socle::engine::tokenizer
