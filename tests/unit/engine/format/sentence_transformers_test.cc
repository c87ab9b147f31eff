#include "engine/format/sentence_transformers.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/file.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine {
namespace {

// As sentence-transformers/all-MiniLM-L6-v2 ships them.
constexpr char MINILM_MODULES[] = R"([
  {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
  {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
  {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
])";
constexpr char MEAN_POOLING[] = R"({"word_embedding_dimension": 384,
  "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true,
  "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false})";

TEST(SentenceTransformers, ReadsMeanPoolingAndNormalize) {
  auto s = sentence_transformers_parse(MINILM_MODULES, MEAN_POOLING);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->pooling, Pooling::MEAN);
  EXPECT_TRUE(s->normalize);
}

TEST(SentenceTransformers, ReadsClsAndLastTokenWithoutNormalize) {
  const char* modules =
      R"([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}])";
  auto cls = sentence_transformers_parse(
      modules, R"({"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false})");
  ASSERT_TRUE(cls.is_ok()) << cls.status().to_string();
  EXPECT_EQ(cls->pooling, Pooling::CLS);
  EXPECT_FALSE(cls->normalize);
  auto last = sentence_transformers_parse(modules, R"({"pooling_mode_lasttoken": true})");
  ASSERT_TRUE(last.is_ok()) << last.status().to_string();
  EXPECT_EQ(last->pooling, Pooling::LAST);
  auto named = sentence_transformers_parse(modules, R"({"pooling_mode": "cls"})");
  ASSERT_TRUE(named.is_ok()) << named.status().to_string();
  EXPECT_EQ(named->pooling, Pooling::CLS);
}

TEST(SentenceTransformers, RejectsModesItDoesNotCompute) {
  const char* modules =
      R"([{"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}])";
  auto max = sentence_transformers_parse(modules, R"({"pooling_mode_max_tokens": true})");
  ASSERT_FALSE(max.is_ok());
  EXPECT_NE(max.status().message().find("pooling_mode_max_tokens"), std::string::npos);
  auto two = sentence_transformers_parse(
      modules, R"({"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true})");
  ASSERT_FALSE(two.is_ok());
  EXPECT_NE(two.status().message().find("more than one"), std::string::npos);
  auto none = sentence_transformers_parse(modules, "{}");
  EXPECT_FALSE(none.is_ok());
  auto escape = sentence_transformers_parse(
      R"([{"path": "../x", "type": "sentence_transformers.models.Pooling"}])", MEAN_POOLING);
  ASSERT_FALSE(escape.is_ok());
  EXPECT_NE(escape.status().message().find("not a folder name"), std::string::npos);
  EXPECT_FALSE(sentence_transformers_parse("{}", MEAN_POOLING).is_ok());
}

TEST(SentenceTransformers, ReadsAFolder) {
  testing::TempDir dir;
  auto absent = sentence_transformers_read(dir.path());
  ASSERT_TRUE(absent.is_ok());
  EXPECT_FALSE(absent->has_value());
  ASSERT_TRUE(write_file_atomic(dir.file("modules.json"), MINILM_MODULES).is_ok());
  std::filesystem::create_directories(dir.file("1_Pooling"));
  ASSERT_TRUE(write_file_atomic(dir.file("1_Pooling/config.json"), MEAN_POOLING).is_ok());
  auto settings = sentence_transformers_read(dir.path());
  ASSERT_TRUE(settings.is_ok()) << settings.status().to_string();
  ASSERT_TRUE(settings->has_value());
  EXPECT_EQ((*settings)->pooling, Pooling::MEAN);
  EXPECT_TRUE((*settings)->normalize);
}

TEST(SentenceTransformers, PoolingNames) {
  EXPECT_EQ(pooling_from_name("mean"), Pooling::MEAN);
  EXPECT_EQ(pooling_from_name("max"), std::nullopt);
  EXPECT_STREQ(pooling_name(Pooling::LAST), "last");
}

}  // namespace
}  // namespace socle::engine
