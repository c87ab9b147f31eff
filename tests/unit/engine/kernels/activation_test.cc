#include "engine/kernels/activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace socle::engine {
namespace {

// Values from the closed forms, computed in double.
TEST(Activation, KnownValues) {
  std::vector<float> x = {-2.0f, 0.0f, 1.0f, 3.0f};
  std::vector<float> s = x;
  silu_ref(s.data(), 4);
  EXPECT_NEAR(s[0], -0.23840584404423515, 1e-6);
  EXPECT_EQ(s[1], 0.0f);
  EXPECT_NEAR(s[2], 0.7310585786300049, 1e-6);
  EXPECT_NEAR(s[3], 2.8577223804673, 1e-6);

  std::vector<float> g = x;
  gelu_ref(g.data(), 4);
  EXPECT_NEAR(g[0], -0.04550026389635842, 1e-6);
  EXPECT_EQ(g[1], 0.0f);
  EXPECT_NEAR(g[2], 0.8413447460685429, 1e-6);
  EXPECT_NEAR(g[3], 2.9959502, 1e-6);

  std::vector<float> gt = x;
  gelu_tanh_ref(gt.data(), 4);
  EXPECT_NEAR(gt[2], 0.8411919906082768, 1e-6);
  EXPECT_NEAR(gt[0], -0.04540230591222, 1e-6);
}

TEST(Activation, SwigluIsSiluOfGateTimesUp) {
  std::vector<float> gate = {-1.5f, 0.25f, 2.0f};
  std::vector<float> up = {2.0f, -4.0f, 0.5f};
  std::vector<float> want = gate;
  silu_ref(want.data(), 3);
  swiglu_ref(gate.data(), up.data(), 3);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_FLOAT_EQ(gate[i], want[i] * up[i]);
}

TEST(Activation, SoftmaxIsADistributionAndSurvivesLargeValues) {
  std::vector<float> x = {0.0f, std::log(2.0f), std::log(5.0f)};
  softmax_ref(x.data(), 3);
  EXPECT_NEAR(x[0], 1.0 / 8, 1e-7);
  EXPECT_NEAR(x[1], 2.0 / 8, 1e-7);
  EXPECT_NEAR(x[2], 5.0 / 8, 1e-7);
  std::vector<float> big = {1000.0f, 1000.0f};
  softmax_ref(big.data(), 2);
  EXPECT_FLOAT_EQ(big[0], 0.5f);
  EXPECT_FLOAT_EQ(big[1], 0.5f);
  std::vector<float> one = {-3.0f};
  softmax_ref(one.data(), 1);
  EXPECT_EQ(one[0], 1.0f);
}

}  // namespace
}  // namespace socle::engine
