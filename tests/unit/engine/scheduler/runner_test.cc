// The runner against independent answers: greedy decoding equals transformers' greedy tokens
// (golden llama3), and every sequence run among many others (continuous batching, prompts in
// chunks, prefix-cache hits, preemption when blocks run short) gives bitwise the tokens and
// log-probabilities it gives alone.
#include "engine/scheduler/runner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/format/safetensors.h"
#include "unit/engine/golden.h"
#include "unit/engine/scheduler/collector.h"

namespace socle::engine::scheduler {
namespace {

using testing::Collector;
using testing::expect_same;
using testing::idle_stats;

constexpr float GREEDY_MARGIN_FLOOR = 0.01f;  // golden README

using Fixture = testing::GoldenDecoder;

Fixture load() {
  return testing::load_golden_decoder("llama3");
}

RunnerOptions small_options(int64_t blocks, const LlamaModel& m, DType kv_type = DType::F32) {
  const HfConfig& c = m.config();
  constexpr int32_t BLOCK_TOKENS = 4;
  RunnerOptions o;
  o.block_tokens = BLOCK_TOKENS;
  o.kv_type = kv_type;
  o.kv_bytes = blocks * KvPool::bytes_per_block(c.num_layers, BLOCK_TOKENS,
                                                c.num_kv_heads * c.head_dim, kv_type);
  o.max_batch_tokens = 64;
  o.max_sequences = 64;
  o.threads = 2;
  return o;
}

TEST(Runner, GreedyTokensMatchTransformers) {
  Fixture f = load();
  auto runner = Runner::start(f.model, small_options(64, f.model));
  ASSERT_TRUE(runner.is_ok()) << runner.status().to_string();
  for (int i : {1, 2}) {
    auto ids = testing::tensor_i32(f.ref, "input_ids." + std::to_string(i));
    auto greedy = testing::tensor_i32(f.ref, "greedy." + std::to_string(i));
    auto margin = testing::tensor_f32(f.ref, "greedy_margin." + std::to_string(i));
    SequenceRequest r;
    r.prompt = ids;
    r.max_tokens = static_cast<int64_t>(greedy.size());
    r.sampling.temperature = 0;
    auto sink = std::make_shared<Collector>();
    ASSERT_TRUE((*runner)->submit(r, sink).is_ok());
    ASSERT_TRUE(sink->wait());
    EXPECT_EQ(sink->reason(), FinishReason::LENGTH);
    auto got = sink->samples();
    ASSERT_EQ(got.size(), greedy.size());
    size_t checked = 0;
    for (size_t s = 0; s < greedy.size() && margin[s] >= GREEDY_MARGIN_FLOOR; ++s, ++checked)
      ASSERT_EQ(got[s].token, greedy[s]) << "case " << i << " step " << s;
    EXPECT_GT(checked, 4u);
  }
}

// A family of requests: prompts of different lengths, some sharing a long prefix (prefix
// cache), seeded sampling with penalties and log-probabilities.
std::vector<SequenceRequest> requests(const std::vector<int32_t>& base, int n) {
  std::vector<SequenceRequest> out;
  for (int i = 0; i < n; ++i) {
    SequenceRequest r;
    r.prompt.assign(base.begin(), base.begin() + 5 + (i % 3 == 0 ? 20 : i % 7));
    r.prompt.push_back(static_cast<int32_t>(3 + i * 17 % 500));
    r.max_tokens = 6 + i % 9;
    r.sampling.temperature = 0.8;
    r.sampling.top_p = 0.95;
    r.sampling.frequency_penalty = 0.3;
    r.sampling.seed = 1000 + i;
    r.sampling.top_logprobs = 3;
    r.user = "user" + std::to_string(i % 4);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<sampling::Sample> alone(Runner& runner, const SequenceRequest& r) {
  auto sink = std::make_shared<Collector>();
  EXPECT_TRUE(runner.submit(r, sink).is_ok());
  EXPECT_TRUE(sink->wait());
  return sink->samples();
}

// Prompt log-probabilities: each prompt token's is transformers' log-softmax of the golden
// logits row before it (1e-4), with the top alternatives; the prompt is read in chunks and
// after a run of the same prompt filled the prefix cache, and the generated tokens are those
// of the same request without them.
TEST(Runner, PromptLogprobsMatchTransformersWithoutChangingTheOutput) {
  Fixture f = load();
  RunnerOptions o = small_options(64, f.model);
  o.max_batch_tokens = 8;  // the 33-token prompt is read in chunks
  o.max_sequences = 8;
  auto runner = Runner::start(f.model, o);
  ASSERT_TRUE(runner.is_ok()) << runner.status().to_string();
  auto ids = testing::tensor_i32(f.ref, "input_ids.2");
  auto want = testing::tensor_f32(f.ref, "logits.2");
  auto vocab = static_cast<size_t>(f.model.config().vocab_size);
  SequenceRequest r;
  r.prompt = ids;
  r.max_tokens = 4;
  r.sampling.temperature = 0.7;
  r.sampling.seed = 9;
  auto plain = alone(**runner, r);  // also fills the prefix cache with the prompt's blocks
  r.prompt_logprobs = 2;
  for (int run = 0; run < 2; ++run) {
    auto sink = std::make_shared<Collector>();
    ASSERT_TRUE((*runner)->submit(r, sink).is_ok());
    ASSERT_TRUE(sink->wait());
    EXPECT_EQ(sink->prompt_calls(), 1);
    expect_same(sink->samples(), plain, "run " + std::to_string(run));
    auto got = sink->prompt_samples();
    ASSERT_EQ(got.size(), ids.size() - 1);
    for (size_t p = 1; p < ids.size(); ++p) {
      std::span<const float> z(want.data() + (p - 1) * vocab, vocab);
      EXPECT_EQ(got[p - 1].token, ids[p]);
      double expected = sampling::log_softmax_at(z, ids[p]);
      EXPECT_NEAR(got[p - 1].logprob, expected, 1e-4 * std::max(1.0, std::abs(expected)))
          << "position " << p;
      auto top = sampling::top_log_softmax(z, 2);
      ASSERT_EQ(got[p - 1].top.size(), 2u);
      EXPECT_EQ(got[p - 1].top[0].token, top[0].token) << "position " << p;
    }
  }
  r.prompt_logprobs = sampling::MAX_TOP_LOGPROBS + 1;
  EXPECT_EQ((*runner)->submit(r, std::make_shared<Collector>()).status().code(),
            StatusCode::INVALID_ARGUMENT);
}

// On a float32 KV pool and on an f16 one.
TEST(Runner, EachSequenceInABatchEqualsItselfAlone) {
  Fixture f = load();
  auto base = testing::tensor_i32(f.ref, "input_ids.2");
  ASSERT_GE(base.size(), 26u);
  constexpr int N = 24;
  auto reqs = requests(base, N);
  for (DType kv_type : {DType::F32, DType::F16}) {
    SCOPED_TRACE(dtype_name(kv_type));
    std::vector<std::vector<sampling::Sample>> want;
    // Alone: one at a time, each on a fresh runner (no cache shared with the others).
    for (const auto& r : reqs) {
      auto runner = Runner::start(f.model, small_options(64, f.model, kv_type));
      ASSERT_TRUE(runner.is_ok());
      want.push_back(alone(**runner, r));
    }
    // Together, with a small token budget (prompts read in chunks over several steps).
    RunnerOptions o = small_options(256, f.model, kv_type);
    o.max_batch_tokens = 32;
    o.max_sequences = 32;
    auto runner = Runner::start(f.model, o);
    ASSERT_TRUE(runner.is_ok());
    std::vector<std::shared_ptr<Collector>> sinks;
    for (const auto& r : reqs) {
      sinks.push_back(std::make_shared<Collector>());
      ASSERT_TRUE((*runner)->submit(r, sinks.back()).is_ok());
      // The first request's prompt blocks are published before the others arrive, so that
      // those sharing its prefix take them from the cache.
      if (sinks.size() == 1) {
        ASSERT_TRUE(sinks[0]->wait());
      }
    }
    for (int i = 0; i < N; ++i) {
      ASSERT_TRUE(sinks[static_cast<size_t>(i)]->wait());
      expect_same(sinks[static_cast<size_t>(i)]->samples(), want[static_cast<size_t>(i)],
                  "request " + std::to_string(i));
    }
    RunnerStats st = idle_stats(**runner, N);
    EXPECT_GT(st.blocks.hit_tokens, 0) << "requests sharing a prefix took cached blocks";
    EXPECT_EQ(st.blocks.used, 0) << "every block went back";
    EXPECT_EQ(st.running, 0);
    EXPECT_EQ(st.finished, N);
  }
}

TEST(Runner, PreemptionWhenBlocksRunShortChangesNoOutput) {
  Fixture f = load();
  auto base = testing::tensor_i32(f.ref, "input_ids.2");
  constexpr int N = 12;
  auto reqs = requests(base, N);
  for (auto& r : reqs)
    r.max_tokens = 20;
  std::vector<std::vector<sampling::Sample>> want;
  for (const auto& r : reqs) {
    auto runner = Runner::start(f.model, small_options(64, f.model));
    ASSERT_TRUE(runner.is_ok());
    want.push_back(alone(**runner, r));
  }
  // 24 blocks of 4 positions: room for two or three sequences at a time, so sequences
  // admitted together must preempt each other as they grow.
  RunnerOptions o = small_options(24, f.model);
  auto runner = Runner::start(f.model, o);
  ASSERT_TRUE(runner.is_ok());
  std::vector<std::shared_ptr<Collector>> sinks;
  for (const auto& r : reqs) {
    sinks.push_back(std::make_shared<Collector>());
    ASSERT_TRUE((*runner)->submit(r, sinks.back()).is_ok());
  }
  for (int i = 0; i < N; ++i) {
    ASSERT_TRUE(sinks[static_cast<size_t>(i)]->wait());
    EXPECT_EQ(sinks[static_cast<size_t>(i)]->reason(), FinishReason::LENGTH);
    expect_same(sinks[static_cast<size_t>(i)]->samples(), want[static_cast<size_t>(i)],
                "request " + std::to_string(i));
  }
  EXPECT_GT((*runner)->stats().preemptions, 0) << "the budget was meant to force preemption";
}

TEST(Runner, StopTokensSinksAndCancellationEndSequences) {
  Fixture f = load();
  auto runner = Runner::start(f.model, small_options(64, f.model));
  ASSERT_TRUE(runner.is_ok());
  auto ids = testing::tensor_i32(f.ref, "input_ids.1");
  auto greedy = testing::tensor_i32(f.ref, "greedy.1");

  // The first greedy token not seen before step k as a stop token: k tokens out, the stop
  // counted as generated.
  size_t k = 1;
  while (k < greedy.size() && std::find(greedy.begin(), greedy.begin() + static_cast<ptrdiff_t>(k),
                                        greedy[k]) != greedy.begin() + static_cast<ptrdiff_t>(k)) {
    ++k;
  }
  ASSERT_LT(k, greedy.size());
  SequenceRequest r;
  r.prompt = ids;
  r.max_tokens = 20;
  r.sampling.temperature = 0;
  r.stop_token_ids = {greedy[k]};
  auto stop = std::make_shared<Collector>();
  ASSERT_TRUE((*runner)->submit(r, stop).is_ok());
  ASSERT_TRUE(stop->wait());
  EXPECT_EQ(stop->reason(), FinishReason::STOP);
  EXPECT_EQ(stop->samples().size(), k);
  EXPECT_EQ(stop->generated(), static_cast<int64_t>(k) + 1);

  // A sink that says stop after 4 tokens (what a stop string does).
  r.stop_token_ids.clear();
  auto early = std::make_shared<Collector>(4);
  ASSERT_TRUE((*runner)->submit(r, early).is_ok());
  ASSERT_TRUE(early->wait());
  EXPECT_EQ(early->reason(), FinishReason::STOP);
  EXPECT_EQ(early->samples().size(), 4u);

  // Cancelled while queued or running: CANCELLED, and its blocks go back.
  r.max_tokens = 200;
  auto cancelled = std::make_shared<Collector>();
  auto id = (*runner)->submit(r, cancelled);
  ASSERT_TRUE(id.is_ok());
  (*runner)->cancel(*id);
  ASSERT_TRUE(cancelled->wait());
  EXPECT_EQ(cancelled->reason(), FinishReason::CANCELLED);
  RunnerStats st = idle_stats(**runner, 3);  // two finished, one cancelled
  EXPECT_EQ(st.blocks.used, 0);
  EXPECT_EQ(st.cancelled, 1);
}

// stop() ahead of the destructor (at shutdown): a running sequence ends CANCELLED, and a
// later cancel() of it, from a connection that goes afterwards, does nothing.
TEST(Runner, StopEndsRunningSequencesAndLaterCancelsAreHarmless) {
  Fixture f = load();
  auto runner = Runner::start(f.model, small_options(64, f.model));
  ASSERT_TRUE(runner.is_ok());
  SequenceRequest r;
  r.prompt = testing::tensor_i32(f.ref, "input_ids.1");
  r.max_tokens = 200;
  r.sampling.temperature = 0;
  auto sink = std::make_shared<Collector>();
  auto id = (*runner)->submit(r, sink);
  ASSERT_TRUE(id.is_ok());
  (*runner)->stop();
  ASSERT_TRUE(sink->wait());
  EXPECT_EQ(sink->reason(), FinishReason::CANCELLED);
  (*runner)->cancel(*id);
  (*runner)->stop();
}

TEST(Runner, RefusesWhatItCannotRun) {
  Fixture f = load();
  auto runner = Runner::start(f.model, small_options(8, f.model));  // 32 positions
  ASSERT_TRUE(runner.is_ok());
  EXPECT_EQ((*runner)->capacity_tokens(), 32);
  auto sink = std::make_shared<Collector>();
  SequenceRequest r;
  r.max_tokens = 4;
  EXPECT_FALSE((*runner)->submit(r, sink).is_ok()) << "empty prompt";
  r.prompt = {1, 2, 512};
  auto bad = (*runner)->submit(r, sink);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("vocabulary"), std::string::npos);
  r.prompt = {1, 2, 3};
  r.max_tokens = 30;
  auto long_one = (*runner)->submit(r, sink);
  ASSERT_FALSE(long_one.is_ok());
  EXPECT_NE(long_one.status().message().find("32 positions"), std::string::npos)
      << long_one.status().message();
  r.max_tokens = 4;
  r.sampling.temperature = 3;
  EXPECT_FALSE((*runner)->submit(r, sink).is_ok()) << "temperature out of range";

  RunnerOptions o = small_options(1, f.model);
  EXPECT_FALSE(Runner::start(f.model, o).is_ok()) << "one block is not a cache";
  o = small_options(8, f.model);
  o.max_batch_tokens = 4;
  o.max_sequences = 8;
  EXPECT_FALSE(Runner::start(f.model, o).is_ok());
  o = small_options(8, f.model);
  o.kv_type = DType::BF16;
  auto bf16 = Runner::start(f.model, o);
  ASSERT_FALSE(bf16.is_ok());
  EXPECT_NE(bf16.status().message().find("f32 or f16"), std::string::npos);
  // The same budget in f16 holds twice the positions.
  o.kv_type = DType::F16;
  auto f16 = Runner::start(f.model, o);
  ASSERT_TRUE(f16.is_ok());
  EXPECT_EQ((*f16)->capacity_tokens(), 64);
}

}  // namespace
}  // namespace socle::engine::scheduler
