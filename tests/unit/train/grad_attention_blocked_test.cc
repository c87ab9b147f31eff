// The blocked attention backward (matmul kernels, float32) against the reference backward run
// in double on the same inputs, across query blocks, head sizes that are not a multiple of 16,
// grouped heads and a sliding window; and bitwise the same on 1 and 3 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/kernel_path.h"
#include "engine/kernels/thread_pool.h"
#include "train/grad_attention.h"

namespace socle::train {
namespace {

// Float32 products of a few hundred terms against double: well below 1e-5 relative per tensor.
constexpr double BLOCKED_TOLERANCE = 1e-5;

bool has_avx512() {
  for (engine::KernelPath p : engine::kernel_paths_supported()) {
    if (p == engine::KernelPath::AVX512) return true;
  }
  return false;
}

std::vector<float> random_floats(size_t n, std::mt19937_64& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> out(n);
  for (float& x : out)
    x = dist(rng);
  return out;
}

std::vector<double> wide(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

// ||got - ref|| <= tolerance * ||ref||: also met when both are zero (one token sees only
// itself, so its dq and dk are zero).
::testing::AssertionResult close(const std::vector<float>& got, const std::vector<double>& ref) {
  double diff = 0;
  double norm = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    diff += (got[i] - ref[i]) * (got[i] - ref[i]);
    norm += ref[i] * ref[i];
  }
  if (std::sqrt(diff) <= BLOCKED_TOLERANCE * std::sqrt(norm)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "relative error " << std::sqrt(diff / norm);
}

TEST(GradAttentionBlocked, MatchesTheReferenceInDouble) {
  if (!has_avx512()) GTEST_SKIP() << "this CPU has no AVX-512 path";
  struct Case {
    int64_t n, heads, kv_heads, head_dim, window;
  };
  std::mt19937_64 rng(21);
  engine::ThreadPool one(1);
  engine::ThreadPool three(3);
  for (Case c : {Case{1, 2, 1, 16, 0}, Case{70, 4, 2, 16, 0}, Case{150, 6, 2, 20, 0},
                 Case{131, 4, 4, 32, 40}}) {
    AttentionShape s;
    s.n_heads = c.heads;
    s.n_kv_heads = c.kv_heads;
    s.head_dim = c.head_dim;
    s.scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
    s.window = c.window;
    const auto q_size = static_cast<size_t>(c.n * c.heads * c.head_dim);
    const auto kv_size = static_cast<size_t>(c.n * c.kv_heads * c.head_dim);
    std::vector<float> q = random_floats(q_size, rng), dout = random_floats(q_size, rng);
    std::vector<float> k = random_floats(kv_size, rng), v = random_floats(kv_size, rng);

    std::vector<double> rdq(q_size, 0.0), rdk(kv_size, 0.0), rdv(kv_size, 0.0);
    attention_backward<double>(rdq.data(), rdk.data(), rdv.data(), wide(dout).data(),
                               wide(q).data(), wide(k).data(), wide(v).data(), c.n, s, one);
    std::vector<float> dq(q_size, 0.0f), dk(kv_size, 0.0f), dv(kv_size, 0.0f);
    attention_backward_blocked(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(),
                               v.data(), c.n, s, engine::KernelPath::AVX512, one);
    EXPECT_TRUE(close(dq, rdq)) << "dq, n " << c.n;
    EXPECT_TRUE(close(dk, rdk)) << "dk, n " << c.n;
    EXPECT_TRUE(close(dv, rdv)) << "dv, n " << c.n;

    std::vector<float> dq3(q_size, 0.0f), dk3(kv_size, 0.0f), dv3(kv_size, 0.0f);
    attention_backward_blocked(dq3.data(), dk3.data(), dv3.data(), dout.data(), q.data(), k.data(),
                               v.data(), c.n, s, engine::KernelPath::AVX512, three);
    EXPECT_EQ(0, std::memcmp(dq.data(), dq3.data(), q_size * sizeof(float))) << c.n;
    EXPECT_EQ(0, std::memcmp(dk.data(), dk3.data(), kv_size * sizeof(float))) << c.n;
    EXPECT_EQ(0, std::memcmp(dv.data(), dv3.data(), kv_size * sizeof(float))) << c.n;
  }
}

}  // namespace
}  // namespace socle::train
