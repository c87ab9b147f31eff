#include "engine/kernels/norm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "unit/engine/kernels/random.h"

namespace socle::engine {
namespace {

constexpr double NORM_TOLERANCE = 1e-5;

TEST(Norm, RmsnormMatchesTheDefinition) {
  int64_t rows = 3, dim = 37;
  auto x = testing::random_floats(static_cast<size_t>(rows * dim), 11, 3.0f);
  auto w = testing::random_floats(static_cast<size_t>(dim), 12);
  std::vector<float> out(x.size());
  rmsnorm_ref(out.data(), x.data(), w.data(), rows, dim, 1e-6f);
  for (int64_t r = 0; r < rows; ++r) {
    double ms = 0;
    for (int64_t i = 0; i < dim; ++i)
      ms += std::pow(x[static_cast<size_t>(r * dim + i)], 2);
    ms /= static_cast<double>(dim);
    for (int64_t i = 0; i < dim; ++i) {
      size_t k = static_cast<size_t>(r * dim + i);
      double want = x[k] / std::sqrt(ms + 1e-6) * w[static_cast<size_t>(i)];
      EXPECT_NEAR(out[k], want, NORM_TOLERANCE * (1 + std::abs(want)));
    }
  }
}

TEST(Norm, RmsnormOfAConstantRowIsTheWeight) {
  std::vector<float> x = {2, 2, 2, 2};
  std::vector<float> w = {1, -1, 0.5f, 3};
  std::vector<float> out(4);
  rmsnorm_ref(out.data(), x.data(), w.data(), 1, 4, 0.0f);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(out[i], w[i]);
}

TEST(Norm, LayernormMatchesTheDefinitionInPlace) {
  int64_t rows = 2, dim = 19;
  auto x = testing::random_floats(static_cast<size_t>(rows * dim), 13, 2.0f);
  for (float& v : x)
    v += 10.0f;  // a large mean next to the spread
  auto w = testing::random_floats(static_cast<size_t>(dim), 14);
  auto b = testing::random_floats(static_cast<size_t>(dim), 15);
  std::vector<float> out = x;
  layernorm_ref(out.data(), out.data(), w.data(), b.data(), rows, dim, 1e-12f);
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < dim; ++i)
      mean += x[static_cast<size_t>(r * dim + i)];
    mean /= static_cast<double>(dim);
    for (int64_t i = 0; i < dim; ++i)
      var += std::pow(x[static_cast<size_t>(r * dim + i)] - mean, 2);
    var /= static_cast<double>(dim);
    for (int64_t i = 0; i < dim; ++i) {
      size_t k = static_cast<size_t>(r * dim + i);
      double want = (x[k] - mean) / std::sqrt(var + 1e-12) * w[static_cast<size_t>(i)] +
                    b[static_cast<size_t>(i)];
      EXPECT_NEAR(out[k], want, NORM_TOLERANCE * (1 + std::abs(want)));
    }
  }
}

}  // namespace
}  // namespace socle::engine
