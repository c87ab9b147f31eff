// The GGUF metadata keys of a tokenizer, as llama.cpp names them (gguf_vocab.h says what
// each holds). Internal to the tokenizer folder.
#pragma once

#include <string_view>

namespace socle::engine::tokenizer {

inline constexpr std::string_view GGUF_KEY_MODEL = "tokenizer.ggml.model";
inline constexpr std::string_view GGUF_KEY_PRE = "tokenizer.ggml.pre";
inline constexpr std::string_view GGUF_KEY_TOKENS = "tokenizer.ggml.tokens";
inline constexpr std::string_view GGUF_KEY_TOKEN_TYPE = "tokenizer.ggml.token_type";
inline constexpr std::string_view GGUF_KEY_SCORES = "tokenizer.ggml.scores";
inline constexpr std::string_view GGUF_KEY_MERGES = "tokenizer.ggml.merges";
inline constexpr std::string_view GGUF_KEY_BOS_ID = "tokenizer.ggml.bos_token_id";
inline constexpr std::string_view GGUF_KEY_EOS_ID = "tokenizer.ggml.eos_token_id";
inline constexpr std::string_view GGUF_KEY_UNKNOWN_ID = "tokenizer.ggml.unknown_token_id";
inline constexpr std::string_view GGUF_KEY_PADDING_ID = "tokenizer.ggml.padding_token_id";
inline constexpr std::string_view GGUF_KEY_ADD_BOS = "tokenizer.ggml.add_bos_token";
inline constexpr std::string_view GGUF_KEY_ADD_EOS = "tokenizer.ggml.add_eos_token";
inline constexpr std::string_view GGUF_KEY_ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";
inline constexpr std::string_view GGUF_KEY_REMOVE_EXTRA_WHITESPACES =
    "tokenizer.ggml.remove_extra_whitespaces";
// Encoder models ("bert", "t5"; gguf_encoder_vocab.h). "seperator" is llama.cpp's spelling.
inline constexpr std::string_view GGUF_KEY_SEP_ID = "tokenizer.ggml.seperator_token_id";
inline constexpr std::string_view GGUF_KEY_CLS_ID = "tokenizer.ggml.cls_token_id";
inline constexpr std::string_view GGUF_KEY_MASK_ID = "tokenizer.ggml.mask_token_id";
inline constexpr std::string_view GGUF_KEY_ADD_SEP = "tokenizer.ggml.add_sep_token";
inline constexpr std::string_view GGUF_KEY_NORMALIZER_LOWERCASE =
    "tokenizer.ggml.normalizer.lowercase";
inline constexpr std::string_view GGUF_KEY_NORMALIZER_STRIP_ACCENTS =
    "tokenizer.ggml.normalizer.strip_accents";
inline constexpr std::string_view GGUF_KEY_PRECOMPILED_CHARSMAP =
    "tokenizer.ggml.precompiled_charsmap";
// A Unigram model's scores as float64, written by socle only when float32 rounds one of
// them (llama.cpp ignores the key and reads tokenizer.ggml.scores).
inline constexpr std::string_view GGUF_KEY_SCORES_F64 = "tokenizer.huggingface.scores";
inline constexpr std::string_view GGUF_KEY_CHAT_TEMPLATE = "tokenizer.chat_template";
// tokenizer_config.json's clean_up_tokenization_spaces, written only where it differs from
// the default of the model the pre-tokenizer name stands for. llama.cpp has no such key (it
// ignores keys it does not know); the tokenizer.huggingface prefix is where llama.cpp keeps
// what comes from Hugging Face files.
inline constexpr std::string_view GGUF_KEY_CLEAN_UP =
    "tokenizer.huggingface.clean_up_tokenization_spaces";

}  // namespace socle::engine::tokenizer
