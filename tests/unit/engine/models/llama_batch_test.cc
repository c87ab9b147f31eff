// The batched forward pass over a paged KV cache (LlamaModel::forward_batch) on the golden
// llama models: each sequence of a batch gives the same bits as alone, whatever its blocks,
// its neighbours or the chunks its prompt was split into, and the golden logits within the
// golden tolerance; shared prefix blocks are only read; bad batches are refused with
// nothing written. Each on a float32 pool and on an f16 one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "engine/models/llama.h"
#include "unit/engine/golden.h"

namespace socle::engine {
namespace {

// The golden README's bound for a float32 implementation, per row of logits.
constexpr double LOGITS_TOLERANCE = 1e-4;
// With keys and values stored as f16, each rounded by up to 2^-11 (4.9e-4) of itself: the
// logits of these models moved by 7.5e-4 at most (every golden case and position, on each
// kernel path), about 1.5 such roundings; the bound is 4 (2e-3).
constexpr double F16_KV_LOGITS_TOLERANCE = 2e-3;
constexpr int GOLDEN_CASES = 4;
// Odd, so that blocks and chunks never line up with the prompts.
constexpr int64_t BLOCK_SIZE = 5;
constexpr int64_t POOL_BLOCKS = 80;

using Golden = testing::GoldenDecoder;

Golden load(const std::string& name) {
  return testing::load_golden_decoder(name);
}

int64_t blocks_for(int64_t positions) {
  return (positions + BLOCK_SIZE - 1) / BLOCK_SIZE;
}

// Hands out the pool's blocks in a shuffled order, so that no table is in order.
class BlockSource {
 public:
  explicit BlockSource(uint32_t seed) : ids_(POOL_BLOCKS) {
    std::iota(ids_.begin(), ids_.end(), 0);
    std::mt19937 rng(seed);
    std::shuffle(ids_.begin(), ids_.end(), rng);
  }
  std::vector<int32_t> take(int64_t n) {
    EXPECT_LE(next_ + static_cast<size_t>(n), ids_.size());
    std::vector<int32_t> out(ids_.begin() + static_cast<std::ptrdiff_t>(next_),
                             ids_.begin() + static_cast<std::ptrdiff_t>(next_ + n));
    next_ += static_cast<size_t>(n);
    return out;
  }

 private:
  std::vector<int32_t> ids_;
  size_t next_ = 0;
};

BatchSequence seq(std::span<const int32_t> tokens, int64_t pos0, std::span<const int32_t> blocks,
                  bool all_logits) {
  BatchSequence b;
  b.tokens = tokens;
  b.pos0 = pos0;
  b.blocks = blocks;
  b.all_logits = all_logits;
  return b;
}

// Block `block` of layer `layer`, keys then values, as bytes.
void append_block(const KvPool& pool, int64_t layer, int32_t block, std::vector<std::byte>* out) {
  auto bytes = static_cast<size_t>(BLOCK_SIZE * pool.kv_dim() * KvPool::value_bytes(pool.type()));
  const auto* k = static_cast<const std::byte*>(pool.keys(layer, block));
  const auto* v = static_cast<const std::byte*>(pool.values(layer, block));
  out->insert(out->end(), k, k + bytes);
  out->insert(out->end(), v, v + bytes);
}

// `tokens` alone in a fresh pool of `kv_type`, in one pass: every row's logits.
std::vector<float> alone(const LlamaModel& model, std::span<const int32_t> tokens,
                         ThreadPool& threads, DType kv_type = DType::F32) {
  KvPool pool = model.new_pool(POOL_BLOCKS, BLOCK_SIZE, kv_type);
  std::vector<int32_t> table = BlockSource(1).take(blocks_for(static_cast<int64_t>(tokens.size())));
  BatchSequence b = seq(tokens, 0, table, true);
  std::vector<float> logits;
  EXPECT_TRUE(model.forward_batch({&b, 1}, pool, threads, &logits).is_ok());
  return logits;
}

std::vector<float> rows(const std::vector<float>& logits, int64_t first, int64_t n, int64_t vocab) {
  return {logits.begin() + first * vocab, logits.begin() + (first + n) * vocab};
}

// A golden model and the KV pool's type.
struct BatchCase {
  const char* model;
  DType kv_type;
};

class LlamaBatch : public ::testing::TestWithParam<BatchCase> {
 protected:
  Golden load_model() const { return load(GetParam().model); }
  DType kv_type() const { return GetParam().kv_type; }
  KvPool new_pool(const Golden& g) const {
    return g.model.new_pool(POOL_BLOCKS, BLOCK_SIZE, kv_type());
  }
  double tolerance() const {
    return kv_type() == DType::F16 ? F16_KV_LOGITS_TOLERANCE : LOGITS_TOLERANCE;
  }
};

// The four golden prompts (1 to 257 tokens) in one pass, two with every row's logits and two
// with the last row's: each equals its prompt run alone, and transformers' logits.
TEST_P(LlamaBatch, SequencesOfABatchEqualEachAloneAndTheGoldenLogits) {
  Golden g = load_model();
  int64_t vocab = g.model.config().vocab_size;
  ThreadPool threads(2);
  std::vector<std::vector<int32_t>> ids;
  ids.reserve(GOLDEN_CASES);
  for (int i = 0; i < GOLDEN_CASES; ++i)
    ids.push_back(testing::tensor_i32(g.ref, "input_ids." + std::to_string(i)));
  KvPool pool = new_pool(g);
  BlockSource source(7);
  std::vector<std::vector<int32_t>> tables;
  std::vector<BatchSequence> batch;
  for (size_t i = 0; i < ids.size(); ++i)
    tables.push_back(source.take(blocks_for(static_cast<int64_t>(ids[i].size()))));
  for (size_t i = 0; i < ids.size(); ++i)
    batch.push_back(seq(ids[i], 0, tables[i], i % 2 == 0));
  std::vector<float> logits;
  ASSERT_TRUE(g.model.forward_batch(batch, pool, threads, &logits).is_ok());

  int64_t row = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto n = static_cast<int64_t>(ids[i].size());
    std::vector<float> own = alone(g.model, ids[i], threads, kv_type());
    std::vector<float> want = testing::tensor_f32(g.ref, "logits." + std::to_string(i));
    int64_t first = batch[i].all_logits ? 0 : n - 1;
    for (int64_t t = first; t < n; ++t, ++row) {
      std::vector<float> got = rows(logits, row, 1, vocab);
      ASSERT_EQ(got, rows(own, t, 1, vocab)) << "case " << i << " position " << t;
      ASSERT_LT(testing::relative_error(got, rows(want, t, 1, vocab)), tolerance())
          << "case " << i << " position " << t;
    }
  }
  EXPECT_EQ(static_cast<size_t>(row * vocab), logits.size());
}

// The 33-token prompt in chunks of 1, 6, 10 and 16 tokens over four passes, each pass beside
// another sequence's chunk: the same bits as the whole prompt at once; then a decode step.
TEST_P(LlamaBatch, APromptInChunksEqualsTheWholePrompt) {
  Golden g = load_model();
  int64_t vocab = g.model.config().vocab_size;
  ThreadPool threads(2);
  std::vector<int32_t> ids = testing::tensor_i32(g.ref, "input_ids.2");
  std::vector<int32_t> other = testing::tensor_i32(g.ref, "input_ids.3");
  std::vector<int32_t> next = {ids[3]};
  std::vector<int32_t> whole_ids = ids;
  whole_ids.push_back(next[0]);
  std::vector<float> whole = alone(g.model, whole_ids, threads, kv_type());

  KvPool pool = new_pool(g);
  BlockSource source(11);
  auto n = static_cast<int64_t>(ids.size());
  std::vector<int32_t> table = source.take(blocks_for(n + 1));
  std::vector<int32_t> other_table = source.take(blocks_for(static_cast<int64_t>(other.size())));
  std::span<const int32_t> all(ids);
  std::span<const int32_t> rest(other);
  int64_t pos = 0;
  int64_t other_pos = 0;
  for (int64_t chunk : {1, 6, 10, 16}) {
    int64_t other_chunk = std::min<int64_t>(3, static_cast<int64_t>(other.size()) - other_pos);
    std::vector<BatchSequence> batch = {
        seq(rest.subspan(static_cast<size_t>(other_pos), static_cast<size_t>(other_chunk)),
            other_pos, other_table, false),
        seq(all.subspan(static_cast<size_t>(pos), static_cast<size_t>(chunk)), pos, table, true)};
    std::vector<float> logits;
    ASSERT_TRUE(g.model.forward_batch(batch, pool, threads, &logits).is_ok());
    ASSERT_EQ(rows(logits, 1, chunk, vocab), rows(whole, pos, chunk, vocab)) << "chunk at " << pos;
    pos += chunk;
    other_pos += other_chunk;
  }
  ASSERT_EQ(pos, n);
  BatchSequence step = seq(next, n, table, false);
  std::vector<float> logits;
  ASSERT_TRUE(g.model.forward_batch({&step, 1}, pool, threads, &logits).is_ok());
  EXPECT_EQ(logits, rows(whole, n, 1, vocab));
}

// A sequence whose first three full blocks are another's (as the prefix cache shares them)
// computes only its own suffix, beside a decode step of the owner: both give the bits they
// give alone, and the shared blocks are left as they were.
TEST_P(LlamaBatch, SharedPrefixBlocksAreReadOnlyAndChangeNothing) {
  Golden g = load_model();
  int64_t vocab = g.model.config().vocab_size;
  ThreadPool threads(2);
  std::vector<int32_t> a = testing::tensor_i32(g.ref, "input_ids.2");
  constexpr int64_t SHARED_BLOCKS = 3;
  constexpr int64_t SHARED = SHARED_BLOCKS * BLOCK_SIZE;
  std::vector<int32_t> b(a.begin(), a.begin() + SHARED);
  std::vector<int32_t> b_suffix = testing::tensor_i32(g.ref, "input_ids.1");
  b.insert(b.end(), b_suffix.begin(), b_suffix.end());
  std::vector<int32_t> a_next = {a[5]};
  std::vector<int32_t> a_whole = a;
  a_whole.push_back(a_next[0]);

  KvPool pool = new_pool(g);
  BlockSource source(13);
  auto n_a = static_cast<int64_t>(a.size());
  auto n_b = static_cast<int64_t>(b.size());
  std::vector<int32_t> a_table = source.take(blocks_for(n_a + 1));
  std::vector<int32_t> b_table(a_table.begin(), a_table.begin() + SHARED_BLOCKS);
  std::vector<int32_t> b_own = source.take(blocks_for(n_b) - SHARED_BLOCKS);
  b_table.insert(b_table.end(), b_own.begin(), b_own.end());

  std::vector<float> logits;
  BatchSequence first = seq(a, 0, a_table, false);
  ASSERT_TRUE(g.model.forward_batch({&first, 1}, pool, threads, &logits).is_ok());
  auto shared_bytes = [&] {
    std::vector<std::byte> out;
    for (int64_t l = 0; l < pool.n_layers(); ++l) {
      for (int64_t i = 0; i < SHARED_BLOCKS; ++i)
        append_block(pool, l, a_table[static_cast<size_t>(i)], &out);
    }
    return out;
  };
  std::vector<std::byte> before = shared_bytes();

  std::vector<BatchSequence> batch = {
      seq(a_next, n_a, a_table, false),
      seq(std::span<const int32_t>(b).subspan(SHARED), SHARED, b_table, true)};
  ASSERT_TRUE(g.model.forward_batch(batch, pool, threads, &logits).is_ok());
  EXPECT_EQ(shared_bytes(), before);
  EXPECT_EQ(rows(logits, 0, 1, vocab),
            rows(alone(g.model, a_whole, threads, kv_type()), n_a, 1, vocab));
  EXPECT_EQ(rows(logits, 1, n_b - SHARED, vocab),
            rows(alone(g.model, b, threads, kv_type()), SHARED, n_b - SHARED, vocab));
}

INSTANTIATE_TEST_SUITE_P(
    Golden, LlamaBatch,
    ::testing::Values(BatchCase{"llama3", DType::F32}, BatchCase{"llama3-bf16", DType::F32},
                      BatchCase{"qwen2", DType::F32}, BatchCase{"qwen3", DType::F32},
                      BatchCase{"llama3", DType::F16}, BatchCase{"qwen2", DType::F16},
                      BatchCase{"qwen3", DType::F16}),
    [](const auto& param_info) {
      std::string name = param_info.param.model;
      std::replace(name.begin(), name.end(), '-', '_');
      return name + (param_info.param.kv_type == DType::F16 ? "_f16_kv" : "");
    });

// forward(tokens, KvCache&) runs on forward_batch: the same bits as one sequence of a batch.
TEST(LlamaBatchCache, ForwardWithACacheEqualsTheBatchedPass) {
  Golden g = load("qwen3");
  std::vector<int32_t> ids = testing::tensor_i32(g.ref, "input_ids.3");
  KvCache cache = g.model.new_cache(static_cast<int64_t>(ids.size()));
  std::vector<float> got;
  std::span<const int32_t> all(ids);
  ASSERT_TRUE(g.model.forward(all.first(4), cache, &got).is_ok());
  ASSERT_TRUE(g.model.forward(all.subspan(4), cache, &got).is_ok());
  std::vector<float> want = alone(g.model, ids, default_thread_pool());
  int64_t vocab = g.model.config().vocab_size;
  EXPECT_EQ(got, rows(want, 4, static_cast<int64_t>(ids.size()) - 4, vocab));
}

TEST(LlamaBatchErrors, BadBatchesAreRefusedWithNothingWritten) {
  Golden g = load("llama3");
  ThreadPool threads(1);
  constexpr int64_t SMALL_POOL = 4;
  KvPool pool = g.model.new_pool(SMALL_POOL, BLOCK_SIZE);
  pool.touch_all();
  auto pool_bytes = [&] {
    std::vector<std::byte> out;
    for (int64_t l = 0; l < pool.n_layers(); ++l) {
      for (int32_t b = 0; b < SMALL_POOL; ++b)
        append_block(pool, l, b, &out);
    }
    return out;
  };
  std::vector<std::byte> zeros = pool_bytes();
  std::vector<int32_t> good = {1, 2, 3};
  std::vector<int32_t> bad_token = {1, 512, 3};
  std::vector<int32_t> seven(7, 1);
  std::vector<int32_t> table0 = {0};
  std::vector<int32_t> table1 = {1};
  std::vector<int32_t> table01 = {0, 1};
  std::vector<int32_t> outside = {SMALL_POOL};
  std::vector<int32_t> negative = {-1};
  struct BadCase {
    std::string what;
    std::vector<BatchSequence> batch;
    std::string message;  // a part of the error's message
  };
  std::vector<BadCase> cases = {
      {"empty batch", {}, "no sequence"},
      {"empty sequence",
       {seq(good, 0, table0, false), seq({}, 0, table1, false)},
       "sequence 1 has no new tokens"},
      {"token outside the vocabulary",
       {seq(good, 0, table0, false), seq(bad_token, 0, table1, false)},
       "sequence 1: token 1 is 512, outside the vocabulary of 512"},
      {"table too short", {seq(seven, 0, table0, false)}, "holds 5, fewer than the 7"},
      {"table too short after pos0", {seq(good, 3, table0, false)}, "fewer than the 6"},
      {"block outside the pool", {seq(good, 0, outside, false)}, "entry 0 is 4, outside"},
      {"negative block", {seq(good, 0, negative, false)}, "entry 0 is -1, outside"},
      {"negative pos0", {seq(good, -1, table0, false)}, "pos0 is -1"},
      {"a written block in two tables",
       {seq(seven, 0, table01, false), seq(good, 0, table1, false)},
       "block 1 is written by sequence"},
  };
  std::vector<float> logits = {42.0f};
  for (const BadCase& c : cases) {
    Status s = g.model.forward_batch(c.batch, pool, threads, &logits);
    EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT) << c.what;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << c.what << ": " << s.message();
  }
  EXPECT_EQ(pool_bytes(), zeros);
  EXPECT_EQ(logits, std::vector<float>{42.0f});

  KvPool other_shape(1, SMALL_POOL, BLOCK_SIZE, pool.n_kv_heads(), pool.head_dim());
  BatchSequence b = seq(good, 0, table0, false);
  Status s = g.model.forward_batch({&b, 1}, other_shape, threads, &logits);
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("new_pool"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace socle::engine
