// The tokenizer pipelines that a GGUF file names by llama.cpp's keys: tokenizer.ggml.model
// ("gpt2": byte-level BPE; "llama": SentencePiece BPE with byte fallback), tokenizer.ggml.pre
// (llama.cpp's pre-tokenizer name, for "gpt2") and tokenizer.ggml.add_space_prefix (for
// "llama"). Each entry is the normalizer, pre-tokenizer and decoder of the Hugging Face
// tokenizer.json that the name stands for, written as that file writes them.
//
// GGUF carries names, not pipelines: a name socle has no entry for is refused rather than
// guessed, so that no file is ever tokenized with the wrong regular expressions.
#pragma once

#include <boost/json/value.hpp>
#include <span>
#include <string>
#include <string_view>

namespace socle::engine::tokenizer {

inline constexpr std::string_view GGUF_MODEL_BYTE_LEVEL_BPE = "gpt2";
inline constexpr std::string_view GGUF_MODEL_SENTENCEPIECE_BPE = "llama";

struct GgufPipeline {
  std::string_view model{};  // tokenizer.ggml.model
  std::string_view pre{};    // tokenizer.ggml.pre, as socle writes it
  // Further names llama.cpp gives the same pre-tokenizer, accepted when reading.
  std::span<const std::string_view> aliases{};
  bool add_space_prefix = false;  // tokenizer.ggml.add_space_prefix ("llama" only)
  // The tokenizer.json components, in the canonical form of canonical_component().
  std::string_view normalizer{};
  std::string_view pre_tokenizer{};
  std::string_view decoder{};
  // The BPE model's options.
  bool ignore_merges = false;
  bool byte_fallback = false;
  bool fuse_unk = false;
  // tokenizer_config.json's clean_up_tokenization_spaces in the model the name stands for.
  bool clean_up_tokenization_spaces = false;
  std::string_view source{};  // the model whose tokenizer.json this is, for messages
};

// Every pipeline socle reads and writes.
std::span<const GgufPipeline> gguf_pipelines();

// The entry of a "gpt2" file by its tokenizer.ggml.pre (or an alias); null when unknown.
const GgufPipeline* gguf_pipeline_by_pre(std::string_view pre);
// The entry of a "llama" file; tokenizer.ggml.pre does not change a SentencePiece model.
const GgufPipeline* gguf_sentencepiece_pipeline(bool add_space_prefix);
// The names socle reads, for error messages: "llama-bpe (Llama 3), qwen2 (Qwen 2.5 and 3)...".
std::string gguf_supported_pre_names();

enum class ComponentKind { NORMALIZER, PRE_TOKENIZER, DECODER };

// `component` without the options that change neither ids nor decoded text: ByteLevel's
// trim_offsets (offsets only) and, in decoders, its add_prefix_space and use_regex (which
// decoding ignores); an empty Sequence becomes null. Two tokenizer.json components with
// equal canonical forms tokenize and decode alike.
boost::json::value canonical_component(const boost::json::value& component, ComponentKind kind);

// The entry whose components and model options equal those given (canonical forms);
// null when none does.
const GgufPipeline* gguf_pipeline_matching(const boost::json::value& normalizer,
                                           const boost::json::value& pre_tokenizer,
                                           const boost::json::value& decoder, bool ignore_merges,
                                           bool byte_fallback);

}  // namespace socle::engine::tokenizer
