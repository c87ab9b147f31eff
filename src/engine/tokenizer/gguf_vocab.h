// The tokenizer of a GGUF file, both ways, in the keys llama.cpp reads:
//
//   tokenizer.ggml.model        "gpt2" (byte-level BPE), "llama" (SentencePiece BPE with
//                               byte fallback), "bert" (WordPiece) or "t5" (Unigram); the
//                               last two and their own keys: gguf_encoder_vocab.h
//   tokenizer.ggml.pre          llama.cpp's pre-tokenizer name ("gpt2" models): llama-bpe,
//                               qwen2, deepseek-v3, gpt-4o (gguf_pre_tokenizers.h); "default"
//                               for "llama" models, where llama.cpp ignores it
//   tokenizer.ggml.tokens       every token text, by id; ids no token has are written as
//                               "[PAD<id>]" of type UNUSED, as llama.cpp's converter does
//   tokenizer.ggml.token_type   GgufTokenType by id
//   tokenizer.ggml.merges       "left right", highest priority first
//   tokenizer.ggml.scores       "llama" models: the priority of each token as a merge result
//   tokenizer.ggml.{bos,eos,unknown,padding}_token_id, add_bos_token, add_eos_token,
//   tokenizer.ggml.add_space_prefix ("llama"), tokenizer.chat_template
//
// Writing starts from a Hugging Face tokenizer (tokenizer.json and tokenizer_config.json)
// and refuses what GGUF cannot carry (added tokens that strip spaces, a pipeline that no
// llama.cpp name stands for) rather than write a file that tokenizes differently. Reading
// builds the Hugging Face pipeline that the names stand for, so that a tokenizer written
// from tokenizer.json and read back gives the same ids and texts; a name socle does not know
// is refused, naming it and the known ones.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/format/gguf.h"

namespace socle::engine::tokenizer {

class Tokenizer;

// llama.cpp's token types (tokenizer.ggml.token_type), numbered as on disk.
enum class GgufTokenType : int32_t {
  UNDEFINED = 0,
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,       // a special added token (<|eot_id|>, <s>)
  USER_DEFINED = 4,  // a non-special added token, cut out of the text like a special one
  UNUSED = 5,
  BYTE = 6,  // <0x00>..<0xFF> of a byte-fallback model
};

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

// The tokenizer.* keys of the Hugging Face tokenizer in `tokenizer_json` (tokenizer.json's
// content) and `config_json` (tokenizer_config.json's, or empty). INVALID_ARGUMENT, naming
// the cause, for a tokenizer that GGUF cannot carry exactly.
Result<GgufMetadata> gguf_tokenizer_metadata(std::string_view tokenizer_json,
                                             std::string_view config_json);
// The same, from a tokenizer.json file or a folder holding one (and its
// tokenizer_config.json, when present).
Result<GgufMetadata> gguf_tokenizer_metadata_from_path(const std::string& path);

// A vocabulary-only GGUF file at `path` (no tensors; llama.cpp loads such files with
// vocab_only): general.architecture = `architecture`, general.name = `name`, then
// `tokenizer_keys`.
Status gguf_write_tokenizer(const std::string& path, const GgufMetadata& tokenizer_keys,
                            std::string_view architecture, std::string_view name);

// The tokenizer that the tokenizer.* keys of `file` describe.
Result<Tokenizer> tokenizer_from_gguf(const GgufFile& file);

// What `file` holds of tokenizer_config.json: bos_token, eos_token, pad_token (token texts),
// chat_template (when present) and clean_up_tokenization_spaces. For chat templates.
Result<boost::json::object> gguf_tokenizer_config(const GgufFile& file);

}  // namespace socle::engine::tokenizer
