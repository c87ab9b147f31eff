// The training loop's own guarantees: the schedule and clipping formulas, per-position
// weights, validation loss, input checks, and checkpoints: a run stopped after a checkpoint
// and resumed from it ends bitwise equal to an uninterrupted run.
#include "train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/format/safetensors.h"
#include "engine/models/llama.h"
#include "train/checkpoint.h"
#include "train/cross_entropy.h"
#include "train/grad_clip.h"
#include "train/lr_schedule.h"
#include "unit/engine/golden.h"
#include "unit/engine/temp_dir.h"

namespace socle::train {
namespace {

using engine::testing::golden_dir;
using engine::testing::TempDir;
using engine::testing::tensor_f32;
using engine::testing::tensor_i32;

TEST(LrSchedule, WarmupThenCosineToTheFloor) {
  LrSchedule s{1.0, 0.1, 3, 8};
  EXPECT_DOUBLE_EQ(lr_at(s, 0), 1.0 / 3);
  EXPECT_DOUBLE_EQ(lr_at(s, 2), 1.0);
  EXPECT_DOUBLE_EQ(lr_at(s, 3), 1.0);                                           // cosine at 0
  EXPECT_DOUBLE_EQ(lr_at(s, 5), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 0.5)));  // halfway
  EXPECT_DOUBLE_EQ(lr_at(s, 7), 0.1);                                           // the last step
  EXPECT_DOUBLE_EQ(lr_at(s, 9), 0.1);                                           // past the end
  EXPECT_DOUBLE_EQ(lr_at(LrSchedule{2.0, 0.1, 0, 1}, 0), 2.0);
}

TEST(GradClip, ScalesOnlyAboveTheLimitAsTorch) {
  std::vector<float> a = {3.0f};
  std::vector<float> b = {0.0f, 4.0f};
  std::vector<std::span<float>> grads = {a, b};
  EXPECT_DOUBLE_EQ(clip_grad_norm(grads, 10.0), 5.0);
  EXPECT_EQ(a[0], 3.0f);
  EXPECT_DOUBLE_EQ(clip_grad_norm(grads, 1.0), 5.0);
  EXPECT_FLOAT_EQ(a[0], static_cast<float>(3.0 / (5.0 + CLIP_NORM_EPS)));
  EXPECT_FLOAT_EQ(b[1], static_cast<float>(4.0 / (5.0 + CLIP_NORM_EPS)));
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = golden_dir("llama-lora-train");
    auto model = engine::LlamaModel::load(dir + "/base");
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    model_.emplace(std::move(model).value());
    auto ref = engine::SafetensorsFile::open(dir + "/ref.safetensors");
    ASSERT_TRUE(ref.is_ok());
    for (int i = 0; i < 4; ++i) {
      TrainExample ex;
      ex.tokens = tensor_i32(*ref, "input_ids." + std::to_string(i));
      ex.labels = tensor_i32(*ref, "labels." + std::to_string(i));
      data_.push_back(std::move(ex));
    }
  }

  engine::LoraAdapter fresh_adapter(uint64_t seed) const {
    engine::LoraConfig c;
    c.rank = 4;
    c.alpha = 8;
    c.targets = {engine::LoraTarget::Q_PROJ, engine::LoraTarget::V_PROJ,
                 engine::LoraTarget::UP_PROJ, engine::LoraTarget::DOWN_PROJ};
    auto a = engine::LoraAdapter::init(model_->config(), c, seed);
    EXPECT_TRUE(a.is_ok());
    return std::move(a).value();
  }

  static TrainConfig loop(uint64_t seed) {
    TrainConfig c;
    c.steps = 8;
    c.micro_batch = 2;
    c.accumulation = 1;
    c.lr.peak = 5e-3;
    c.lr.warmup_steps = 1;
    c.shuffle = true;
    c.seed = seed;
    return c;
  }

  std::optional<engine::LlamaModel> model_;
  std::vector<TrainExample> data_;
};

bool bitwise_equal(const engine::LoraAdapter& a, const engine::LoraAdapter& b) {
  std::vector<std::span<const float>> ta = a.tensors();
  std::vector<std::span<const float>> tb = b.tensors();
  if (ta.size() != tb.size()) return false;
  for (size_t k = 0; k < ta.size(); ++k) {
    if (ta[k].size() != tb[k].size() ||
        std::memcmp(ta[k].data(), tb[k].data(), ta[k].size_bytes()) != 0) {
      return false;
    }
  }
  return true;
}

TEST_F(TrainerTest, ResumedRunEndsBitwiseAsAnUninterruptedOne) {
  const uint64_t seed = 11;
  auto whole = Trainer::create(*model_, fresh_adapter(seed), data_, loop(seed));
  ASSERT_TRUE(whole.is_ok()) << whole.status().to_string();
  auto whole_reports = whole->run();
  ASSERT_TRUE(whole_reports.is_ok());

  TempDir dir;
  TrainConfig with_checkpoints = loop(seed);
  with_checkpoints.checkpoint_every = 3;
  with_checkpoints.checkpoint_dir = dir.file("checkpoints");
  {
    auto first = Trainer::create(*model_, fresh_adapter(seed), data_, with_checkpoints);
    ASSERT_TRUE(first.is_ok());
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE(first->step().is_ok());
    // Killed here: step 4's progress is lost; a write of checkpoint 6 was cut short.
  }
  std::filesystem::create_directories(dir.file("checkpoints/checkpoint-6.tmp"));
  auto latest = checkpoint_latest(dir.file("checkpoints"));
  ASSERT_TRUE(latest.is_ok()) << latest.status().to_string();
  EXPECT_EQ(std::filesystem::path(*latest).filename(), "checkpoint-3");

  auto resumed = Trainer::create(*model_, fresh_adapter(seed), data_, with_checkpoints);
  ASSERT_TRUE(resumed.is_ok());
  ASSERT_TRUE(resumed->resume(*latest).is_ok());
  EXPECT_EQ(resumed->steps_done(), 3);
  auto reports = resumed->run();
  ASSERT_TRUE(reports.is_ok()) << reports.status().to_string();
  ASSERT_EQ(reports->size(), 5u);
  for (const StepReport& r : *reports) {
    const StepReport& w = (*whole_reports)[static_cast<size_t>(r.step)];
    EXPECT_EQ(r.loss, w.loss) << r.step;
    EXPECT_EQ(r.grad_norm, w.grad_norm) << r.step;
    EXPECT_EQ(r.examples, w.examples) << r.step;
  }
  EXPECT_TRUE(bitwise_equal(resumed->adapter(), whole->adapter()));
  // The last step wrote a checkpoint too, holding the final adapter; the two newest are kept.
  EXPECT_FALSE(std::filesystem::exists(dir.file("checkpoints/checkpoint-3")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoints/checkpoint-6")));
  auto final_dir = checkpoint_latest(dir.file("checkpoints"));
  EXPECT_EQ(std::filesystem::path(*final_dir).filename(), "checkpoint-8");
  ASSERT_TRUE(final_dir.is_ok());
  auto saved = engine::LoraAdapter::load_peft(*final_dir, model_->config());
  ASSERT_TRUE(saved.is_ok());
  EXPECT_TRUE(bitwise_equal(*saved, whole->adapter()));

  // The same seed gives the same adapter; another seed, another.
  auto again = Trainer::create(*model_, fresh_adapter(seed), data_, loop(seed));
  ASSERT_TRUE(again.is_ok() && again->run().is_ok());
  EXPECT_TRUE(bitwise_equal(again->adapter(), whole->adapter()));
  auto other = Trainer::create(*model_, fresh_adapter(seed + 1), data_, loop(seed + 1));
  ASSERT_TRUE(other.is_ok() && other->run().is_ok());
  EXPECT_FALSE(bitwise_equal(other->adapter(), whole->adapter()));
}

TEST_F(TrainerTest, ResumeRefusesAnotherRunsCheckpoint) {
  TempDir dir;
  TrainConfig c = loop(3);
  c.steps = 1;
  c.checkpoint_every = 1;
  c.checkpoint_dir = dir.path();
  auto t = Trainer::create(*model_, fresh_adapter(3), data_, c);
  ASSERT_TRUE(t.is_ok() && t->run().is_ok());
  TrainConfig other = loop(3);
  other.micro_batch = 1;
  auto u = Trainer::create(*model_, fresh_adapter(3), data_, other);
  ASSERT_TRUE(u.is_ok());
  Status s = u->resume(dir.file("checkpoint-1"));
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("micro_batch"), std::string::npos) << s.message();
}

// Shuffling draws a permutation per pass: each pass sees every example once.
TEST_F(TrainerTest, ShuffledPassesCoverEveryExample) {
  auto t = Trainer::create(*model_, fresh_adapter(1), data_, loop(1));
  ASSERT_TRUE(t.is_ok());
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> seen;
    for (int64_t i = 0; i < 4; ++i)
      seen.push_back(t->example_at(epoch * 4 + i));
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3}));
  }
}

// A label of weight 0 is exactly a label of -100; weights of 1 change nothing.
TEST_F(TrainerTest, WeightsMaskLabels) {
  TrainConfig c = loop(2);
  c.shuffle = false;
  c.steps = 2;
  std::vector<TrainExample> weighted = data_;
  std::vector<TrainExample> masked = data_;
  for (size_t i = 0; i < data_.size(); ++i) {
    weighted[i].weights.assign(data_[i].tokens.size(), 1.0f);
    for (size_t t = 20; t < 26; ++t) {
      weighted[i].weights[t] = 0.0f;
      masked[i].labels[t] = IGNORE_LABEL;
    }
  }
  auto a = Trainer::create(*model_, fresh_adapter(2), weighted, c);
  auto b = Trainer::create(*model_, fresh_adapter(2), masked, c);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  auto ra = a->run();
  auto rb = b->run();
  ASSERT_TRUE(ra.is_ok() && rb.is_ok());
  EXPECT_EQ((*ra)[1].loss, (*rb)[1].loss);
  EXPECT_EQ((*ra)[0].trained_tokens, (*rb)[0].trained_tokens);
  EXPECT_TRUE(bitwise_equal(a->adapter(), b->adapter()));
}

// The held-out loss of the golden LoRA example is PyTorch's loss.
TEST(TrainerValidation, LossIsTheGoldenLoss) {
  std::string dir = golden_dir("llama-lora");
  auto model = engine::LlamaModel::load(dir + "/base");
  ASSERT_TRUE(model.is_ok());
  auto adapter = engine::LoraAdapter::load_peft(dir + "/adapter", model->config());
  ASSERT_TRUE(adapter.is_ok());
  auto ref = engine::SafetensorsFile::open(dir + "/ref.safetensors");
  ASSERT_TRUE(ref.is_ok());
  TrainExample ex;
  ex.tokens = tensor_i32(*ref, "input_ids");
  ex.labels = tensor_i32(*ref, "labels");
  auto t = Trainer::create(*model, std::move(adapter).value(), {ex}, TrainConfig{});
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  std::vector<TrainExample> held_out = {ex};
  auto loss = t->validation_loss(held_out);
  ASSERT_TRUE(loss.is_ok());
  double want = tensor_f32(*ref, "loss")[0];
  EXPECT_LT(std::fabs(*loss - want) / want, 1e-4);
  EXPECT_EQ(t->steps_done(), 0);
}

// A learning rate that blows the weights up stops the run before it writes non-finite values.
TEST_F(TrainerTest, DivergenceStopsTheRunBeforeTheUpdate) {
  TrainConfig c = loop(4);
  c.lr.peak = 1e30;
  c.lr.warmup_steps = 0;
  c.max_grad_norm = 0;
  auto t = Trainer::create(*model_, fresh_adapter(4), data_, c);
  ASSERT_TRUE(t.is_ok());
  Status failed;
  while (!t->done() && failed.is_ok())
    failed = t->step().status_or_ok();
  ASSERT_FALSE(failed.is_ok()) << "a learning rate of 1e30 should diverge";
  EXPECT_EQ(failed.code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(failed.message().find("training diverged at step"), std::string::npos)
      << failed.message();
  for (std::span<const float> w : t->adapter().tensors()) {
    for (float v : w)
      ASSERT_TRUE(std::isfinite(v));
  }
}

TEST_F(TrainerTest, RejectsBadExamplesNamingThem) {
  auto error = [&](const std::function<void(TrainExample*)>& edit) {
    std::vector<TrainExample> data = data_;
    edit(&data[2]);
    auto t = Trainer::create(*model_, fresh_adapter(1), data, loop(1));
    EXPECT_FALSE(t.is_ok());
    return t.is_ok() ? std::string() : t.status().message();
  };
  EXPECT_NE(
      error([](TrainExample* e) { e->labels.pop_back(); }).find("training_file[2] has 31 labels"),
      std::string::npos);
  EXPECT_NE(error([](TrainExample* e) { e->tokens[3] = 512; }).find("token 3 is 512"),
            std::string::npos);
  EXPECT_NE(error([](TrainExample* e) { e->labels[5] = -1; }).find("label 5 is -1"),
            std::string::npos);
  EXPECT_NE(error([](TrainExample* e) {
              e->labels.assign(e->labels.size(), IGNORE_LABEL);
            }).find("no trained position"),
            std::string::npos);
  EXPECT_NE(error([](TrainExample* e) {
              e->weights.assign(e->tokens.size(), 0.5f);
            }).find("the weight at position 0 is 0.5"),
            std::string::npos);
  EXPECT_NE(error([](TrainExample* e) { e->tokens.clear(); }).find("has no tokens"),
            std::string::npos);
}

}  // namespace
}  // namespace socle::train
