// The trainer's thread count changes nothing: work is split by output rows, columns or heads,
// never inside a sum, so runs on 1, 2 and 3 threads of their own (and on the engine's default
// pool) end with bitwise the same adapter and report the same losses and gradient norms.
#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "engine/format/safetensors.h"
#include "engine/lora/lora_adapter.h"
#include "engine/models/llama.h"
#include "train/trainer.h"
#include "unit/engine/golden.h"

namespace socle::train {
namespace {

using engine::testing::golden_dir;
using engine::testing::tensor_i32;

struct TrainedRun {
  std::vector<StepReport> reports;
  std::vector<std::vector<float>> tensors;
};

TrainedRun train(const engine::LlamaModel& model, const std::vector<TrainExample>& data,
                 int threads) {
  engine::LoraConfig lc;
  lc.rank = 4;
  lc.alpha = 8;
  lc.targets.assign(engine::LORA_ALL_TARGETS.begin(), engine::LORA_ALL_TARGETS.end());
  auto adapter = engine::LoraAdapter::init(model.config(), lc, 5);
  EXPECT_TRUE(adapter.is_ok());
  TrainConfig c;
  c.steps = 4;
  c.micro_batch = 2;
  c.accumulation = 2;
  c.lr.peak = 5e-3;
  c.threads = threads;
  auto trainer = Trainer::create(model, std::move(adapter).value(), data, c);
  EXPECT_TRUE(trainer.is_ok()) << trainer.status().to_string();
  TrainedRun run;
  auto reports = trainer->run();
  EXPECT_TRUE(reports.is_ok()) << reports.status().to_string();
  run.reports = std::move(reports).value();
  for (std::span<const float> t : trainer->adapter().tensors())
    run.tensors.emplace_back(t.begin(), t.end());
  return run;
}

TEST(TrainerThreads, AnyThreadCountGivesBitwiseTheSameAdapter) {
  std::string dir = golden_dir("llama-lora-train");
  auto model = engine::LlamaModel::load(dir + "/base");
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  auto ref = engine::SafetensorsFile::open(dir + "/ref.safetensors");
  ASSERT_TRUE(ref.is_ok());
  std::vector<TrainExample> data;
  for (int i = 0; i < 4; ++i) {
    TrainExample ex;
    ex.tokens = tensor_i32(*ref, "input_ids." + std::to_string(i));
    ex.labels = tensor_i32(*ref, "labels." + std::to_string(i));
    data.push_back(std::move(ex));
  }

  TrainedRun one = train(*model, data, 1);
  ASSERT_EQ(one.reports.size(), 4u);
  // The run trained: B starts at zero and moved.
  EXPECT_NE(one.tensors[1], std::vector<float>(one.tensors[1].size(), 0.0f));
  for (int threads : {2, 3, 0}) {
    TrainedRun other = train(*model, data, threads);
    ASSERT_EQ(other.reports.size(), one.reports.size());
    for (size_t s = 0; s < one.reports.size(); ++s) {
      EXPECT_EQ(one.reports[s].loss, other.reports[s].loss) << threads << " threads, step " << s;
      EXPECT_EQ(one.reports[s].grad_norm, other.reports[s].grad_norm)
          << threads << " threads, step " << s;
    }
    ASSERT_EQ(other.tensors.size(), one.tensors.size());
    for (size_t k = 0; k < one.tensors.size(); ++k) {
      EXPECT_EQ(0, std::memcmp(one.tensors[k].data(), other.tensors[k].data(),
                               one.tensors[k].size() * sizeof(float)))
          << threads << " threads, tensor " << k;
    }
  }
}

TEST(TrainerThreads, ANegativeCountIsRejected) {
  auto model = engine::LlamaModel::load(golden_dir("llama-lora-train") + "/base");
  ASSERT_TRUE(model.is_ok());
  engine::LoraConfig lc;
  lc.rank = 2;
  lc.targets = {engine::LoraTarget::Q_PROJ};
  auto adapter = engine::LoraAdapter::init(model->config(), lc, 1);
  ASSERT_TRUE(adapter.is_ok());
  TrainExample ex;
  ex.tokens = {1, 2, 3};
  ex.labels = {1, 2, 3};
  TrainConfig c;
  c.threads = -1;
  auto t = Trainer::create(*model, std::move(adapter).value(), {ex}, c);
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(t.status().param(), "threads");
}

}  // namespace
}  // namespace socle::train
