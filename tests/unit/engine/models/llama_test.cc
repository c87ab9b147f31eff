#include "engine/models/llama.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "base/file.h"
#include "base/json.h"
#include "engine/format/safetensors_writer.h"
#include "unit/engine/golden.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine {
namespace {

// The golden README's bound for a float32 implementation, per row of logits.
constexpr double LOGITS_TOLERANCE = 1e-4;
// Below this gap between the two best logits, float32 rounding may legitimately pick the
// other token (golden README).
constexpr float GREEDY_MARGIN_FLOOR = 0.01f;
constexpr int GOLDEN_CASES = 4;

using Golden = testing::GoldenDecoder;

Golden load(const std::string& name) {
  return testing::load_golden_decoder(name);
}

int32_t argmax(const float* row, int64_t n) {
  return static_cast<int32_t>(std::max_element(row, row + n) - row);
}

class LlamaGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(LlamaGolden, LogitsAtEveryPositionMatchTransformers) {
  Golden g = load(GetParam());
  int64_t vocab = g.model.config().vocab_size;
  double worst = 0;
  for (int i = 0; i < GOLDEN_CASES; ++i) {
    auto ids = testing::tensor_i32(g.ref, "input_ids." + std::to_string(i));
    auto want = testing::tensor_f32(g.ref, "logits." + std::to_string(i));
    ASSERT_EQ(want.size(), ids.size() * static_cast<size_t>(vocab));
    KvCache cache = g.model.new_cache(static_cast<int64_t>(ids.size()));
    std::vector<float> got;
    ASSERT_TRUE(g.model.forward(ids, cache, &got).is_ok());
    ASSERT_EQ(got.size(), want.size());
    for (size_t t = 0; t < ids.size(); ++t) {
      std::span<const float> got_row(got.data() + t * vocab, static_cast<size_t>(vocab));
      std::span<const float> want_row(want.data() + t * vocab, static_cast<size_t>(vocab));
      double err = testing::relative_error(got_row, want_row);
      worst = std::max(worst, err);
      ASSERT_LT(err, LOGITS_TOLERANCE) << "case " << i << " position " << t;
    }
  }
  std::printf("%s: max relative error per logits row %.3g\n", GetParam(), worst);
}

TEST_P(LlamaGolden, GreedyDecodingWithTheCacheMatchesTransformers) {
  Golden g = load(GetParam());
  int64_t vocab = g.model.config().vocab_size;
  for (int i : {1, 2}) {
    auto ids = testing::tensor_i32(g.ref, "input_ids." + std::to_string(i));
    auto greedy = testing::tensor_i32(g.ref, "greedy." + std::to_string(i));
    auto margin = testing::tensor_f32(g.ref, "greedy_margin." + std::to_string(i));
    ASSERT_EQ(greedy.size(), margin.size());
    KvCache cache = g.model.new_cache(static_cast<int64_t>(ids.size() + greedy.size()));
    std::vector<float> logits;
    ASSERT_TRUE(g.model.forward(ids, cache, &logits).is_ok());
    size_t checked = 0;
    for (size_t s = 0; s < greedy.size() && margin[s] >= GREEDY_MARGIN_FLOOR; ++s) {
      const float* last = logits.data() + logits.size() - static_cast<size_t>(vocab);
      int32_t next = argmax(last, vocab);
      ASSERT_EQ(next, greedy[s]) << "case " << i << " step " << s;
      ASSERT_TRUE(g.model.forward(std::span<const int32_t>(&next, 1), cache, &logits).is_ok());
      ++checked;
    }
    EXPECT_GT(checked, 0u);
  }
}

// Decoding token by token, or in chunks, through the cache computes each row exactly as the
// full forward pass does: every kernel reduces a row in a fixed order.
TEST_P(LlamaGolden, CachedDecodeEqualsRecomputingThePrefix) {
  Golden g = load(GetParam());
  int64_t vocab = g.model.config().vocab_size;
  auto ids = testing::tensor_i32(g.ref, "input_ids.2");
  auto n = static_cast<int64_t>(ids.size());
  KvCache full_cache = g.model.new_cache(n);
  std::vector<float> full;
  ASSERT_TRUE(g.model.forward(ids, full_cache, &full).is_ok());

  KvCache step_cache = g.model.new_cache(n);
  std::vector<float> row;
  for (int64_t t = 0; t < n; ++t) {
    ASSERT_TRUE(
        g.model.forward(std::span<const int32_t>(&ids[static_cast<size_t>(t)], 1), step_cache, &row)
            .is_ok());
    ASSERT_TRUE(std::equal(row.begin(), row.end(), full.begin() + t * vocab)) << "position " << t;
  }

  KvCache chunk_cache = g.model.new_cache(n);
  std::span<const int32_t> all(ids);
  ASSERT_TRUE(g.model.forward(all.first(10), chunk_cache, &row).is_ok());
  ASSERT_TRUE(g.model.forward(all.subspan(10), chunk_cache, &row).is_ok());
  ASSERT_TRUE(std::equal(row.begin(), row.end(), full.begin() + 10 * vocab));

  // Rewinding the cache and running the same tokens again gives the same logits.
  chunk_cache.truncate(20);
  ASSERT_TRUE(g.model.forward(all.subspan(20), chunk_cache, &row).is_ok());
  ASSERT_TRUE(std::equal(row.begin(), row.end(), full.begin() + 20 * vocab));
}

INSTANTIATE_TEST_SUITE_P(Golden, LlamaGolden,
                         ::testing::Values("llama3", "llama3-bf16", "qwen2", "qwen3"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// The largest relative error per row of llama3's 33-token case for the model in `dir`.
double llama3_case2_error(const std::string& dir) {
  auto model = LlamaModel::load(dir);
  EXPECT_TRUE(model.is_ok()) << model.status().to_string();
  if (!model.is_ok()) return 1.0;
  auto ref = SafetensorsFile::open(testing::golden_dir("llama3") + "/ref.safetensors");
  EXPECT_TRUE(ref.is_ok());
  auto ids = testing::tensor_i32(*ref, "input_ids.2");
  auto want = testing::tensor_f32(*ref, "logits.2");
  KvCache cache = model->new_cache(static_cast<int64_t>(ids.size()));
  std::vector<float> got;
  EXPECT_TRUE(model->forward(ids, cache, &got).is_ok());
  EXPECT_EQ(got.size(), want.size());
  size_t vocab = static_cast<size_t>(model->config().vocab_size);
  double worst = 0;
  for (size_t t = 0; t < ids.size() && (t + 1) * vocab <= got.size(); ++t) {
    worst = std::max(worst, testing::relative_error({got.data() + t * vocab, vocab},
                                                    {want.data() + t * vocab, vocab}));
  }
  return worst;
}

// Most published llama 3.1 folders write rope settings at the top level, as transformers 4
// did: the same model written that way gives the same logits.
TEST(Llama, ReadsTheOlderTopLevelRopeKeys) {
  testing::TempDir dir;
  std::string golden = testing::golden_dir("llama3");
  auto text = read_file(golden + "/config.json");
  ASSERT_TRUE(text.is_ok());
  auto parsed = json::parse(*text);
  ASSERT_TRUE(parsed.is_ok());
  boost::json::object config = parsed->as_object();
  boost::json::object rope = config.at("rope_parameters").as_object();
  config.erase("rope_parameters");
  config["rope_theta"] = rope.at("rope_theta");
  rope.erase("rope_theta");
  config["rope_scaling"] = rope;
  ASSERT_TRUE(write_file_atomic(dir.file("config.json"), json::dump(config)).is_ok());
  auto weights = read_file(golden + "/model.safetensors");
  ASSERT_TRUE(weights.is_ok());
  ASSERT_TRUE(write_file_atomic(dir.file("model.safetensors"), *weights).is_ok());
  EXPECT_LT(llama3_case2_error(dir.path()), LOGITS_TOLERANCE);
}

// The same weights split over three shards with an index, as transformers saves large models.
TEST(Llama, LoadsShardedWeights) {
  testing::TempDir dir;
  std::string golden = testing::golden_dir("llama3");
  auto config = read_file(golden + "/config.json");
  ASSERT_TRUE(config.is_ok());
  ASSERT_TRUE(write_file_atomic(dir.file("config.json"), *config).is_ok());
  auto file = SafetensorsFile::open(golden + "/model.safetensors");
  ASSERT_TRUE(file.is_ok());
  constexpr size_t SHARDS = 3;
  std::vector<std::vector<TensorData>> shards(SHARDS);
  boost::json::object weight_map;
  for (size_t i = 0; i < file->tensors().size(); ++i) {
    const TensorView& t = file->tensors()[i];
    size_t shard = i % SHARDS;
    std::string name = "model-0000" + std::to_string(shard + 1) + "-of-00003.safetensors";
    shards[shard].push_back(
        {t.name, t.dtype, t.shape, {reinterpret_cast<const char*>(t.data), t.nbytes}});
    weight_map[t.name] = name;
  }
  for (size_t s = 0; s < SHARDS; ++s) {
    std::string name = "model-0000" + std::to_string(s + 1) + "-of-00003.safetensors";
    ASSERT_TRUE(safetensors_write(dir.file(name), shards[s]).is_ok());
  }
  boost::json::object index;
  index["metadata"] = boost::json::object();
  index["weight_map"] = weight_map;
  ASSERT_TRUE(
      write_file_atomic(dir.file("model.safetensors.index.json"), json::dump(index)).is_ok());
  EXPECT_LT(llama3_case2_error(dir.path()), LOGITS_TOLERANCE);
}

TEST(Llama, RejectsBadInputWithoutTouchingTheCache) {
  auto model = LlamaModel::load(testing::golden_dir("llama3"));
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  KvCache cache = model->new_cache(4);
  std::vector<float> logits;
  std::vector<int32_t> out_of_vocab = {5, 512};
  Status s = model->forward(out_of_vocab, cache, &logits);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("token 1 is 512"), std::string::npos) << s.message();
  std::vector<int32_t> too_long = {1, 2, 3, 4, 5};
  s = model->forward(too_long, cache, &logits);
  EXPECT_NE(s.message().find("more than its cache's 4"), std::string::npos) << s.message();
  EXPECT_EQ(model->forward({}, cache, &logits).code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(cache.size(), 0);
}

TEST(Llama, RefusesAnEncoderFolder) {
  auto model = LlamaModel::load(testing::golden_dir("bert"));
  ASSERT_FALSE(model.is_ok());
  EXPECT_NE(model.status().message().find("not a llama-family"), std::string::npos);
}

}  // namespace
}  // namespace socle::engine
