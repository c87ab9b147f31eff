#include "bench_vocab.h"

#include <array>
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/gguf_pre_tokenizers.h"

namespace socle::engine::bench {
namespace {

constexpr int BYTE_TOKENS = 256;
constexpr std::array<const char*, 3> SPECIAL_TOKENS = {"<|begin_of_text|>", "<|end_of_text|>",
                                                       "<|eot_id|>"};
// The pre-tokenizer of Llama 3, whose vocabulary this imitates.
constexpr char PRE[] = "llama-bpe";

}  // namespace

Result<tokenizer::GgufMetadata> bench_vocab_keys(int64_t vocab_size) {
  const int64_t first_special = vocab_size - static_cast<int64_t>(SPECIAL_TOKENS.size());
  if (first_special < BYTE_TOKENS + 1) {
    return invalid_argument("a vocabulary needs at least " +
                            std::to_string(BYTE_TOKENS + 1 + SPECIAL_TOKENS.size()) +
                            " tokens, not " + std::to_string(vocab_size));
  }
  const tokenizer::GgufPipeline* p = tokenizer::gguf_pipeline_by_pre(PRE);
  if (p == nullptr) return invalid_argument(std::string("no GGUF pipeline named ") + PRE);
  boost::json::object vocab;
  for (int b = 0; b < BYTE_TOKENS; ++b)
    vocab[tokenizer::byte_level_encode(std::string(1, static_cast<char>(b)))] = b;
  boost::json::array merges;
  int64_t id = BYTE_TOKENS;
  // Breadth first: every word of length n is merged from its prefix of length n - 1, which
  // is a token already (a byte for n = 2).
  std::vector<std::string> level;
  for (char c = 'a'; c <= 'z'; ++c)
    level.emplace_back(1, c);
  while (id < first_special) {
    std::vector<std::string> next;
    for (const std::string& prefix : level) {
      for (char c = 'a'; c <= 'z' && id < first_special; ++c) {
        merges.push_back(boost::json::array{prefix, std::string(1, c)});
        vocab[prefix + c] = id++;
        next.push_back(prefix + c);
      }
    }
    level = std::move(next);
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
                            {"fuse_unk", p->fuse_unk},
                            {"byte_fallback", p->byte_fallback},
                            {"ignore_merges", p->ignore_merges},
                            {"vocab", std::move(vocab)},
                            {"merges", std::move(merges)}};
  boost::json::object root{{"version", "1.0"},
                           {"added_tokens", std::move(added)},
                           {"normalizer", boost::json::parse(p->normalizer)},
                           {"pre_tokenizer", boost::json::parse(p->pre_tokenizer)},
                           {"post_processor", nullptr},
                           {"decoder", boost::json::parse(p->decoder)},
                           {"model", std::move(model)}};
  boost::json::object config{{"bos_token", SPECIAL_TOKENS[0]},
                             {"eos_token", SPECIAL_TOKENS[1]},
                             {"clean_up_tokenization_spaces", p->clean_up_tokenization_spaces}};
  return tokenizer::gguf_tokenizer_metadata(boost::json::serialize(root),
                                            boost::json::serialize(config));
}

}  // namespace socle::engine::bench
