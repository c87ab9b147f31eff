// The Unigram (Precompiled normalizer, Metaspace) and WordPiece (BertNormalizer,
// BertPreTokenizer) pipelines against the ids Hugging Face tokenizers computed, stored in
// ../shared/golden/tokenizers.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "base/file.h"
#include "base/json.h"
#include "engine/tokenizer/tokenizer.h"

namespace socle::engine::tokenizer {
namespace {

DecodeOptions no_clean_up() {
  DecodeOptions o;
  o.clean_up_tokenization_spaces = false;
  return o;
}

std::string golden(const std::string& name) {
  return std::string(SOCLE_GOLDEN_DIR) + "/tokenizers/" + name;
}

std::vector<int32_t> to_ids(const boost::json::value& v) {
  std::vector<int32_t> ids;
  for (const auto& x : v.as_array())
    ids.push_back(static_cast<int32_t>(x.as_int64()));
  return ids;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, IdsMatchHuggingFace) {
  auto tok = Tokenizer::load(golden(GetParam()));
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  auto text = read_file(golden(GetParam()) + "/oracle.json");
  ASSERT_TRUE(text.is_ok());
  auto oracle = json::parse(*text);
  ASSERT_TRUE(oracle.is_ok());
  const auto& o = oracle->as_object();
  const auto& strings = o.at("strings").as_array();
  ASSERT_FALSE(strings.empty());
  for (size_t i = 0; i < strings.size(); ++i) {
    std::string s(strings[i].as_string());
    auto with = tok->encode(s, true);
    auto without = tok->encode(s, false);
    ASSERT_TRUE(with.is_ok() && without.is_ok());
    EXPECT_EQ(*with, to_ids(o.at("with_special_tokens").as_array()[i]))
        << "string " << i << ": " << json::quoted(s);
    EXPECT_EQ(*without, to_ids(o.at("without_special_tokens").as_array()[i]))
        << "string " << i << ": " << json::quoted(s);
  }
}

TEST_P(GoldenTest, DecodeMatchesTransformers) {
  auto tok = Tokenizer::load(golden(GetParam()));
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  auto text = read_file(golden(GetParam()) + "/oracle.json");
  ASSERT_TRUE(text.is_ok());
  auto oracle = json::parse(*text);
  ASSERT_TRUE(oracle.is_ok());
  const auto& o = oracle->as_object();
  const auto& ids = o.at("without_special_tokens").as_array();
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string want(o.at("decoded").as_array()[i].as_string());
    EXPECT_EQ(tok->decode(to_ids(ids[i]), no_clean_up()), want) << "string " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenTest, ::testing::Values("unigram-xlmr", "wordpiece-bert"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace socle::engine::tokenizer
