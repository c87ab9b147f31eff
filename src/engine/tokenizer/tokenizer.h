// A Hugging Face tokenizer loaded from tokenizer.json (and tokenizer_config.json): text to
// token ids and back, giving the ids that the reference implementations give.
//
// Encoding runs the pipeline of the file: added tokens are cut out of the raw text, each
// remaining section is normalized, pre-tokenized and tokenized by the model, and the
// post-processor adds the special tokens (BOS, [CLS] ... [SEP]) when asked to. A file that
// names a component or option socle does not implement is refused at load, naming it.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/tokenizer/added_tokens.h"

namespace socle::engine::tokenizer {

class Normalizer;
class PreTokenizer;
class Model;
class PostProcessor;
class Decoder;

struct DecodeOptions {
  // Leave out special tokens (those marked special, and tokenizer_config's
  // additional_special_tokens).
  bool skip_special_tokens = false;
  // Apply transformers' clean_up_tokenization (" ." -> "." ...); unset: as
  // tokenizer_config.json says (true when it says nothing, as transformers.js).
  std::optional<bool> clean_up_tokenization_spaces;
};

// The stages of a tokenizer, for a caller that builds them from another description than
// tokenizer.json (a GGUF file). Only the model is required.
struct TokenizerParts {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  AddedTokens added;
};

// A tokenizer.json file's text and that of the tokenizer_config.json beside it ("" when
// there is none), for the loaders of both (Tokenizer::load, the GGUF writer).
struct TokenizerJsonFiles {
  std::string tokenizer;
  std::string config;
};
Result<TokenizerJsonFiles> read_tokenizer_json_files(const std::string& tokenizer_json_path);

class Tokenizer {
 public:
  // `tokenizer_json` is the content of tokenizer.json; `config_json` that of
  // tokenizer_config.json, or empty when there is none.
  static Result<Tokenizer> from_json(std::string_view tokenizer_json, std::string_view config_json);
  // The same, parsed.
  static Result<Tokenizer> from_json(const boost::json::object& tokenizer,
                                     const boost::json::object& config);
  // Assembles `parts`; `config` is read as tokenizer_config.json is (bos_token, eos_token,
  // additional_special_tokens, clean_up_tokenization_spaces).
  static Result<Tokenizer> from_parts(TokenizerParts parts, const boost::json::object& config);
  // Loads a tokenizer.json file, a GGUF file (see gguf_vocab.h), or a folder holding a
  // tokenizer.json or else a single .gguf file; tokenizer_config.json beside a tokenizer.json
  // is read when present.
  static Result<Tokenizer> load(const std::string& path);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Token ids of `text` (UTF-8; anything else is INVALID_ARGUMENT).
  Result<std::vector<int32_t>> encode(std::string_view text, bool add_special_tokens) const;
  // Token ids of a pair of texts (a query and a passage for a cross-encoder).
  Result<std::vector<int32_t>> encode_pair(std::string_view a, std::string_view b,
                                           bool add_special_tokens) const;
  // Empties the model's word cache (BPE keeps the ids of recent pieces); the ids do not
  // depend on it. For benchmarks that measure encoding without the cache.
  void clear_cache() const;

  // The text of `ids`, always valid UTF-8 (ill-formed bytes become U+FFFD). Ids that no
  // token has are left out.
  std::string decode(std::span<const int32_t> ids, const DecodeOptions& options = {}) const;
  // The bytes the decoder produces, without sanitising or clean-up: may end inside a
  // character when the ids do. For the streaming detokenizer.
  std::string decode_bytes(std::span<const int32_t> ids, bool skip_special_tokens) const;

  // Whether decoding `id` contributes a token text (false for ids no token has, and for
  // special tokens when they are skipped).
  bool has_piece(int32_t id, bool skip_special_tokens) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  // One past the largest id of the model or the added tokens.
  size_t vocab_size() const;
  bool is_special(int32_t id) const;

  // tokenizer_config.json's bos_token and eos_token, when they name a known token.
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }

 private:
  Tokenizer();
  Status encode_text(std::string_view text, std::vector<int32_t>& ids) const;
  Status encode_normalized(std::string_view text, bool first_section,
                           std::vector<int32_t>& ids) const;

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  AddedTokens added_;
  std::vector<bool> special_;  // by id
  std::optional<int32_t> bos_id_;
  std::optional<int32_t> eos_id_;
  bool clean_up_tokenization_spaces_ = true;
};

}  // namespace socle::engine::tokenizer
