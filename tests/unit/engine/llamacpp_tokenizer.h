// A tokenizer of exactly a golden model's vocabulary, as GGUF tokenizer.* keys: llama.cpp
// loads no model without one. For the tests that hand socle's GGUF files to llama.cpp
// (node-llama-cpp).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/gguf_pre_tokenizers.h"
#include "engine/tokenizer/gguf_vocab.h"

namespace socle::engine::testing {

// Byte-level BPE, as Llama 3 and Qwen ship it: the 256 byte tokens, then tokens made by
// merging pairs of lowercase letters ("a a", "a b", ...), then three special tokens.
inline constexpr int BYTE_TOKENS = 256;
inline constexpr std::array<const char*, 3> SPECIAL_TOKENS = {"<|begin_of_text|>",
                                                              "<|end_of_text|>", "<|eot_id|>"};

inline boost::json::value component(std::string_view canonical) {
  return boost::json::parse(canonical);
}

// tokenizer.json for the pipeline llama.cpp calls `pre` with `vocab_size` ids.
inline std::string tokenizer_json(const tokenizer::GgufPipeline& p, int64_t vocab_size) {
  boost::json::object vocab;
  for (int b = 0; b < BYTE_TOKENS; ++b) {
    vocab[tokenizer::byte_level_encode(std::string(1, static_cast<char>(b)))] = b;
  }
  boost::json::array merges;
  auto first_special = static_cast<int>(vocab_size - static_cast<int64_t>(SPECIAL_TOKENS.size()));
  int id = BYTE_TOKENS;
  for (char a = 'a'; a <= 'z' && id < first_special; ++a) {
    for (char b = 'a'; b <= 'z' && id < first_special; ++b) {
      merges.push_back(boost::json::array{std::string(1, a), std::string(1, b)});
      vocab[std::string{a, b}] = id++;
    }
  }
  boost::json::array added;
  for (const char* s : SPECIAL_TOKENS) {
    added.push_back(boost::json::object{{"id", id},
                                        {"content", s},
                                        {"single_word", false},
                                        {"lstrip", false},
                                        {"rstrip", false},
                                        {"normalized", false},
                                        {"special", true}});
    vocab[s] = id++;
  }
  boost::json::object model{{"type", "BPE"},
                            {"dropout", nullptr},
                            {"unk_token", nullptr},
                            {"fuse_unk", p.fuse_unk},
                            {"byte_fallback", p.byte_fallback},
                            {"ignore_merges", p.ignore_merges},
                            {"vocab", std::move(vocab)},
                            {"merges", std::move(merges)}};
  boost::json::object root{{"version", "1.0"},
                           {"added_tokens", std::move(added)},
                           {"normalizer", component(p.normalizer)},
                           {"pre_tokenizer", component(p.pre_tokenizer)},
                           {"post_processor", nullptr},
                           {"decoder", component(p.decoder)},
                           {"model", std::move(model)}};
  return boost::json::serialize(root);
}

// The tokenizer.* keys of that tokenizer, as the GGUF vocab writer makes them.
inline tokenizer::GgufMetadata tokenizer_keys(const std::string& pre, int64_t vocab_size) {
  const tokenizer::GgufPipeline* p = tokenizer::gguf_pipeline_by_pre(pre);
  EXPECT_NE(p, nullptr) << pre;
  if (p == nullptr) return {};
  boost::json::object config{{"bos_token", SPECIAL_TOKENS[0]},
                             {"eos_token", SPECIAL_TOKENS[1]},
                             {"clean_up_tokenization_spaces", p->clean_up_tokenization_spaces}};
  auto keys = tokenizer::gguf_tokenizer_metadata(tokenizer_json(*p, vocab_size),
                                                 boost::json::serialize(config));
  EXPECT_TRUE(keys.is_ok()) << keys.status().to_string();
  return keys.is_ok() ? std::move(keys).value() : tokenizer::GgufMetadata();
}

}  // namespace socle::engine::testing
