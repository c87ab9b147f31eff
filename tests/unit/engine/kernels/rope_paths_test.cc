// RoPE on every kernel path the CPU runs against the reference, both pairings, odd head
// sizes and far positions, and one head's bits whatever other heads sit next to it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/kernels/rope.h"
#include "unit/engine/kernels/random.h"

namespace socle::engine {
namespace {

constexpr double FLOAT_EPS = 0x1p-24;  // float32's unit roundoff

// Both paths share the cosines and sines (rope_cos_sin); each output is x0 c -+ x1 s, two
// products and a sum rounded separately in the reference and possibly fused in SIMD: within
// 2 ulps of |x0| + |x1|.
double tolerance(float x0, float x1) {
  return 2 * 2 * FLOAT_EPS * (std::fabs(x0) + std::fabs(x1));
}

std::vector<float> frequencies(int64_t head_dim, bool llama3) {
  std::vector<float> f(static_cast<size_t>(head_dim / 2));
  rope_inv_freq(f.data(), head_dim, llama3 ? 500000.0 : 10000.0);
  if (llama3) rope_scale_llama3(f.data(), head_dim / 2, 8.0, 1.0, 4.0, 8192.0);
  return f;
}

TEST(RopePaths, EveryPathMatchesTheReference) {
  uint32_t seed = 1;
  for (KernelPath path : kernel_paths_supported()) {
    for (RopePairing pairing : {RopePairing::HALF, RopePairing::INTERLEAVED}) {
      for (int64_t head_dim : {2, 6, 18, 32, 64, 80, 128, 256}) {
        for (int64_t pos : {0, 1, 17, 4095, 131071}) {
          for (bool llama3 : {false, true}) {
            int64_t heads = 3;
            auto f = frequencies(head_dim, llama3);
            auto x = testing::random_floats(static_cast<size_t>(heads * head_dim), seed++);
            auto got = x, want = x;
            rope_apply(got.data(), heads, head_dim, pos, f.data(), pairing, path);
            rope_apply_ref(want.data(), heads, head_dim, pos, f.data(), pairing);
            for (int64_t h = 0; h < heads; ++h) {
              for (int64_t i = 0; i < head_dim / 2; ++i) {
                int64_t a = pairing == RopePairing::HALF ? i : 2 * i;
                int64_t b = pairing == RopePairing::HALF ? i + head_dim / 2 : 2 * i + 1;
                auto ia = static_cast<size_t>(h * head_dim + a);
                auto ib = static_cast<size_t>(h * head_dim + b);
                double tol = tolerance(x[ia], x[ib]);
                std::string what = std::string(kernel_path_name(path)) +
                                   (pairing == RopePairing::HALF ? " half" : " interleaved") +
                                   " head_dim=" + std::to_string(head_dim) +
                                   " pos=" + std::to_string(pos);
                ASSERT_NEAR(got[ia], want[ia], tol) << what;
                ASSERT_NEAR(got[ib], want[ib], tol) << what;
              }
            }
          }
        }
      }
    }
  }
}

// The scalar path is the reference, and a head's bits do not depend on the other heads.
TEST(RopePaths, EachHeadIsIndependentOfTheOthers) {
  for (KernelPath path : kernel_paths_supported()) {
    for (RopePairing pairing : {RopePairing::HALF, RopePairing::INTERLEAVED}) {
      for (int64_t head_dim : {64, 80, 34}) {
        int64_t heads = 5;
        auto f = frequencies(head_dim, true);
        auto x = testing::random_floats(static_cast<size_t>(heads * head_dim), 77);
        auto all = x;
        rope_apply(all.data(), heads, head_dim, 1234, f.data(), pairing, path);
        if (path == KernelPath::SCALAR) {
          auto want = x;
          rope_apply_ref(want.data(), heads, head_dim, 1234, f.data(), pairing);
          ASSERT_EQ(all, want);
        }
        for (int64_t h = 0; h < heads; ++h) {
          std::vector<float> one(x.begin() + h * head_dim, x.begin() + (h + 1) * head_dim);
          rope_apply(one.data(), 1, head_dim, 1234, f.data(), pairing, path);
          ASSERT_TRUE(std::equal(one.begin(), one.end(), all.begin() + h * head_dim))
              << kernel_path_name(path) << " head " << h;
        }
      }
    }
  }
}

}  // namespace
}  // namespace socle::engine
