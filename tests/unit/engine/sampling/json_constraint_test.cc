// The JSON token mask against brute force: at every step of feeding documents token by
// token, a token is allowed exactly when a fresh recogniser in the same state reads all of
// its bytes, whether the mask was walked or kept from an earlier step; and a sampler under the mask
// produces, from random logits, a JSON object that Boost.JSON parses, then its end token.
#include "engine/sampling/json_constraint.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/sampling/sampler.h"

namespace socle::engine::sampling {
namespace {

constexpr int32_t END = 3;  // the end token (its text is empty: a special token)

// Every single byte (ids 256 + byte), the empty special tokens 0 to 3, and random tokens of
// 2 to 7 bytes drawn from what JSON text is made of (many sharing prefixes).
std::vector<std::string> vocabulary(uint32_t seed) {
  std::vector<std::string> texts(4);
  for (int b = 0; b < 256; ++b)
    texts.emplace_back(1, static_cast<char>(b));
  const std::string alphabet = "{}[],:\" \n0123456789.-eEtrufalsn\\ab\xc3\xa9";
  std::mt19937 gen(seed);
  for (int i = 0; i < 3000; ++i) {
    int n = std::uniform_int_distribution<int>(2, 7)(gen);
    std::string t;
    for (int k = 0; k < n; ++k)
      t += alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(gen)];
    texts.push_back(t);
  }
  texts.emplace_back("\"}");
  texts.emplace_back("\": ");
  texts.emplace_back("true}");
  return texts;
}

void expect_mask_is_brute_force(const JsonConstraint& c, const JsonRecognizer& state,
                                const TokenTexts& texts, size_t vocab, const std::string& where) {
  std::vector<uint8_t> mask(vocab);
  c.allowed(mask);
  size_t allowed = 0;
  for (size_t id = 0; id < vocab; ++id) {
    bool want = false;
    if (id < texts.size() && !texts.text(static_cast<int32_t>(id)).empty()) {
      JsonRecognizer r = state;
      want = r.push(texts.text(static_cast<int32_t>(id)));
    }
    if (state.finished()) want = id == static_cast<size_t>(END);
    ASSERT_EQ(mask[id] != 0, want)
        << "token " << id << " '" << (id < texts.size() ? texts.text(static_cast<int32_t>(id)) : "")
        << "' after '" << where << "'";
    allowed += want ? 1 : 0;
  }
  EXPECT_GT(allowed, 0u) << where;
}

TEST(JsonConstraint, TheMaskIsEveryTokenWhoseBytesTheRecogniserReads) {
  auto texts = std::make_shared<const TokenTexts>(vocabulary(7));
  const size_t vocab = texts->size() + 5;  // the model's logits may outnumber the tokens
  // The masks of recent states are kept and shared (TokenTexts): the documents repeat states,
  // and the nested one meets more than JSON_MASKS_KEPT new ones, so that kept masks are
  // evicted and walked again when the first document comes back.
  const std::string first = "{\"a\": [1, -2.5e3, true, null, \"x\\u00e9\\n\"], \"b\": {\"c\": {}}}";
  const std::string docs[] = {
      first, " {\"été\":\"\xc3\xa9t\xc3\xa9\", \"n\": 0}",
      "{}",  "{\"deep\":" + std::string(40, '[') + std::string(40, ']') + "}",
      first,
  };
  for (const std::string& doc : docs) {
    JsonConstraint c(texts, {END});
    JsonRecognizer state(JsonMode::OBJECT);
    std::string read;
    expect_mask_is_brute_force(c, state, *texts, vocab, read);
    for (char byte : doc) {
      int32_t id = 4 + static_cast<uint8_t>(byte);  // the single-byte token
      ASSERT_TRUE(state.push(static_cast<uint8_t>(byte))) << doc;
      c.accept(id);
      read += byte;
      expect_mask_is_brute_force(c, state, *texts, vocab, read);
    }
    EXPECT_TRUE(c.complete()) << doc;
  }
}

TEST(JsonConstraint, WithNoTokenToContinueOnlyTheEndTokensAreLeft) {
  // A vocabulary that cannot close a string.
  auto texts = std::make_shared<const TokenTexts>(std::vector<std::string>{"", "{", "\"", "a"});
  JsonConstraint c(texts, {0});
  for (int32_t id : {1, 2})
    c.accept(id);
  std::vector<uint8_t> mask(4);
  c.allowed(mask);
  // Inside the key: '{' and 'a' continue it, '"' closes it.
  EXPECT_EQ(mask, (std::vector<uint8_t>{0, 1, 1, 1}));
  c.accept(2);  // {"" : the key is closed, a ':' is needed and no token has one
  c.allowed(mask);
  EXPECT_EQ(mask, (std::vector<uint8_t>{1, 0, 0, 0}));
}

TEST(JsonConstraint, ASamplerUnderTheMaskWritesAnObjectThenEnds) {
  auto texts = std::make_shared<const TokenTexts>(vocabulary(11));
  const size_t vocab = texts->size();
  for (uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    SamplingParams params;
    params.temperature = 1.0;
    params.seed = seed;
    Sampler sampler(params, {}, std::make_unique<JsonConstraint>(texts, std::vector<int32_t>{END}));
    std::mt19937 gen(static_cast<uint32_t>(seed));
    std::normal_distribution<float> d(0.0F, 1.0F);
    std::string out;
    bool ended = false;
    for (int step = 0; step < 5000 && !ended; ++step) {
      std::vector<float> logits(vocab);
      for (size_t id = 0; id < vocab; ++id) {
        logits[id] = d(gen);
        const std::string& t = texts->text(static_cast<int32_t>(id));
        // Closing brackets and quotes are likelier, so that objects end.
        if (t.find_first_of("}]\"") != std::string::npos) logits[id] += 2.5F;
      }
      logits[END] = 10.0F;  // the model would like to stop at once: the mask says no
      Sample s = sampler.sample(logits);
      if (s.token == END) {
        ended = true;
      } else {
        out += texts->text(s.token);
      }
    }
    ASSERT_TRUE(ended) << "seed " << seed << ": " << out;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(out, ec);
    ASSERT_FALSE(ec) << out;
    EXPECT_TRUE(v.is_object()) << out;
  }
}

}  // namespace
}  // namespace socle::engine::sampling
