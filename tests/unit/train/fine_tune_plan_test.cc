// A fine-tuning job's plan: each "auto" rule on both sides of its boundaries, each refused
// value with the field it names, and the estimate's arithmetic worked out by hand for a small
// llama (hidden 64, 4 heads of 16, 2 KV heads, intermediate 128, 2 layers, vocabulary 512).
#include "train/fine_tune_plan.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace socle::train {
namespace {

engine::HfConfig small_llama() {
  engine::HfConfig c;
  c.family = engine::ModelFamily::LLAMA;
  c.head = engine::ModelHead::CAUSAL_LM;
  c.vocab_size = 512;
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 2048;
  return c;
}

// A plan for `examples` examples of 100 tokens each.
FineTunePlan plan(int64_t examples, const HyperparameterRequest& request = {}) {
  auto p = plan_fine_tune(small_llama(), request, examples, examples * 100, 100, 1e9);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return p.is_ok() ? *p : FineTunePlan{};
}

Status refusal(const HyperparameterRequest& request, int64_t examples = 100) {
  auto p = plan_fine_tune(small_llama(), request, examples, examples * 100, 100, 1e9);
  return p.status_or_ok();
}

TEST(FineTunePlan, AutoEpochsFollowOpenAisRule) {
  // 3 epochs; below 100 examples seen, ceil(100 / n) up to 25; above 25,000, floor(25000 / n).
  EXPECT_EQ(plan(1).hyperparameters.n_epochs, 25);
  EXPECT_EQ(plan(4).hyperparameters.n_epochs, 25);
  EXPECT_EQ(plan(5).hyperparameters.n_epochs, 20);
  EXPECT_EQ(plan(10).hyperparameters.n_epochs, 10);
  EXPECT_EQ(plan(33).hyperparameters.n_epochs, 4);    // 99 < 100
  EXPECT_EQ(plan(34).hyperparameters.n_epochs, 3);    // 102
  EXPECT_EQ(plan(8333).hyperparameters.n_epochs, 3);  // 24,999
  EXPECT_EQ(plan(8334).hyperparameters.n_epochs, 2);  // 25,002
  EXPECT_EQ(plan(12500).hyperparameters.n_epochs, 2);
  EXPECT_EQ(plan(12501).hyperparameters.n_epochs, 1);
  EXPECT_EQ(plan(30000).hyperparameters.n_epochs, 1);
}

TEST(FineTunePlan, AutoBatchSizeIsAboutTwoPerThousandUpTo256) {
  EXPECT_EQ(plan(1).hyperparameters.batch_size, 1);
  EXPECT_EQ(plan(500).hyperparameters.batch_size, 1);
  EXPECT_EQ(plan(501).hyperparameters.batch_size, 2);
  EXPECT_EQ(plan(127500).hyperparameters.batch_size, 255);
  EXPECT_EQ(plan(127501).hyperparameters.batch_size, 256);
  EXPECT_EQ(plan(1000000).hyperparameters.batch_size, 256);
}

TEST(FineTunePlan, AutoMultiplierGrowsWithTheBatch) {
  auto with_batch = [](int64_t b) {
    HyperparameterRequest r;
    r.batch_size = b;
    return plan(256, r).hyperparameters;
  };
  EXPECT_DOUBLE_EQ(with_batch(1).learning_rate_multiplier, 0.05);
  EXPECT_DOUBLE_EQ(with_batch(7).learning_rate_multiplier, 0.05);
  EXPECT_DOUBLE_EQ(with_batch(8).learning_rate_multiplier, 0.1);
  EXPECT_DOUBLE_EQ(with_batch(63).learning_rate_multiplier, 0.1);
  EXPECT_DOUBLE_EQ(with_batch(64).learning_rate_multiplier, 0.2);
  EXPECT_DOUBLE_EQ(with_batch(256).learning_rate_multiplier, 0.2);
  // The LoRA base rate is 2e-3: 1e-4, 2e-4, 4e-4.
  EXPECT_DOUBLE_EQ(with_batch(1).learning_rate, 1e-4);
  EXPECT_DOUBLE_EQ(with_batch(8).learning_rate, 2e-4);
  EXPECT_DOUBLE_EQ(with_batch(64).learning_rate, 4e-4);
  HyperparameterRequest r;
  r.learning_rate_multiplier = 10;
  EXPECT_DOUBLE_EQ(plan(100, r).hyperparameters.learning_rate, 2e-2);
  EXPECT_DOUBLE_EQ(plan(100, r).train.lr.peak, 2e-2);
}

TEST(FineTunePlan, LoraDefaultsAndChoices) {
  FineTunePlan p = plan(100);
  EXPECT_EQ(p.hyperparameters.lora.rank, 8);
  EXPECT_DOUBLE_EQ(p.hyperparameters.lora.alpha, 16);
  EXPECT_EQ(p.hyperparameters.lora.targets.size(), engine::LORA_TARGET_COUNT);
  EXPECT_EQ(p.hyperparameters.seed, 0U);
  HyperparameterRequest r;
  r.lora_rank = 32;  // k_proj and v_proj are (64 -> 32): 32 is the most they take
  r.lora_targets = {engine::LoraTarget::V_PROJ, engine::LoraTarget::Q_PROJ};
  r.seed = 7;
  FineTunePlan q = plan(100, r);
  EXPECT_EQ(q.hyperparameters.lora.rank, 32);
  EXPECT_DOUBLE_EQ(q.hyperparameters.lora.alpha, 64);  // twice the rank when not given
  EXPECT_EQ(q.hyperparameters.lora.targets, r.lora_targets);
  EXPECT_EQ(q.hyperparameters.seed, 7U);
  EXPECT_EQ(q.train.seed, 7U);
  r.lora_targets = {engine::LoraTarget::Q_PROJ};
  r.lora_rank = 64;
  r.lora_alpha = 0.5;
  EXPECT_EQ(plan(100, r).hyperparameters.lora.rank, 64);
  EXPECT_DOUBLE_EQ(plan(100, r).hyperparameters.lora.alpha, 0.5);
  // A model too narrow for rank 8 gets its largest rank.
  engine::HfConfig tiny = small_llama();
  tiny.num_kv_heads = 1;
  tiny.head_dim = 4;
  tiny.num_heads = 16;
  auto t = plan_fine_tune(tiny, {}, 10, 1000, 100, 1e9);
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(t->hyperparameters.lora.rank, 4);
  EXPECT_DOUBLE_EQ(t->hyperparameters.lora.alpha, 8);
}

void expect_refused(const HyperparameterRequest& r, const std::string& param,
                    int64_t examples = 100) {
  Status s = refusal(r, examples);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT) << param;
  EXPECT_EQ(s.param(), param) << s.message();
  EXPECT_EQ(s.message().rfind(param, 0), 0U) << s.message();
}

TEST(FineTunePlan, RefusesValuesOutOfRangeNamingTheField) {
  HyperparameterRequest r;
  for (int64_t e : {0, 51, -3}) {
    r = {};
    r.n_epochs = e;
    expect_refused(r, "hyperparameters.n_epochs");
  }
  for (int64_t e : {1, 50}) {
    r = {};
    r.n_epochs = e;
    EXPECT_EQ(plan(100, r).hyperparameters.n_epochs, e);
  }
  for (int64_t b : {0, 257}) {
    r = {};
    r.batch_size = b;
    expect_refused(r, "hyperparameters.batch_size", 1000);
  }
  r = {};
  r.batch_size = 11;
  expect_refused(r, "hyperparameters.batch_size", 10);  // more than the examples
  r.batch_size = 10;
  EXPECT_EQ(plan(10, r).hyperparameters.batch_size, 10);
  r.batch_size = 256;
  EXPECT_EQ(plan(256, r).hyperparameters.batch_size, 256);
  for (double m : {0.0, -1.0, 10.001, std::numeric_limits<double>::quiet_NaN(),
                   std::numeric_limits<double>::infinity()}) {
    r = {};
    r.learning_rate_multiplier = m;
    expect_refused(r, "hyperparameters.learning_rate_multiplier");
  }
  for (int64_t rank : {0, 257, 33}) {  // 33: more than k_proj's 32 outputs
    r = {};
    r.lora_rank = rank;
    expect_refused(r, "lora.rank");
  }
  for (double a : {0.0, -2.0, std::numeric_limits<double>::quiet_NaN()}) {
    r = {};
    r.lora_alpha = a;
    expect_refused(r, "lora.alpha");
  }
  r = {};
  r.lora_targets = {engine::LoraTarget::Q_PROJ, engine::LoraTarget::Q_PROJ};
  expect_refused(r, "lora.target_modules");

  engine::HfConfig bert = small_llama();
  bert.family = engine::ModelFamily::BERT;
  bert.head = engine::ModelHead::ENCODER;
  auto p = plan_fine_tune(bert, {}, 10, 1000, 100, 1e9);
  ASSERT_FALSE(p.is_ok());
  EXPECT_EQ(p.status().param(), "model");
  EXPECT_FALSE(plan_fine_tune(small_llama(), {}, 0, 0, 0, 1e9).is_ok());
}

TEST(FineTunePlan, EstimateWorkedOutByHand) {
  HyperparameterRequest r;
  r.n_epochs = 3;
  r.batch_size = 4;
  auto p = plan_fine_tune(small_llama(), r, 10, 1000, 100, 1e9);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  // Frozen weights per layer: q 64x64 = 4096, k and v 64x32 = 2048 each, o 4096, gate, up and
  // down 64x128 = 8192 each: 36,864; two layers and lm_head (64 x 512 = 32,768): 106,496.
  EXPECT_EQ(fine_tune_matmul_parameters(small_llama()), 106496);
  // Rank 8 on all seven: 8 x (128 + 96 + 96 + 128 + 192 + 192 + 192) = 8,192 per layer.
  EXPECT_EQ(fine_tune_lora_parameters(small_llama(), p->hyperparameters.lora), 16384);
  // Floats per token and layer: 4 x 64 + 2 x 64 + 2 x 32 + 3 x 128 + 7 x 8 = 888; two layers
  // 1,776, plus x_final and h_final 128, rope 16, logits and their gradient 1,024, gradients
  // in flight 128 + 256: 3,328 floats, 13,312 bytes.
  EXPECT_EQ(fine_tune_activation_bytes(small_llama(), p->hyperparameters.lora, 1), 13312);
  EXPECT_EQ(p->examples, 10);
  EXPECT_EQ(p->tokens_per_epoch, 1000);
  EXPECT_EQ(p->trained_tokens, 3000);
  EXPECT_EQ(p->steps, 8);  // ceil(10 x 3 / 4)
  EXPECT_EQ(p->train.steps, 8);
  EXPECT_EQ(p->train.micro_batch, 4);
  EXPECT_EQ(p->train.accumulation, 1);
  EXPECT_EQ(p->train.lr.total_steps, 8);
  EXPECT_EQ(p->train.lr.warmup_steps, 0);  // floor(8 x 0.03)
  EXPECT_DOUBLE_EQ(p->train.lr.floor_ratio, 0.1);
  EXPECT_TRUE(p->train.shuffle);
  // 4 N T + 6 P T = 4 x 106,496 x 3,000 + 6 x 16,384 x 3,000.
  EXPECT_DOUBLE_EQ(p->estimated_flops, 1277952000.0 + 294912000.0);
  EXPECT_DOUBLE_EQ(p->estimated_seconds, 1.572864);
  // 16 bytes per adapter parameter, and 4 examples of 100 tokens.
  EXPECT_EQ(p->estimated_memory_bytes, 16 * 16384 + 4 * 100 * 13312);

  // Warm-up: 3% of the steps, rounded down.
  r.n_epochs = 10;
  r.batch_size = 1;
  auto w = plan_fine_tune(small_llama(), r, 10, 1000, 100, 0);
  ASSERT_TRUE(w.is_ok());
  EXPECT_EQ(w->steps, 100);
  EXPECT_EQ(w->train.lr.warmup_steps, 3);
  EXPECT_EQ(w->estimated_seconds, 0);  // no speed known, no time
}

TEST(FineTunePlan, SplitsTheBatchIntoMicroBatchesThatFit) {
  // 13,312 bytes a token: 60,000 tokens take 798,720,000 bytes, two of them fit in 2 GiB but
  // not four; 100,000 tokens (1,331,200,000 bytes) only one at a time.
  HyperparameterRequest r;
  r.batch_size = 4;
  auto two = plan_fine_tune(small_llama(), r, 10, 600000, 60000, 1e9);
  ASSERT_TRUE(two.is_ok());
  EXPECT_EQ(two->train.micro_batch, 2);
  EXPECT_EQ(two->train.accumulation, 2);
  auto one = plan_fine_tune(small_llama(), r, 10, 1000000, 100000, 1e9);
  ASSERT_TRUE(one.is_ok());
  EXPECT_EQ(one->train.micro_batch, 1);
  EXPECT_EQ(one->train.accumulation, 4);
  EXPECT_EQ(one->estimated_memory_bytes, 16 * 16384 + int64_t{100000} * 13312);
  // A batch of 6: 3 x 798,720,000 is over 2 GiB, so micro-batches of 2, three of them.
  r.batch_size = 6;
  auto three = plan_fine_tune(small_llama(), r, 10, 600000, 60000, 1e9);
  ASSERT_TRUE(three.is_ok());
  EXPECT_EQ(three->train.micro_batch, 2);
  EXPECT_EQ(three->train.accumulation, 3);
}

}  // namespace
}  // namespace socle::train
