// LoRA adapters applied per sequence by LlamaModel::forward_batch: the golden adapter on the
// golden base gives peft's logits; a batch mixing the base model and two adapters gives each
// sequence the bits it gets alone; an adapter made for other shapes is refused; the
// identity that salts the prefix cache tells adapters apart.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "engine/lora/lora_apply.h"
#include "engine/models/llama.h"
#include "unit/engine/golden.h"

namespace socle::engine {
namespace {

// The golden README's bound for a float32 implementation, per row of logits.
constexpr double LOGITS_TOLERANCE = 1e-4;
constexpr int64_t BLOCK_SIZE = 4;
constexpr int64_t POOL_BLOCKS = 64;
// The random adapter's B values: large enough that its logits differ from the base's.
constexpr float RANDOM_B_SCALE = 0.05f;

class LoraServing : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = testing::golden_dir("llama-lora");
    auto model = LlamaModel::load(dir + "/base");
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    model_.emplace(std::move(model).value());
    auto adapter = LoraAdapter::load_peft(dir + "/adapter", model_->config());
    ASSERT_TRUE(adapter.is_ok()) << adapter.status().to_string();
    a_.emplace(std::move(adapter).value());
    auto ref = SafetensorsFile::open(dir + "/ref.safetensors");
    ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();
    ref_.emplace(std::move(ref).value());
    ids_ = testing::tensor_i32(*ref_, "input_ids");
    // A second adapter, on other targets and rank, with random A and B.
    LoraConfig config;
    config.rank = 2;
    config.alpha = 5;
    config.targets = {LoraTarget::Q_PROJ, LoraTarget::V_PROJ, LoraTarget::DOWN_PROJ};
    auto b = LoraAdapter::init(model_->config(), config, 99);
    ASSERT_TRUE(b.is_ok()) << b.status().to_string();
    b_.emplace(std::move(b).value());
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, RANDOM_B_SCALE);
    for (std::span<float> t : b_->tensors()) {
      for (float& v : t)
        v = normal(rng);
    }
  }

  int64_t vocab() const { return model_->config().vocab_size; }

  // `tokens` alone with `lora`, in one pass over a fresh pool: every row's logits.
  std::vector<float> alone(std::span<const int32_t> tokens, const LoraAdapter* lora,
                           ThreadPool& threads) const {
    KvPool pool = model_->new_pool(POOL_BLOCKS, BLOCK_SIZE);
    std::vector<int32_t> table(POOL_BLOCKS);
    for (int32_t i = 0; i < POOL_BLOCKS; ++i)
      table[static_cast<size_t>(i)] = POOL_BLOCKS - 1 - i;
    BatchSequence b;
    b.tokens = tokens;
    b.blocks = table;
    b.all_logits = true;
    b.lora = lora;
    std::vector<float> logits;
    EXPECT_TRUE(model_->forward_batch({&b, 1}, pool, threads, &logits).is_ok());
    return logits;
  }

  std::vector<float> row(const std::vector<float>& logits, int64_t r) const {
    return {logits.begin() + r * vocab(), logits.begin() + (r + 1) * vocab()};
  }

  std::optional<LlamaModel> model_;
  std::optional<LoraAdapter> a_;  // peft's adapter
  std::optional<LoraAdapter> b_;  // a random one
  std::optional<SafetensorsFile> ref_;
  std::vector<int32_t> ids_;
};

TEST_F(LoraServing, GoldenAdapterGivesPeftLogits) {
  ThreadPool threads(2);
  ASSERT_TRUE(lora_fits(model_->config(), *a_).is_ok());
  std::vector<float> want = testing::tensor_f32(*ref_, "logits");
  std::vector<float> got = alone(ids_, &*a_, threads);
  ASSERT_EQ(got.size(), want.size());
  std::vector<float> base = alone(ids_, nullptr, threads);
  for (int64_t t = 0; t < static_cast<int64_t>(ids_.size()); ++t) {
    EXPECT_LT(testing::relative_error(row(got, t), row(want, t)), LOGITS_TOLERANCE)
        << "position " << t;
    // The adapter matters: without it the logits are far from peft's.
    EXPECT_GT(testing::relative_error(row(base, t), row(want, t)), 100 * LOGITS_TOLERANCE)
        << "position " << t;
  }
}

// Five sequences in one pass: the base model, peft's adapter and the random one, on
// overlapping prompts, some with every row's logits: each gives the bits it gives alone.
// Then a decode step of three of them side by side, after their prompts: the same bits as
// the whole sequence alone.
TEST_F(LoraServing, MixedBatchEqualsEachSequenceAlone) {
  ThreadPool threads(2);
  std::span<const int32_t> ids(ids_);
  struct Case {
    std::span<const int32_t> tokens;
    const LoraAdapter* lora;
    bool all_logits;
  };
  const std::vector<Case> cases = {
      {ids.first(30), nullptr, true},    {ids.first(30), &*a_, true},
      {ids.subspan(3, 21), &*b_, false}, {ids.subspan(7, 9), &*a_, false},
      {ids.first(13), &*b_, true},
  };
  KvPool pool = model_->new_pool(POOL_BLOCKS, BLOCK_SIZE);
  std::vector<std::vector<int32_t>> tables;
  int32_t next = 0;
  for (const Case& c : cases) {
    auto blocks = static_cast<int32_t>(
        (static_cast<int64_t>(c.tokens.size()) + 1 + BLOCK_SIZE - 1) / BLOCK_SIZE);
    std::vector<int32_t> t;
    for (int32_t i = 0; i < blocks; ++i)
      t.push_back(next++);
    tables.push_back(std::move(t));
  }
  std::vector<BatchSequence> batch;
  for (size_t i = 0; i < cases.size(); ++i) {
    BatchSequence b;
    b.tokens = cases[i].tokens;
    b.blocks = tables[i];
    b.all_logits = cases[i].all_logits;
    b.lora = cases[i].lora;
    batch.push_back(b);
  }
  std::vector<float> logits;
  ASSERT_TRUE(model_->forward_batch(batch, pool, threads, &logits).is_ok());
  int64_t r = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    auto n = static_cast<int64_t>(cases[i].tokens.size());
    std::vector<float> own = alone(cases[i].tokens, cases[i].lora, threads);
    for (int64_t t = cases[i].all_logits ? 0 : n - 1; t < n; ++t, ++r)
      ASSERT_EQ(row(logits, r), row(own, t)) << "sequence " << i << " position " << t;
  }
  ASSERT_EQ(static_cast<size_t>(r * vocab()), logits.size());
  // Same prompt, base against adapter: the adapter changes the answer.
  EXPECT_NE(row(logits, 29), row(logits, 30 + 29));

  // One decode step each for sequences 0, 1 and 2, with the token after their prompt.
  std::vector<BatchSequence> step;
  std::vector<std::vector<int32_t>> next_tokens;
  std::vector<size_t> members = {2, 0, 1};
  for (size_t i : members)
    next_tokens.push_back({ids_[cases[i].tokens.size() + 4]});
  for (size_t k = 0; k < members.size(); ++k) {
    size_t i = members[k];
    BatchSequence b;
    b.tokens = next_tokens[k];
    b.pos0 = static_cast<int64_t>(cases[i].tokens.size());
    b.blocks = tables[i];
    b.lora = cases[i].lora;
    step.push_back(b);
  }
  ASSERT_TRUE(model_->forward_batch(step, pool, threads, &logits).is_ok());
  for (size_t k = 0; k < members.size(); ++k) {
    size_t i = members[k];
    std::vector<int32_t> whole(cases[i].tokens.begin(), cases[i].tokens.end());
    whole.push_back(next_tokens[k][0]);
    std::vector<float> own = alone(whole, cases[i].lora, threads);
    EXPECT_EQ(row(logits, static_cast<int64_t>(k)),
              row(own, static_cast<int64_t>(whole.size()) - 1))
        << "decode of sequence " << i;
  }
}

TEST_F(LoraServing, AdapterForOtherShapesIsRefused) {
  HfConfig other = model_->config();
  other.hidden_size *= 2;
  LoraConfig config;
  config.rank = 2;
  config.targets = {LoraTarget::UP_PROJ};
  auto wrong = LoraAdapter::init(other, config, 1);
  ASSERT_TRUE(wrong.is_ok()) << wrong.status().to_string();
  Status fits = lora_fits(model_->config(), *wrong);
  ASSERT_FALSE(fits.is_ok());
  EXPECT_NE(fits.message().find("up_proj"), std::string::npos) << fits.message();

  HfConfig fewer = model_->config();
  fewer.num_layers = 1;
  auto short_one = LoraAdapter::init(fewer, config, 1);
  ASSERT_TRUE(short_one.is_ok());
  EXPECT_NE(lora_fits(model_->config(), *short_one).message().find("layers"), std::string::npos);

  KvPool pool = model_->new_pool(POOL_BLOCKS, BLOCK_SIZE);
  std::vector<int32_t> table = {0, 1, 2};
  BatchSequence b;
  b.tokens = std::span<const int32_t>(ids_).first(5);
  b.blocks = table;
  b.lora = &*wrong;
  std::vector<float> logits;
  ThreadPool threads(1);
  Status st = model_->forward_batch({&b, 1}, pool, threads, &logits);
  EXPECT_EQ(st.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.message().find("sequence 0"), std::string::npos) << st.message();
}

TEST_F(LoraServing, IdentityTellsAdaptersApart) {
  uint64_t a = lora_identity(*a_);
  EXPECT_NE(a, 0u);
  auto again =
      LoraAdapter::load_peft(testing::golden_dir("llama-lora") + "/adapter", model_->config());
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(lora_identity(*again), a);
  EXPECT_NE(lora_identity(*b_), a);
  // One value changed by one ulp.
  std::span<float> first = again->tensors().back();
  first[0] = std::nextafter(first[0], 1.0f);
  EXPECT_NE(lora_identity(*again), a);
  // The same shapes, every value zero.
  EXPECT_NE(lora_identity(a_->zeros_like()), a);
}

}  // namespace
}  // namespace socle::engine
