#include "engine/kernels/matmul.h"

#include <gtest/gtest.h>

#include <cmath>

#include "unit/engine/kernels/random.h"

namespace socle::engine {
namespace {

// The product in double from the float32 values the kernel sees.
std::vector<double> matmul_double(const std::vector<float>& x, const std::vector<float>& w,
                                  const std::vector<float>& bias, int64_t n, int64_t rows,
                                  int64_t cols) {
  std::vector<double> out(static_cast<size_t>(n * rows));
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      double sum = bias.empty() ? 0.0 : bias[static_cast<size_t>(r)];
      for (int64_t c = 0; c < cols; ++c) {
        sum += static_cast<double>(x[static_cast<size_t>(t * cols + c)]) *
               w[static_cast<size_t>(r * cols + c)];
      }
      out[static_cast<size_t>(t * rows + r)] = sum;
    }
  }
  return out;
}

// Float32 summation of `cols` products of unit-scale values: an error bound a few ulps per
// term, far below this tolerance.
constexpr double MATMUL_TOLERANCE = 1e-5;

void expect_close(const std::vector<float>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], MATMUL_TOLERANCE * (1.0 + std::abs(want[i]))) << i;
  }
}

TEST(Matmul, F32MatchesDoubleOnOddShapes) {
  const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {4, 33, 65}, {1, 17, 160}};
  uint32_t seed = 1;
  for (const auto& s : shapes) {
    int64_t n = s[0], rows = s[1], cols = s[2];
    auto x = testing::random_floats(static_cast<size_t>(n * cols), seed++);
    auto w = testing::random_floats(static_cast<size_t>(rows * cols), seed++);
    auto bias = testing::random_floats(static_cast<size_t>(rows), seed++);
    std::vector<float> out(static_cast<size_t>(n * rows));
    matmul_ref(out.data(), x.data(), {DType::F32, w.data(), rows, cols}, bias.data(), n);
    expect_close(out, matmul_double(x, w, bias, n, rows, cols));
    matmul_ref(out.data(), x.data(), {DType::F32, w.data(), rows, cols}, nullptr, n);
    expect_close(out, matmul_double(x, w, {}, n, rows, cols));
  }
}

TEST(Matmul, F16AndBf16WidenEachWeight) {
  int64_t n = 3, rows = 9, cols = 31;
  auto x = testing::random_floats(static_cast<size_t>(n * cols), 7);
  auto w = testing::random_floats(static_cast<size_t>(rows * cols), 8);
  std::vector<uint16_t> w16(w.size());
  std::vector<float> w16_wide(w.size());
  std::vector<uint16_t> wbf(w.size());
  std::vector<float> wbf_wide(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    w16[i] = f32_to_f16(w[i]);
    w16_wide[i] = f16_to_f32(w16[i]);
    wbf[i] = f32_to_bf16(w[i]);
    wbf_wide[i] = bf16_to_f32(wbf[i]);
  }
  std::vector<float> out(static_cast<size_t>(n * rows));
  matmul_ref(out.data(), x.data(), {DType::F16, w16.data(), rows, cols}, nullptr, n);
  expect_close(out, matmul_double(x, w16_wide, {}, n, rows, cols));
  matmul_ref(out.data(), x.data(), {DType::BF16, wbf.data(), rows, cols}, nullptr, n);
  expect_close(out, matmul_double(x, wbf_wide, {}, n, rows, cols));
}

TEST(Matmul, EachRowIsIndependentOfTheBatch) {
  int64_t rows = 13, cols = 29;
  auto x = testing::random_floats(static_cast<size_t>(5 * cols), 3);
  auto w = testing::random_floats(static_cast<size_t>(rows * cols), 4);
  WeightView wv{DType::F32, w.data(), rows, cols};
  std::vector<float> batch(static_cast<size_t>(5 * rows));
  matmul_ref(batch.data(), x.data(), wv, nullptr, 5);
  for (int64_t t = 0; t < 5; ++t) {
    std::vector<float> single(static_cast<size_t>(rows));
    matmul_ref(single.data(), x.data() + t * cols, wv, nullptr, 1);
    for (int64_t r = 0; r < rows; ++r) {
      ASSERT_EQ(single[static_cast<size_t>(r)], batch[static_cast<size_t>(t * rows + r)]);
    }
  }
}

}  // namespace
}  // namespace socle::engine
