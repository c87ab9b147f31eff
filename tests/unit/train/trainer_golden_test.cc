// Ten steps of the training loop against PyTorch and peft in float64
// (../shared/golden/llama-lora-train): each step's learning rate, loss and gradient norm,
// and the LoRA weights after the last step, within the golden README's bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "base/file.h"
#include "engine/format/safetensors.h"
#include "engine/models/llama.h"
#include "train/trainer.h"
#include "unit/engine/golden.h"

namespace socle::train {
namespace {

using engine::testing::golden_dir;
using engine::testing::relative_error;
using engine::testing::tensor_f32;
using engine::testing::tensor_i32;

constexpr double LR_TOLERANCE = 1e-12;  // both in double
constexpr double LOSS_TOLERANCE = 1e-5;
constexpr double GRAD_NORM_TOLERANCE = 1e-5;
constexpr double FINAL_WEIGHT_TOLERANCE = 1e-4;  // per tensor

TrainConfig golden_loop() {
  TrainConfig c;
  c.steps = 10;
  c.micro_batch = 1;
  c.accumulation = 2;
  c.lr.peak = 2e-3;
  c.lr.floor_ratio = 0.1;
  c.lr.warmup_steps = 2;
  c.adamw = AdamWConfig{0.9, 0.999, 1e-8, 0.01};
  c.max_grad_norm = 1.0;
  return c;
}

TEST(TrainerGolden, TenStepsAsPyTorch) {
  std::string dir = golden_dir("llama-lora-train");
  auto model = engine::LlamaModel::load(dir + "/base");
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  auto adapter = engine::LoraAdapter::load_peft(dir + "/adapter-initial", model->config());
  ASSERT_TRUE(adapter.is_ok()) << adapter.status().to_string();
  auto ref = engine::SafetensorsFile::open(dir + "/ref.safetensors");
  ASSERT_TRUE(ref.is_ok());
  auto text = read_file(dir + "/ref.json");
  ASSERT_TRUE(text.is_ok());
  boost::json::array trace = boost::json::parse(*text).as_object().at("trace").as_array();

  std::vector<TrainExample> data;
  for (int i = 0; i < 4; ++i) {
    TrainExample ex;
    ex.tokens = tensor_i32(*ref, "input_ids." + std::to_string(i));
    ex.labels = tensor_i32(*ref, "labels." + std::to_string(i));
    data.push_back(std::move(ex));
  }
  auto trainer = Trainer::create(*model, std::move(adapter).value(), data, golden_loop());
  ASSERT_TRUE(trainer.is_ok()) << trainer.status().to_string();
  auto reports = trainer->run();
  ASSERT_TRUE(reports.is_ok()) << reports.status().to_string();
  ASSERT_EQ(reports->size(), trace.size());
  double worst_loss = 0;
  double worst_norm = 0;
  for (size_t k = 0; k < trace.size(); ++k) {
    const boost::json::object& want = trace[k].as_object();
    const StepReport& got = (*reports)[k];
    double lr = want.at("lr").to_number<double>();
    double loss = want.at("loss").to_number<double>();
    double norm = want.at("grad_norm").to_number<double>();
    EXPECT_LT(std::fabs(got.lr - lr) / lr, LR_TOLERANCE) << "step " << k;
    EXPECT_LT(std::fabs(got.loss - loss) / loss, LOSS_TOLERANCE) << "step " << k;
    EXPECT_LT(std::fabs(got.grad_norm - norm) / norm, GRAD_NORM_TOLERANCE) << "step " << k;
    worst_loss = std::max(worst_loss, std::fabs(got.loss - loss) / loss);
    worst_norm = std::max(worst_norm, std::fabs(got.grad_norm - norm) / norm);
    EXPECT_EQ(got.trained_tokens, want.at("trained_tokens").to_number<int64_t>()) << "step " << k;
    const boost::json::array& examples = want.at("examples").as_array();
    ASSERT_EQ(got.examples.size(), examples.size());
    for (size_t e = 0; e < examples.size(); ++e)
      EXPECT_EQ(got.examples[e], examples[e].to_number<int64_t>()) << "step " << k;
  }
  std::vector<std::string> names = trainer->adapter().tensor_names();
  std::vector<std::span<const float>> weights = trainer->adapter().tensors();
  double worst_weight = 0;
  for (size_t k = 0; k < names.size(); ++k) {
    std::vector<float> want = tensor_f32(*ref, "final." + names[k]);
    double err = relative_error(weights[k], want);
    EXPECT_LT(err, FINAL_WEIGHT_TOLERANCE) << names[k];
    worst_weight = std::max(worst_weight, err);
  }
  std::cout << "worst relative errors: loss " << worst_loss << ", gradient norm " << worst_norm
            << ", final weights " << worst_weight << "\n";
}

}  // namespace
}  // namespace socle::train
