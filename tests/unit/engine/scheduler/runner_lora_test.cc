// The runner with LoRA adapters per sequence (SequenceRequest::lora): base-model sequences
// and sequences of two adapters run together give bitwise the tokens and log-probabilities
// each gives alone; the prefix cache never hands one adapter's (or the base model's) KV
// blocks to another, but shares them between requests of the same adapter content; an
// adapter made for another model is refused.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/format/safetensors.h"
#include "engine/scheduler/runner.h"
#include "unit/engine/golden.h"
#include "unit/engine/scheduler/collector.h"

namespace socle::engine::scheduler {
namespace {

using testing::Collector;
using testing::expect_same;
using testing::idle_stats;

// The random adapter's B values: large enough that its samples differ from the base's.
constexpr float RANDOM_B_SCALE = 0.05f;

struct Fixture {
  std::optional<LlamaModel> model;
  std::shared_ptr<const LoraAdapter> peft;   // ../shared/golden/llama-lora/adapter
  std::shared_ptr<const LoraAdapter> other;  // random, on three targets
  std::vector<int32_t> ids;
};

std::shared_ptr<const LoraAdapter> load_peft(const LlamaModel& model) {
  auto a = LoraAdapter::load_peft(testing::golden_dir("llama-lora") + "/adapter", model.config());
  EXPECT_TRUE(a.is_ok()) << a.status().to_string();
  return std::make_shared<const LoraAdapter>(std::move(a).value());
}

Fixture load() {
  Fixture f;
  auto model = LlamaModel::load(testing::golden_dir("llama-lora") + "/base");
  EXPECT_TRUE(model.is_ok()) << model.status().to_string();
  f.model.emplace(std::move(model).value());
  f.peft = load_peft(*f.model);
  LoraConfig config;
  config.rank = 2;
  config.alpha = 5;
  config.targets = {LoraTarget::K_PROJ, LoraTarget::UP_PROJ, LoraTarget::O_PROJ};
  auto other = LoraAdapter::init(f.model->config(), config, 4);
  EXPECT_TRUE(other.is_ok());
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, RANDOM_B_SCALE);
  for (std::span<float> t : other->tensors()) {
    for (float& v : t)
      v = normal(rng);
  }
  f.other = std::make_shared<const LoraAdapter>(std::move(other).value());
  auto ref = SafetensorsFile::open(testing::golden_dir("llama-lora") + "/ref.safetensors");
  EXPECT_TRUE(ref.is_ok());
  f.ids = testing::tensor_i32(*ref, "input_ids");
  return f;
}

RunnerOptions options(const LlamaModel& m) {
  const HfConfig& c = m.config();
  RunnerOptions o;
  o.block_tokens = 4;
  o.kv_bytes =
      128 * KvPool::bytes_per_block(c.num_layers, o.block_tokens, c.num_kv_heads * c.head_dim);
  o.max_batch_tokens = 24;  // prompts read in chunks, beside other sequences' decode steps
  o.max_sequences = 16;
  o.threads = 2;
  return o;
}

SequenceRequest request(std::span<const int32_t> prompt, std::shared_ptr<const LoraAdapter> lora,
                        int seed) {
  SequenceRequest r;
  r.prompt.assign(prompt.begin(), prompt.end());
  r.max_tokens = 8;
  r.sampling.temperature = 0.9;
  r.sampling.seed = seed;
  r.sampling.top_logprobs = 3;
  r.user = "user" + std::to_string(seed % 3);
  r.lora = std::move(lora);
  return r;
}

std::vector<sampling::Sample> run(Runner& runner, const SequenceRequest& r) {
  auto sink = std::make_shared<Collector>();
  EXPECT_TRUE(runner.submit(r, sink).is_ok());
  EXPECT_TRUE(sink->wait());
  return sink->samples();
}

std::vector<sampling::Sample> alone(const Fixture& f, const SequenceRequest& r) {
  auto runner = Runner::start(*f.model, options(*f.model));
  EXPECT_TRUE(runner.is_ok());
  return run(**runner, r);
}

TEST(RunnerLora, BaseAndAdapterSequencesTogetherEqualEachAlone) {
  Fixture f = load();
  std::span<const int32_t> ids(f.ids);
  const std::vector<std::shared_ptr<const LoraAdapter>> loras = {nullptr, f.peft, f.other};
  std::vector<SequenceRequest> reqs;
  for (int i = 0; i < 12; ++i) {
    // Prompts of 6 to 39 tokens, most sharing a prefix, each model on the same prompts.
    std::span<const int32_t> prompt = ids.first(static_cast<size_t>(6 + (i / 3) * 11));
    reqs.push_back(request(prompt, loras[static_cast<size_t>(i % 3)], 100 + i / 3));
  }
  std::vector<std::vector<sampling::Sample>> want;
  for (const auto& r : reqs)
    want.push_back(alone(f, r));
  // The same prompt and seed on each model: the adapters change the output.
  EXPECT_NE(want[0][0].logprob, want[1][0].logprob);
  EXPECT_NE(want[0][0].logprob, want[2][0].logprob);
  EXPECT_NE(want[1][0].logprob, want[2][0].logprob);

  auto runner = Runner::start(*f.model, options(*f.model));
  ASSERT_TRUE(runner.is_ok());
  std::vector<std::shared_ptr<Collector>> sinks;
  for (const auto& r : reqs) {
    sinks.push_back(std::make_shared<Collector>());
    ASSERT_TRUE((*runner)->submit(r, sinks.back()).is_ok());
  }
  for (size_t i = 0; i < reqs.size(); ++i) {
    ASSERT_TRUE(sinks[i]->wait());
    expect_same(sinks[i]->samples(), want[i], "request " + std::to_string(i));
  }
  RunnerStats st = idle_stats(**runner, static_cast<int64_t>(reqs.size()));
  EXPECT_EQ(st.blocks.used, 0) << "every block went back";
  EXPECT_EQ(st.finished, static_cast<int64_t>(reqs.size()));
}

TEST(RunnerLora, PrefixCacheIsNeverSharedAcrossAdapters) {
  Fixture f = load();
  std::span<const int32_t> prompt = std::span<const int32_t>(f.ids).first(33);
  SequenceRequest on_base = request(prompt, nullptr, 7);
  SequenceRequest on_peft = request(prompt, f.peft, 7);
  SequenceRequest on_other = request(prompt, f.other, 7);
  std::vector<sampling::Sample> peft_alone = alone(f, on_peft);
  std::vector<sampling::Sample> other_alone = alone(f, on_other);

  auto runner = Runner::start(*f.model, options(*f.model));
  ASSERT_TRUE(runner.is_ok());
  run(**runner, on_base);
  int64_t hits = idle_stats(**runner, 1).blocks.hit_tokens;
  // The base model's blocks are cached; the adapters must not take them.
  expect_same(run(**runner, on_peft), peft_alone, "the adapter after the base model");
  EXPECT_EQ(idle_stats(**runner, 2).blocks.hit_tokens, hits) << "no cache hit across models";
  expect_same(run(**runner, on_other), other_alone, "another adapter after the first");
  EXPECT_EQ(idle_stats(**runner, 3).blocks.hit_tokens, hits) << "no cache hit across adapters";

  // The same adapter content, loaded again as another object: its blocks are shared, and
  // the output is still the adapter's own.
  SequenceRequest same_content = request(prompt, load_peft(*f.model), 7);
  expect_same(run(**runner, same_content), peft_alone, "the same adapter, loaded again");
  EXPECT_GT(idle_stats(**runner, 4).blocks.hit_tokens, hits) << "a hit for the same adapter";
}

TEST(RunnerLora, RefusesAnAdapterThatDoesNotFit) {
  Fixture f = load();
  HfConfig other = f.model->config();
  other.intermediate_size += 8;
  LoraConfig config;
  config.rank = 2;
  config.targets = {LoraTarget::DOWN_PROJ};
  auto wrong = LoraAdapter::init(other, config, 1);
  ASSERT_TRUE(wrong.is_ok());
  auto runner = Runner::start(*f.model, options(*f.model));
  ASSERT_TRUE(runner.is_ok());
  SequenceRequest r = request(std::span<const int32_t>(f.ids).first(5),
                              std::make_shared<const LoraAdapter>(std::move(wrong).value()), 1);
  auto st = (*runner)->submit(r, std::make_shared<Collector>());
  ASSERT_FALSE(st.is_ok());
  EXPECT_EQ(st.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.status().message().find("down_proj"), std::string::npos) << st.status().message();
}

}  // namespace
}  // namespace socle::engine::scheduler
