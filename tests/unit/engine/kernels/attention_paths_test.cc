// Attention on every kernel path the CPU runs against the reference: grouped-query heads,
// causal and bidirectional, sliding windows, queries after a cached prefix, odd head sizes
// and scores large enough to overflow a softmax without its maximum subtracted; and a
// query's bits alone, in a batch and with one to three threads. Paged attention: the same
// bits as contiguous rows whatever the block size and the blocks' order in the pool, each
// sequence of a batch as alone, and a group of query heads as each head with its own copy
// of the key/value head; blocks of f16 values the same bits as float32 blocks holding the
// same values rounded.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "engine/format/dtype.h"
#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "unit/engine/kernels/random.h"

namespace socle::engine {
namespace {

constexpr double FLOAT_EPS = 0x1p-24;  // float32's unit roundoff

struct Case {
  int64_t n_heads, n_kv_heads, head_dim, n_q, q_pos0, window;
  bool causal;
  float q_scale;  // spreads the scores: 30 makes them reach the hundreds
};

struct Problem {
  Case c;
  int64_t n_kv;
  AttentionParams p;
  std::vector<float> q, k, v;
};

Problem make_problem(const Case& c, uint32_t seed) {
  Problem pr{c, c.q_pos0 + c.n_q + (c.causal ? 0 : 3), {}, {}, {}, {}};
  pr.p.n_heads = c.n_heads;
  pr.p.n_kv_heads = c.n_kv_heads;
  pr.p.head_dim = c.head_dim;
  pr.p.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  pr.p.causal = c.causal;
  pr.p.q_pos0 = c.q_pos0;
  pr.p.window = c.window;
  pr.q =
      testing::random_floats(static_cast<size_t>(c.n_q * c.n_heads * c.head_dim), seed, c.q_scale);
  auto kv_size = static_cast<size_t>(pr.n_kv * c.n_kv_heads * c.head_dim);
  pr.k = testing::random_floats(kv_size, seed + 1);
  pr.v = testing::random_floats(kv_size, seed + 2);
  return pr;
}

std::vector<float> run(const Problem& pr, KernelPath path, ThreadPool& pool) {
  std::vector<float> out(pr.q.size());
  attention(out.data(), pr.q.data(), pr.k.data(), pr.v.data(), pr.c.n_q, pr.n_kv, pr.p, path, pool);
  return out;
}

std::string name(const Case& c, KernelPath path) {
  return std::string(kernel_path_name(path)) + " heads=" + std::to_string(c.n_heads) + "/" +
         std::to_string(c.n_kv_heads) + " head_dim=" + std::to_string(c.head_dim) +
         " n_q=" + std::to_string(c.n_q) + " q_pos0=" + std::to_string(c.q_pos0) +
         " window=" + std::to_string(c.window) + (c.causal ? " causal" : " bidirectional") +
         " q_scale=" + std::to_string(c.q_scale);
}

std::vector<Case> cases() {
  std::vector<Case> out;
  // 264: past the AVX-512 path's tiled scores (256 dims at most), one key at a time.
  for (int64_t head_dim : {1, 13, 64, 80, 128, 264}) {
    out.push_back({4, 2, head_dim, 5, 0, 0, true, 1.0f});
    out.push_back({3, 3, head_dim, 1, 40, 0, true, 1.0f});
    out.push_back({8, 1, head_dim, 3, 17, 6, true, 1.0f});
    out.push_back({2, 2, head_dim, 4, 0, 0, false, 1.0f});
    out.push_back({4, 2, head_dim, 6, 300, 0, true, 30.0f});
  }
  return out;
}

// Scores differ between paths by the order of head_dim products (head_dim ulps of
// S = scale * sum |q| |k|, the largest such sum); the weights exp(s - max) / sum then differ
// by twice that (two scores), twice exp's error and the sums' (keys + 4) ulps each; the
// output, a weighted sum of values, by that much of max |v| plus its own (keys) ulps.
double tolerance(const Problem& pr) {
  double s = 0;
  for (size_t i = 0; i < pr.q.size(); i += static_cast<size_t>(pr.c.head_dim)) {
    double qa = 0;
    for (int64_t d = 0; d < pr.c.head_dim; ++d)
      qa = std::max(qa, static_cast<double>(std::fabs(pr.q[i + static_cast<size_t>(d)])));
    s = std::max(s, qa);
  }
  double kmax = 0, vmax = 0;
  for (float x : pr.k)
    kmax = std::max(kmax, static_cast<double>(std::fabs(x)));
  for (float x : pr.v)
    vmax = std::max(vmax, static_cast<double>(std::fabs(x)));
  auto dim = static_cast<double>(pr.c.head_dim);
  auto keys = static_cast<double>(pr.n_kv);
  double score_scale = pr.p.scale * dim * s * kmax;
  double weights =
      2 * dim * FLOAT_EPS * score_scale + 2 * EXP_SIMD_MAX_REL_ERROR + 2 * (keys + 4) * FLOAT_EPS;
  return vmax * (weights + (keys + 2) * FLOAT_EPS);
}

TEST(AttentionPaths, ScalarPathIsTheReference) {
  ThreadPool pool(2);
  uint32_t seed = 1;
  for (const Case& c : cases()) {
    Problem pr = make_problem(c, seed += 3);
    std::vector<float> want(pr.q.size());
    attention_ref(want.data(), pr.q.data(), pr.k.data(), pr.v.data(), c.n_q, pr.n_kv, pr.p);
    ASSERT_EQ(run(pr, KernelPath::SCALAR, pool), want) << name(c, KernelPath::SCALAR);
  }
}

TEST(AttentionPaths, EverySimdPathMatchesTheReference) {
  ThreadPool pool(2);
  uint32_t seed = 100;
  for (KernelPath path : kernel_paths_supported()) {
    for (const Case& c : cases()) {
      Problem pr = make_problem(c, seed += 3);
      std::vector<float> want(pr.q.size());
      attention_ref(want.data(), pr.q.data(), pr.k.data(), pr.v.data(), c.n_q, pr.n_kv, pr.p);
      auto got = run(pr, path, pool);
      double tol = tolerance(pr);
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_TRUE(std::isfinite(got[i])) << name(c, path);
        ASSERT_NEAR(got[i], want[i], tol) << name(c, path) << " at " << i;
      }
    }
  }
}

// A long cache (600 keys, 9 queries, 4 heads) so that the pairs split over the threads;
// each query again alone, with the cache ending at its own position.
TEST(AttentionPaths, QueriesAreIndependentOfTheBatchAndTheThreadCount) {
  ThreadPool one(1);
  ThreadPool two(2);
  ThreadPool three(3);
  for (KernelPath path : kernel_paths_supported()) {
    for (int64_t window : {0, 50}) {
      Case c{4, 2, 80, 9, 591, window, true, 1.0f};
      Problem pr = make_problem(c, 500);
      auto batch = run(pr, path, two);
      ASSERT_EQ(run(pr, path, one), batch) << name(c, path);
      ASSERT_EQ(run(pr, path, three), batch) << name(c, path);
      int64_t q_dim = c.n_heads * c.head_dim;
      for (int64_t i = 0; i < c.n_q; ++i) {
        AttentionParams p = pr.p;
        p.q_pos0 = c.q_pos0 + i;
        std::vector<float> alone(static_cast<size_t>(q_dim));
        attention(alone.data(), pr.q.data() + i * q_dim, pr.k.data(), pr.v.data(), 1, p.q_pos0 + 1,
                  p, path, one);
        ASSERT_TRUE(std::equal(alone.begin(), alone.end(), batch.begin() + i * q_dim))
            << name(c, path) << " query " << i;
      }
    }
  }
}

// A pool of blocks holding a problem's keys and values: the blocks in a shuffled order among
// twice as many as needed, everything else NaN: a stray read would poison the output.
// Each block holds its rows as KvPool does (every head's rows together, `by_head`) or as the
// contiguous arrays do (each row holds every head). F16 blocks hold each value rounded to f16.
struct Paged {
  DType type = DType::F32;
  std::vector<float> k_pool, v_pool;          // (n_pool_blocks, block_size * kv_dim)
  std::vector<uint16_t> k_half, v_half;       // the same as f16, for F16 blocks
  std::vector<const void*> k_table, v_table;  // the sequence's blocks in position order
  int64_t block_size = 0;
  int64_t head_stride = 0;
  int64_t row_stride = 0;

  KvBlocks blocks() const { return {k_table, v_table, block_size, head_stride, row_stride, type}; }
};

std::vector<uint16_t> to_f16(const std::vector<float>& x) {
  std::vector<uint16_t> out(x.size());
  std::transform(x.begin(), x.end(), out.begin(), f32_to_f16);
  return out;
}

Paged page(const Problem& pr, int64_t block_size, uint32_t seed, bool by_head = true,
           DType type = DType::F32) {
  int64_t head_dim = pr.c.head_dim;
  int64_t kv_dim = pr.c.n_kv_heads * head_dim;
  int64_t used = (pr.n_kv + block_size - 1) / block_size;
  int64_t n_pool = 2 * used + 1;
  Paged out;
  out.block_size = block_size;
  out.head_stride = by_head ? block_size * head_dim : head_dim;
  out.row_stride = by_head ? head_dim : kv_dim;
  auto pool_size = static_cast<size_t>(n_pool * block_size * kv_dim);
  out.k_pool.assign(pool_size, std::numeric_limits<float>::quiet_NaN());
  out.v_pool.assign(pool_size, std::numeric_limits<float>::quiet_NaN());
  std::vector<int64_t> ids(static_cast<size_t>(n_pool));
  std::iota(ids.begin(), ids.end(), 0);
  std::mt19937 rng(seed);
  std::shuffle(ids.begin(), ids.end(), rng);
  std::vector<size_t> offsets;  // of the sequence's blocks, in values
  for (int64_t b = 0; b < used; ++b) {
    size_t at = static_cast<size_t>(ids[static_cast<size_t>(b)] * block_size * kv_dim);
    offsets.push_back(at);
    for (int64_t r = 0; r < block_size && b * block_size + r < pr.n_kv; ++r) {
      for (int64_t h = 0; h < pr.c.n_kv_heads; ++h) {
        auto from = static_cast<std::ptrdiff_t>((b * block_size + r) * kv_dim + h * head_dim);
        auto to = static_cast<std::ptrdiff_t>(at) + h * out.head_stride + r * out.row_stride;
        std::copy_n(pr.k.begin() + from, head_dim, out.k_pool.begin() + to);
        std::copy_n(pr.v.begin() + from, head_dim, out.v_pool.begin() + to);
      }
    }
  }
  out.type = type;
  if (type == DType::F16) {
    out.k_half = to_f16(out.k_pool);  // NaN stays NaN
    out.v_half = to_f16(out.v_pool);
  }
  for (size_t at : offsets) {
    if (type == DType::F16) {
      out.k_table.push_back(out.k_half.data() + at);
      out.v_table.push_back(out.v_half.data() + at);
    } else {
      out.k_table.push_back(out.k_pool.data() + at);
      out.v_table.push_back(out.v_pool.data() + at);
    }
  }
  return out;
}

AttentionSeq seq_of(const Problem& pr, const Paged& paged, float* out) {
  AttentionSeq s;
  s.out = out;
  s.q = pr.q.data();
  s.n_q = pr.c.n_q;
  s.q_pos0 = pr.c.q_pos0;
  s.n_kv = pr.n_kv;
  s.kv = paged.blocks();
  return s;
}

TEST(AttentionPaths, PagedEqualsContiguousBitwiseForAnyBlockLayout) {
  ThreadPool pool(2);
  uint32_t seed = 700;
  for (KernelPath path : kernel_paths_supported()) {
    for (const Case& c : cases()) {
      Problem pr = make_problem(c, seed += 3);
      auto want = run(pr, path, pool);
      if (path == KernelPath::SCALAR) {
        std::vector<float> ref(pr.q.size());
        attention_ref(ref.data(), pr.q.data(), pr.k.data(), pr.v.data(), c.n_q, pr.n_kv, pr.p);
        ASSERT_EQ(want, ref) << name(c, path);
      }
      for (int64_t block_size : {int64_t{1}, int64_t{3}, int64_t{7}, int64_t{16}, pr.n_kv + 5}) {
        for (bool by_head : {true, false}) {
          Paged paged = page(pr, block_size, seed + 1, by_head);
          std::vector<float> got(pr.q.size());
          AttentionSeq s = seq_of(pr, paged, got.data());
          attention_paged({&s, 1}, pr.p, path, pool);
          ASSERT_EQ(got, want) << name(c, path) << " block_size=" << block_size
                               << (by_head ? " rows by head" : " rows of every head");
        }
      }
    }
  }
}

// F16 blocks widen each value exactly and add in the float32 order: every path gives the bits
// it gives on float32 blocks holding the rounded values, whatever the block layout.
TEST(AttentionPaths, F16BlocksEqualFloatBlocksOfTheRoundedValues) {
  ThreadPool pool(2);
  uint32_t seed = 1500;
  auto widen = [](const std::vector<uint16_t>& h) {
    std::vector<float> out(h.size());
    std::transform(h.begin(), h.end(), out.begin(), f16_to_f32);
    return out;
  };
  for (KernelPath path : kernel_paths_supported()) {
    for (const Case& c : cases()) {
      Problem pr = make_problem(c, seed += 3);
      Problem rounded = pr;
      rounded.k = widen(to_f16(pr.k));
      rounded.v = widen(to_f16(pr.v));
      ASSERT_NE(rounded.k, pr.k);  // the rounding is not a no-op
      auto want = run(rounded, path, pool);
      for (int64_t block_size : {int64_t{1}, int64_t{7}, int64_t{16}}) {
        for (bool by_head : {true, false}) {
          Paged paged = page(pr, block_size, seed + 1, by_head, DType::F16);
          std::vector<float> got(pr.q.size());
          AttentionSeq s = seq_of(pr, paged, got.data());
          attention_paged({&s, 1}, pr.p, path, pool);
          ASSERT_EQ(got, want) << name(c, path) << " block_size=" << block_size
                               << (by_head ? " rows by head" : " rows of every head");
        }
      }
    }
  }
}

// Five sequences of different lengths, heads and windows shared, in one call on one to three
// threads: each gives the bits it gives alone.
TEST(AttentionPaths, EachSequenceOfAPagedBatchIsAsAlone) {
  ThreadPool one(1);
  ThreadPool three(3);
  for (KernelPath path : kernel_paths_supported()) {
    for (int64_t window : {0, 20}) {
      std::vector<Problem> problems;
      std::vector<Paged> pages;
      int64_t block_size = 5;
      uint32_t seed = 900;
      for (auto [n_q, q_pos0] :
           std::vector<std::pair<int64_t, int64_t>>{{1, 0}, {1, 37}, {12, 0}, {7, 23}, {1, 130}}) {
        Problem pr = make_problem({8, 2, 64, n_q, q_pos0, window, true, 1.0f}, seed += 3);
        pages.push_back(page(pr, block_size, seed));
        problems.push_back(std::move(pr));
      }
      std::vector<std::vector<float>> alone, together, together3;
      std::vector<AttentionSeq> seqs;
      for (size_t i = 0; i < problems.size(); ++i) {
        alone.emplace_back(problems[i].q.size());
        together.emplace_back(problems[i].q.size());
        together3.emplace_back(problems[i].q.size());
        AttentionSeq s = seq_of(problems[i], pages[i], alone[i].data());
        attention_paged({&s, 1}, problems[i].p, path, one);
        seqs.push_back(seq_of(problems[i], pages[i], together[i].data()));
      }
      attention_paged(seqs, problems[0].p, path, one);
      for (size_t i = 0; i < seqs.size(); ++i)
        seqs[i].out = together3[i].data();
      attention_paged(seqs, problems[0].p, path, three);
      for (size_t i = 0; i < problems.size(); ++i) {
        ASSERT_EQ(together[i], alone[i]) << name(problems[i].c, path) << " sequence " << i;
        ASSERT_EQ(together3[i], alone[i]) << name(problems[i].c, path) << " sequence " << i;
      }
    }
  }
}

// A group of query heads reads its key/value head once for all of them; each head must get
// the bits it gets with a key/value head of its own (the same values copied per head).
TEST(AttentionPaths, AGroupOfHeadsGivesEachHeadItsOwnBits) {
  ThreadPool pool(2);
  for (KernelPath path : kernel_paths_supported()) {
    for (int64_t head_dim : {13, 64, 128}) {
      Case grouped{8, 2, head_dim, 6, 50, 0, true, 1.0f};
      Problem pr = make_problem(grouped, 1234);
      Problem per_head = pr;
      per_head.c.n_kv_heads = grouped.n_heads;
      per_head.p.n_kv_heads = grouped.n_heads;
      int64_t group = grouped.n_heads / grouped.n_kv_heads;
      per_head.k.clear();
      per_head.v.clear();
      for (int64_t j = 0; j < pr.n_kv; ++j) {
        for (int64_t h = 0; h < grouped.n_heads; ++h) {
          auto from = static_cast<std::ptrdiff_t>((j * grouped.n_kv_heads + h / group) * head_dim);
          per_head.k.insert(per_head.k.end(), pr.k.begin() + from, pr.k.begin() + from + head_dim);
          per_head.v.insert(per_head.v.end(), pr.v.begin() + from, pr.v.begin() + from + head_dim);
        }
      }
      ASSERT_EQ(run(pr, path, pool), run(per_head, path, pool)) << name(grouped, path);
    }
  }
}

}  // namespace
}  // namespace socle::engine
