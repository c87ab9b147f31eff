// The fast matmul (every weight type, every kernel path the CPU runs) against independent
// answers: the scalar path against the product in double of the values the kernels see
// (dequantised weights times dequantised activation blocks), each SIMD path against the
// scalar one, and all of them against the float32 reference on the dequantised weights,
// within the error that quantising the activations in blocks of 32 allows.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "engine/kernels/matmul.h"
#include "engine/kernels/packed_weights.h"
#include "engine/kernels/q8_activations.h"
#include "engine/kernels/quant.h"
#include "unit/engine/kernels/random.h"

namespace socle::engine {
namespace {

// Float32 sums of at most a few hundred terms (or blocks), each rounded once: the error is
// below (terms * 2^-24) of the sum of |terms| (about 3e-5 for 512 terms); this bound, on
// sum |x| |w|, leaves room for the fused multiply-adds' different rounding.
constexpr double SUM_TOLERANCE = 5e-5;

struct Case {
  DType type;
  int64_t n, rows, cols;
  bool packed = false;  // the view also carries the packed layout (packed_weights.h)
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    for (int64_t cols : {1, 7, 33, 65, 160})
      out.push_back({t, 3, 9, cols});
  }
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    for (int64_t cols : {32, 96, 160})
      out.push_back({t, 3, 17, cols});
  }
  // Packed rows: a whole group and a partial one, and two groups and a partial one.
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_K}) {
    for (int64_t cols :
         t == DType::Q4_K ? std::vector<int64_t>{256, 768} : std::vector<int64_t>{32, 96, 160}) {
      out.push_back({t, 3, 17, cols, true});
      out.push_back({t, 4, 40, cols, true});
    }
  }
  for (DType t : {DType::Q4_K, DType::Q6_K}) {
    for (int64_t cols : {256, 768})
      out.push_back({t, 2, 11, cols});
  }
  return out;
}

struct Problem {
  Case c;
  std::vector<float> x;       // (n, cols)
  std::vector<uint8_t> w;     // rows of the stored type
  std::vector<float> w_wide;  // (rows, cols) dequantised
  std::vector<float> bias;    // (rows)
  PackedBytes packed;         // when c.packed
  WeightView view() const { return {c.type, w.data(), c.rows, c.cols, packed.get()}; }
};

Problem make_problem(const Case& c, uint32_t seed) {
  Problem p{c, testing::random_floats(static_cast<size_t>(c.n * c.cols), seed), {}, {}, {}, {}};
  // An outlier channel, as real activations have, which blocks of 32 keep local.
  if (c.cols > 3) {
    for (int64_t t = 0; t < c.n; ++t)
      p.x[static_cast<size_t>(t * c.cols + 3)] *= 30.0f;
  }
  auto w = testing::random_floats(static_cast<size_t>(c.rows * c.cols), seed + 1000);
  size_t row_bytes = dtype_row_bytes(c.type, c.cols);
  p.w.resize(row_bytes * static_cast<size_t>(c.rows) + 1);  // +1: views of odd F32 sizes
  p.w_wide.resize(w.size());
  for (int64_t r = 0; r < c.rows; ++r) {
    void* dst = p.w.data() + static_cast<size_t>(r) * row_bytes;
    quantize_row(c.type, w.data() + r * c.cols, dst, c.cols);
    dequantize_row(c.type, dst, p.w_wide.data() + r * c.cols, c.cols);
  }
  p.bias = testing::random_floats(static_cast<size_t>(c.rows), seed + 2000);
  if (c.packed) p.packed = pack_weights(p.view());
  return p;
}

// The activations exactly as the quantised kernels see them.
std::vector<float> activations_seen(const Problem& p) {
  if (!dtype_is_quantized(p.c.type)) return p.x;
  std::vector<float> out(p.x.size());
  int64_t blocks = p.c.cols / Q8_ACT_BLOCK;
  std::vector<BlockQ8Act> q(static_cast<size_t>(blocks));
  for (int64_t t = 0; t < p.c.n; ++t) {
    quantize_activations_ref(p.x.data() + t * p.c.cols, q.data(), p.c.cols);
    for (int64_t i = 0; i < p.c.cols; ++i) {
      const BlockQ8Act& b = q[static_cast<size_t>(i / Q8_ACT_BLOCK)];
      out[static_cast<size_t>(t * p.c.cols + i)] = b.d * b.qs[i % Q8_ACT_BLOCK];
    }
  }
  return out;
}

// sum_c |x| |w| for each output: the scale of the rounding error.
std::vector<double> magnitudes(const Problem& p, const std::vector<float>& x) {
  std::vector<double> out(static_cast<size_t>(p.c.n * p.c.rows));
  for (int64_t t = 0; t < p.c.n; ++t) {
    for (int64_t r = 0; r < p.c.rows; ++r) {
      double s = std::fabs(p.bias[static_cast<size_t>(r)]);
      for (int64_t c = 0; c < p.c.cols; ++c) {
        s += std::fabs(static_cast<double>(x[static_cast<size_t>(t * p.c.cols + c)]) *
                       p.w_wide[static_cast<size_t>(r * p.c.cols + c)]);
      }
      out[static_cast<size_t>(t * p.c.rows + r)] = s;
    }
  }
  return out;
}

std::vector<float> run(const Problem& p, KernelPath path, ThreadPool& pool, bool with_bias) {
  std::vector<float> out(static_cast<size_t>(p.c.n * p.c.rows));
  matmul(out.data(), p.x.data(), p.view(), with_bias ? p.bias.data() : nullptr, p.c.n, path, pool);
  return out;
}

std::string name(const Case& c, KernelPath path) {
  return std::string(dtype_name(c.type)) + " " + kernel_path_name(path) +
         " n=" + std::to_string(c.n) + " rows=" + std::to_string(c.rows) +
         " cols=" + std::to_string(c.cols) + (c.packed ? " packed" : "");
}

TEST(MatmulPaths, ScalarPathIsTheProductOfWhatTheKernelsSee) {
  ThreadPool pool(1);
  uint32_t seed = 1;
  for (const Case& c : cases()) {
    Problem p = make_problem(c, seed++);
    auto seen = activations_seen(p);
    auto mag = magnitudes(p, seen);
    auto got = run(p, KernelPath::SCALAR, pool, true);
    for (int64_t t = 0; t < c.n; ++t) {
      for (int64_t r = 0; r < c.rows; ++r) {
        double want = p.bias[static_cast<size_t>(r)];
        for (int64_t k = 0; k < c.cols; ++k) {
          want += static_cast<double>(seen[static_cast<size_t>(t * c.cols + k)]) *
                  p.w_wide[static_cast<size_t>(r * c.cols + k)];
        }
        size_t i = static_cast<size_t>(t * c.rows + r);
        ASSERT_NEAR(got[i], want, SUM_TOLERANCE * mag[i]) << name(c, KernelPath::SCALAR);
      }
    }
  }
}

// Float weights on the scalar path are the float reference, bit for bit.
TEST(MatmulPaths, ScalarFloatPathIsMatmulRef) {
  ThreadPool pool(2);
  uint32_t seed = 100;
  for (const Case& c : cases()) {
    if (dtype_is_quantized(c.type)) continue;
    Problem p = make_problem(c, seed++);
    auto got = run(p, KernelPath::SCALAR, pool, true);
    std::vector<float> want(got.size());
    matmul_ref(want.data(), p.x.data(), p.view(), p.bias.data(), c.n);
    ASSERT_EQ(got, want) << name(c, KernelPath::SCALAR);
  }
}

TEST(MatmulPaths, EverySimdPathMatchesTheScalarOne) {
  ThreadPool pool(2);
  uint32_t seed = 200;
  for (KernelPath path : kernel_paths_supported()) {
    for (const Case& c : cases()) {
      Problem p = make_problem(c, seed++);
      auto mag = magnitudes(p, activations_seen(p));
      auto want = run(p, KernelPath::SCALAR, pool, true);
      auto got = run(p, path, pool, true);
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], SUM_TOLERANCE * mag[i]) << name(c, path) << " at " << i;
    }
  }
}

// Quantising activations in blocks of 32 moves each value by at most half its block's step,
// max|x| / 254: the result is within sum_c |w_c| * step_c / 2 of the float32 product with the
// same (dequantised) weights, plus rounding. One scale per row would make every step that
// of the outlier channel.
TEST(MatmulPaths, QuantisedActivationsStayWithinTheirBlockError) {
  ThreadPool pool(2);
  uint32_t seed = 300;
  for (KernelPath path : kernel_paths_supported()) {
    for (const Case& c : cases()) {
      if (!dtype_is_quantized(c.type)) continue;
      Problem p = make_problem(c, seed++);
      auto got = run(p, path, pool, false);
      std::vector<float> want(got.size());
      matmul_ref(want.data(), p.x.data(), p.view(), nullptr, c.n);
      auto mag = magnitudes(p, p.x);
      for (int64_t t = 0; t < c.n; ++t) {
        for (int64_t r = 0; r < c.rows; ++r) {
          double bound = 0;
          for (int64_t k = 0; k < c.cols; ++k) {
            double amax = 0;
            int64_t b0 = k / Q8_ACT_BLOCK * Q8_ACT_BLOCK;
            for (int64_t j = b0; j < b0 + Q8_ACT_BLOCK; ++j)
              amax = std::max(
                  amax, std::fabs(static_cast<double>(p.x[static_cast<size_t>(t * c.cols + j)])));
            bound += std::fabs(p.w_wide[static_cast<size_t>(r * c.cols + k)]) * amax / 254.0;
          }
          size_t i = static_cast<size_t>(t * c.rows + r);
          ASSERT_NEAR(got[i], want[i], bound + SUM_TOLERANCE * mag[i]) << name(c, path);
        }
      }
    }
  }
}

// A row's result is the same bits alone, in any batch, and with any number of threads.
TEST(MatmulPaths, RowsAreIndependentOfTheBatchAndTheThreadCount) {
  ThreadPool one(1);
  ThreadPool two(2);
  ThreadPool three(3);
  uint32_t seed = 400;
  for (KernelPath path : kernel_paths_supported()) {
    for (const Case& c : cases()) {
      Problem p = make_problem({c.type, 5, 37, c.cols, c.packed}, seed++);
      auto batch = run(p, path, two, true);
      ASSERT_EQ(run(p, path, one, true), batch) << name(p.c, path);
      ASSERT_EQ(run(p, path, three, true), batch) << name(p.c, path);
      for (int64_t t = 0; t < p.c.n; ++t) {
        std::vector<float> single(static_cast<size_t>(p.c.rows));
        matmul(single.data(), p.x.data() + t * p.c.cols, p.view(), p.bias.data(), 1, path, three);
        for (int64_t r = 0; r < p.c.rows; ++r) {
          ASSERT_EQ(single[static_cast<size_t>(r)], batch[static_cast<size_t>(t * p.c.rows + r)])
              << name(p.c, path) << " token " << t << " row " << r;
        }
      }
    }
  }
}

// Batch invariance, the hard contract of matmul.h, where the AVX-512 path's tiles could break
// it: for every path and type, n = 1 .. 17 tokens drawn at random (in random order, with
// repeats) from a pool, on 1, 2 or 3 threads, each token's row must be bitwise its result
// alone. The shapes cover odd column counts, odd block counts (a Q8_0 / Q4_0 block without
// a partner), row counts that leave a partial row tile, and rows long enough that a tile
// works through several column chunks; packed rows in whole and partial groups of 16.
TEST(MatmulPaths, EveryTokenGetsItsAloneResultInAnyBatch) {
  constexpr int64_t POOL = 17;
  ThreadPool one(1);
  ThreadPool two(2);
  ThreadPool three(3);
  ThreadPool* pools[] = {&one, &two, &three};
  std::vector<Case> shapes;
  for (DType t : {DType::F32, DType::F16, DType::BF16})
    shapes.push_back({t, POOL, 37, t == DType::BF16 ? 300 : 65});
  for (DType t : {DType::Q8_0, DType::Q4_0})
    shapes.push_back({t, POOL, 37, 160});
  for (DType t : {DType::Q4_K, DType::Q6_K})
    shapes.push_back({t, POOL, 23, 768});
  shapes.push_back({DType::F32, POOL, 45, 4096});
  shapes.push_back({DType::Q8_0, POOL, 45, 4096});
  shapes.push_back({DType::Q8_0, POOL, 37, 160, true});
  shapes.push_back({DType::Q4_0, POOL, 37, 160, true});
  shapes.push_back({DType::Q4_K, POOL, 23, 768, true});
  shapes.push_back({DType::Q8_0, POOL, 45, 4096, true});
  shapes.push_back({DType::Q4_K, POOL, 45, 4096, true});
  shapes.push_back({DType::Q4_K, POOL, 45, 4096});
  std::mt19937 rng(7);
  uint32_t seed = 500;
  for (KernelPath path : kernel_paths_supported()) {
    for (const Case& c : shapes) {
      Problem p = make_problem(c, seed++);
      // Each pool token alone.
      std::vector<float> alone(static_cast<size_t>(POOL * c.rows));
      for (int64_t t = 0; t < POOL; ++t) {
        matmul(alone.data() + t * c.rows, p.x.data() + t * c.cols, p.view(), p.bias.data(), 1, path,
               one);
      }
      for (int64_t n = 1; n <= POOL; ++n) {
        std::vector<int64_t> pick(static_cast<size_t>(n));
        std::uniform_int_distribution<int64_t> token(0, POOL - 1);
        for (int64_t& k : pick)
          k = token(rng);
        std::vector<float> x(static_cast<size_t>(n * c.cols));
        for (int64_t i = 0; i < n; ++i) {
          std::copy_n(p.x.begin() + pick[static_cast<size_t>(i)] * c.cols, c.cols,
                      x.begin() + i * c.cols);
        }
        std::vector<float> out(static_cast<size_t>(n * c.rows));
        matmul(out.data(), x.data(), p.view(), p.bias.data(), n, path, *pools[n % 3]);
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t r = 0; r < c.rows; ++r) {
            ASSERT_EQ(out[static_cast<size_t>(i * c.rows + r)],
                      alone[static_cast<size_t>(pick[static_cast<size_t>(i)] * c.rows + r)])
                << name(c, path) << ": batch of " << n << ", token " << i << ", row " << r;
          }
        }
      }
    }
  }
}

// The tiled kernels on batches that fill several token tiles and a partial one, and row
// counts that leave a partial row tile, against the scalar path within the sum's rounding.
TEST(MatmulPaths, LargeBatchesMatchTheScalarPath) {
  ThreadPool pool(2);
  uint32_t seed = 600;
  std::vector<Case> shapes;
  for (DType t : {DType::F32, DType::F16, DType::BF16})
    shapes.push_back({t, 29, 38, 200});
  for (DType t : {DType::Q8_0, DType::Q4_0})
    shapes.push_back({t, 29, 38, 224});
  for (DType t : {DType::Q4_K, DType::Q6_K})
    shapes.push_back({t, 29, 38, 512});
  shapes.push_back({DType::Q8_0, 29, 38, 224, true});
  shapes.push_back({DType::Q4_0, 29, 38, 224, true});
  shapes.push_back({DType::Q4_K, 29, 38, 512, true});
  shapes.push_back({DType::Q8_0, 70, 50, 96, true});
  for (KernelPath path : kernel_paths_supported()) {
    for (const Case& c : shapes) {
      Problem p = make_problem(c, seed++);
      auto mag = magnitudes(p, activations_seen(p));
      auto want = run(p, KernelPath::SCALAR, pool, true);
      auto got = run(p, path, pool, true);
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], SUM_TOLERANCE * mag[i]) << name(c, path) << " at " << i;
    }
  }
}

TEST(KernelPath, ParsesTheEnvironmentValue) {
  auto supported = kernel_paths_supported();
  ASSERT_EQ(supported.front(), KernelPath::SCALAR);
  for (KernelPath p : supported)
    std::printf("kernel path this CPU runs: %s\n", kernel_path_name(p));
  EXPECT_EQ(*kernel_path_parse(""), supported.back());
  EXPECT_EQ(*kernel_path_parse("auto"), supported.back());
  EXPECT_EQ(*kernel_path_parse("scalar"), KernelPath::SCALAR);
  for (KernelPath p : {KernelPath::AVX2, KernelPath::AVX512}) {
    auto parsed = kernel_path_parse(kernel_path_name(p));
    bool runs = std::find(supported.begin(), supported.end(), p) != supported.end();
    ASSERT_EQ(parsed.is_ok(), runs) << kernel_path_name(p);
    if (!runs) {
      EXPECT_NE(parsed.status().message().find("this CPU lacks"), std::string::npos);
    }
  }
  auto bad = kernel_path_parse("avx9");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("avx9 is not a kernel path"), std::string::npos);
}

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 3, 16, 17, 100}) {
      for (int64_t grain : {1, 4, 50}) {
        std::vector<int> hits(static_cast<size_t>(n), 0);
        pool.parallel_for(n, grain, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i)
            ++hits[static_cast<size_t>(i)];
        });
        for (int h : hits)
          ASSERT_EQ(h, 1) << threads << " threads, n " << n << ", grain " << grain;
      }
    }
  }
}

// Claimed ranges: every index once, each range on a chunk boundary, and a thread that is
// held up leaves its share to the others (one range sleeps; the rest still all run).
TEST(ThreadPool, ClaimedRangesCoverEveryIndexOnce) {
  for (int threads : {1, 2, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 3, 16, 17, 100}) {
      for (int64_t chunk : {1, 4, 50}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int> ranges{0};
        pool.parallel_for_claimed(n, chunk, [&](int64_t begin, int64_t end) {
          ASSERT_EQ(begin % chunk, 0);
          ASSERT_EQ(end, std::min(n, begin + chunk));
          if (begin == 0 && threads > 1) std::this_thread::sleep_for(std::chrono::milliseconds(2));
          ranges.fetch_add(1);
          for (int64_t i = begin; i < end; ++i)
            hits[static_cast<size_t>(i)].fetch_add(1);
        });
        for (const auto& h : hits) {
          ASSERT_EQ(h.load(), 1) << threads << " threads, n " << n << ", chunk " << chunk;
        }
        if (n > 0) {
          EXPECT_EQ(ranges.load(), (n + chunk - 1) / chunk);
        }
      }
    }
    // Plain and claimed loops, one after the other on the same pool.
    std::vector<int> hits(64, 0);
    pool.parallel_for(64, 8, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        ++hits[static_cast<size_t>(i)];
    });
    pool.parallel_for_claimed(64, 3, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        ++hits[static_cast<size_t>(i)];
    });
    for (int h : hits) {
      ASSERT_EQ(h, 2);
    }
  }
}

}  // namespace
}  // namespace socle::engine
