// The trainer's forward, loss, backward and AdamW step against PyTorch and peft
// (../shared/golden/llama-lora): logits with the adapter, the loss, d loss / d every LoRA
// weight and the weights after one torch.optim.AdamW step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "engine/format/safetensors.h"
#include "engine/lora/lora_adapter.h"
#include "engine/models/llama.h"
#include "train/adamw.h"
#include "train/cross_entropy.h"
#include "train/lora_backward.h"
#include "train/lora_forward.h"
#include "unit/engine/golden.h"

namespace socle::train {
namespace {

using engine::testing::golden_dir;
using engine::testing::relative_error;
using engine::testing::tensor_f32;
using engine::testing::tensor_i32;

constexpr double LOGITS_TOLERANCE = 1e-4;  // per row
constexpr double LOSS_TOLERANCE = 1e-4;
constexpr double GRAD_TOLERANCE = 1e-4;  // per tensor
constexpr double ADAMW_TOLERANCE = 1e-5;
constexpr double ENGINE_TOLERANCE = 1e-6;  // per row, against LlamaModel::forward

class LoraGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = engine::LlamaModel::load(golden_dir("llama-lora") + "/base");
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    model_.emplace(std::move(model).value());
    auto adapter =
        engine::LoraAdapter::load_peft(golden_dir("llama-lora") + "/adapter", model_->config());
    ASSERT_TRUE(adapter.is_ok()) << adapter.status().to_string();
    adapter_.emplace(std::move(adapter).value());
    auto ref = engine::SafetensorsFile::open(golden_dir("llama-lora") + "/ref.safetensors");
    ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();
    ref_.emplace(std::move(ref).value());
  }

  std::optional<engine::LlamaModel> model_;
  std::optional<engine::LoraAdapter> adapter_;
  std::optional<engine::SafetensorsFile> ref_;
};

TEST_F(LoraGolden, AdapterConfigAsPeftWroteIt) {
  EXPECT_EQ(adapter_->config().rank, 4);
  EXPECT_EQ(adapter_->config().alpha, 8.0);
  EXPECT_EQ(adapter_->scaling(), 2.0);
  EXPECT_EQ(adapter_->config().targets.size(), engine::LORA_TARGET_COUNT);
}

TEST_F(LoraGolden, LogitsLossAndEveryGradient) {
  std::vector<int32_t> ids = tensor_i32(*ref_, "input_ids");
  std::vector<int32_t> labels = tensor_i32(*ref_, "labels");
  std::vector<float> ref_logits = tensor_f32(*ref_, "logits");
  const int64_t vocab = model_->config().vocab_size;

  LoraActivations acts;
  std::vector<float> logits;
  ASSERT_TRUE(lora_forward(*model_, *adapter_, ids, &acts, &logits).is_ok());
  ASSERT_EQ(logits.size(), ref_logits.size());
  double worst = 0;
  for (size_t t = 0; t < ids.size(); ++t) {
    std::span<const float> got(&logits[t * static_cast<size_t>(vocab)], static_cast<size_t>(vocab));
    std::span<const float> want(&ref_logits[t * static_cast<size_t>(vocab)],
                                static_cast<size_t>(vocab));
    worst = std::max(worst, relative_error(got, want));
  }
  EXPECT_LT(worst, LOGITS_TOLERANCE);
  std::cout << "logits: worst row's relative error " << worst << "\n";

  std::vector<int32_t> targets = next_token_targets(labels);
  int64_t count = trained_positions(targets, {});
  EXPECT_EQ(count, 30);  // labels 10 .. 39, predicted from rows 9 .. 38
  std::vector<float> dlogits(logits.size());
  double loss = cross_entropy<float>(dlogits.data(), logits.data(), targets, {}, vocab,
                                     1.0 / static_cast<double>(count)) /
                static_cast<double>(count);
  double ref_loss = tensor_f32(*ref_, "loss")[0];
  EXPECT_LT(std::fabs(loss - ref_loss) / std::fabs(ref_loss), LOSS_TOLERANCE)
      << loss << " vs " << ref_loss;
  std::cout << "loss: relative error " << std::fabs(loss - ref_loss) / std::fabs(ref_loss) << "\n";

  engine::LoraAdapter grads = adapter_->zeros_like();
  lora_backward(*model_, *adapter_, acts, dlogits.data(), &grads);
  std::vector<std::string> names = grads.tensor_names();
  std::vector<std::span<const float>> got = std::as_const(grads).tensors();
  ASSERT_EQ(names.size(), 42u);
  double worst_grad = 0;
  for (size_t k = 0; k < names.size(); ++k) {
    std::vector<float> want = tensor_f32(*ref_, "grad." + names[k]);
    double err = relative_error(got[k], want);
    EXPECT_LT(err, GRAD_TOLERANCE) << names[k];
    worst_grad = std::max(worst_grad, err);
  }
  std::cout << "gradients: worst tensor's relative error " << worst_grad << "\n";
}

// One step from the reference gradients, so that the optimiser is checked on its own.
TEST_F(LoraGolden, OneAdamWStep) {
  std::vector<std::string> names = adapter_->tensor_names();
  std::vector<std::vector<float>> grads;
  for (const std::string& name : names)
    grads.push_back(tensor_f32(*ref_, "grad." + name));
  std::vector<std::span<const float>> grad_spans(grads.begin(), grads.end());
  AdamW adamw(AdamWConfig{0.9, 0.999, 1e-8, 0.01});
  adamw.step(adapter_->tensors(), grad_spans, 1e-3);
  std::vector<std::span<const float>> after = std::as_const(*adapter_).tensors();
  double worst = 0;
  for (size_t k = 0; k < names.size(); ++k) {
    std::vector<float> want = tensor_f32(*ref_, "after_adamw." + names[k]);
    double err = relative_error(after[k], want);
    EXPECT_LT(err, ADAMW_TOLERANCE) << names[k];
    worst = std::max(worst, err);
  }
  std::cout << "AdamW step: worst tensor's relative error " << worst << "\n";
}

// With B zero the adapter changes nothing: the training forward is the engine's forward.
TEST_F(LoraGolden, ZeroAdapterForwardIsTheEnginesForward) {
  engine::LoraAdapter zero = adapter_->zeros_like();
  std::vector<int32_t> ids = tensor_i32(*ref_, "input_ids");
  LoraActivations acts;
  std::vector<float> logits;
  ASSERT_TRUE(lora_forward(*model_, zero, ids, &acts, &logits).is_ok());
  engine::KvCache cache = model_->new_cache(static_cast<int64_t>(ids.size()));
  std::vector<float> engine_logits;
  ASSERT_TRUE(model_->forward(ids, cache, &engine_logits).is_ok());
  // The same kernels on the same inputs; only the engine's attention over its paged cache
  // may order its sums differently.
  ASSERT_EQ(logits.size(), engine_logits.size());
  const auto vocab = static_cast<size_t>(model_->config().vocab_size);
  for (size_t t = 0; t < ids.size(); ++t) {
    std::span<const float> got(&logits[t * vocab], vocab);
    std::span<const float> want(&engine_logits[t * vocab], vocab);
    EXPECT_LT(relative_error(got, want), ENGINE_TOLERANCE) << "row " << t;
  }
}

}  // namespace
}  // namespace socle::train
