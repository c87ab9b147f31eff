#include "engine/kernels/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "unit/engine/kernels/random.h"

namespace socle::engine {
namespace {

TEST(Rope, DefaultFrequencies) {
  std::vector<float> f(4);
  rope_inv_freq(f.data(), 8, 10000.0);
  EXPECT_FLOAT_EQ(f[0], 1.0f);
  EXPECT_FLOAT_EQ(f[1], 0.1f);
  EXPECT_FLOAT_EQ(f[2], 0.01f);
  EXPECT_FLOAT_EQ(f[3], 0.001f);
  rope_scale_linear(f.data(), 4, 4.0);
  EXPECT_FLOAT_EQ(f[1], 0.025f);
}

// Llama 3.1's settings (factor 8, low 1, high 4, original 8192) sort wavelengths into three
// bands: under 2048 positions kept, over 8192 divided by 8, between interpolated.
TEST(Rope, Llama3ScalingBands) {
  const double two_pi = 2.0 * std::numbers::pi;
  std::vector<float> f = {static_cast<float>(two_pi / 100.0),    // wavelength 100: kept
                          static_cast<float>(two_pi / 20000.0),  // 20000: divided
                          static_cast<float>(two_pi / 4096.0)};  // 4096: interpolated
  std::vector<float> original = f;
  rope_scale_llama3(f.data(), 3, 8.0, 1.0, 4.0, 8192.0);
  EXPECT_EQ(f[0], original[0]);
  EXPECT_FLOAT_EQ(f[1], original[1] / 8.0f);
  // smooth = (8192 / 4096 - 1) / (4 - 1) = 1/3: two thirds of the stretched frequency and a
  // third of the original.
  EXPECT_NEAR(f[2], original[2] * (2.0 / 3.0 / 8.0 + 1.0 / 3.0), 1e-9);
}

TEST(Rope, PositionZeroIsIdentityAndRotationsKeepNorms) {
  int64_t heads = 3, dim = 8;
  auto x = testing::random_floats(static_cast<size_t>(heads * dim), 21);
  std::vector<float> f(4);
  rope_inv_freq(f.data(), dim, 10000.0);
  std::vector<float> y = x;
  rope_apply_ref(y.data(), heads, dim, 0, f.data(), RopePairing::HALF);
  EXPECT_EQ(x, y);
  rope_apply_ref(y.data(), heads, dim, 37, f.data(), RopePairing::HALF);
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < dim / 2; ++i) {
      auto at = [&](const std::vector<float>& v, int64_t k) {
        return v[static_cast<size_t>(h * dim + k)];
      };
      double before = std::hypot(at(x, i), at(x, i + dim / 2));
      double after = std::hypot(at(y, i), at(y, i + dim / 2));
      EXPECT_NEAR(before, after, 1e-5);
    }
  }
}

// rotate_half on x equals the interleaved rotation on x with its halves interleaved: the
// permutation llama.cpp applies to q and k when it converts Hugging Face weights.
TEST(Rope, PairingsAgreeUnderTheInterleavingPermutation) {
  int64_t heads = 2, dim = 16;
  auto x = testing::random_floats(static_cast<size_t>(heads * dim), 22);
  std::vector<float> f(8);
  rope_inv_freq(f.data(), dim, 500000.0);
  std::vector<float> interleaved(x.size());
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < dim / 2; ++i) {
      interleaved[static_cast<size_t>(h * dim + 2 * i)] = x[static_cast<size_t>(h * dim + i)];
      interleaved[static_cast<size_t>(h * dim + 2 * i + 1)] =
          x[static_cast<size_t>(h * dim + i + dim / 2)];
    }
  }
  rope_apply_ref(x.data(), heads, dim, 123, f.data(), RopePairing::HALF);
  rope_apply_ref(interleaved.data(), heads, dim, 123, f.data(), RopePairing::INTERLEAVED);
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < dim / 2; ++i) {
      EXPECT_EQ(interleaved[static_cast<size_t>(h * dim + 2 * i)],
                x[static_cast<size_t>(h * dim + i)]);
      EXPECT_EQ(interleaved[static_cast<size_t>(h * dim + 2 * i + 1)],
                x[static_cast<size_t>(h * dim + i + dim / 2)]);
    }
  }
}

// The point of rotary embeddings: q.k depends on the positions' difference only.
TEST(Rope, ScoresDependOnRelativePosition) {
  int64_t dim = 16;
  auto q = testing::random_floats(static_cast<size_t>(dim), 23);
  auto k = testing::random_floats(static_cast<size_t>(dim), 24);
  std::vector<float> f(8);
  rope_inv_freq(f.data(), dim, 10000.0);
  auto score = [&](int64_t m, int64_t n) {
    std::vector<float> qm = q, kn = k;
    rope_apply_ref(qm.data(), 1, dim, m, f.data(), RopePairing::HALF);
    rope_apply_ref(kn.data(), 1, dim, n, f.data(), RopePairing::HALF);
    double dot = 0;
    for (int64_t i = 0; i < dim; ++i)
      dot += qm[static_cast<size_t>(i)] * kn[static_cast<size_t>(i)];
    return dot;
  };
  EXPECT_NEAR(score(5, 2), score(103, 100), 1e-4);
  EXPECT_NEAR(score(2, 5), score(40, 43), 1e-4);
}

}  // namespace
}  // namespace socle::engine
