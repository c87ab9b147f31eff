// The activations and the softmax on every kernel path the CPU runs: the SIMD exp against
// exp in double over the whole float32 range, each function against its reference within
// the error that exp (or the erf formula) allows, and every value's bits independent of its
// neighbours, of n and of the thread split.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "engine/kernels/activation.h"
#include "unit/engine/kernels/random.h"

namespace socle::engine {
namespace {

constexpr double FLOAT_EPS = 0x1p-24;  // float32's unit roundoff

std::vector<KernelPath> simd_paths() {
  std::vector<KernelPath> out;
  for (KernelPath p : kernel_paths_supported()) {
    if (p != KernelPath::SCALAR) out.push_back(p);
  }
  return out;
}

// Inputs with the cases that matter: zeros, tiny, large of both signs, and odd lengths.
std::vector<float> inputs(size_t n, uint32_t seed) {
  auto x = testing::random_floats(n, seed, 3.0f);
  const float edge[] = {0.0f,  -0.0f, 1e-6f,  -1e-6f, 0.5f,    -0.5f, 9.0f,
                        -9.0f, 30.0f, -30.0f, 100.0f, -100.0f, 1e4f,  -1e4f};
  for (size_t i = 0; i < std::size(edge) && i < n; ++i)
    x[i * 3 % n] = edge[i];
  return x;
}

TEST(ActivationPaths, SimdExpIsWithinItsStatedErrorOverTheFloatRange) {
  // Two million evenly spaced values over the range, and the same number spread over the
  // binades near zero (exp's reduction is exact there, the polynomial alone counts).
  constexpr int64_t N = 1 << 21;
  constexpr double LO = -87.33, HI = 88.37;
  std::vector<float> x;
  for (int64_t k = 0; k <= N; ++k) {
    x.push_back(static_cast<float>(LO + (HI - LO) * static_cast<double>(k) / N));
    x.push_back(static_cast<float>(
        std::ldexp(static_cast<double>(k % 4096) / 4096 - 0.5, -static_cast<int>(k % 40))));
  }
  for (KernelPath path : simd_paths()) {
    std::vector<float> got = x;
    exp_values(got.data(), static_cast<int64_t>(got.size()), path);
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      double want = std::exp(static_cast<double>(x[i]));
      worst = std::max(worst, std::fabs(got[i] - want) / want);
    }
    std::printf("%s exp: max relative error %.3g over %zu values\n", kernel_path_name(path), worst,
                x.size());
    EXPECT_LE(worst, EXP_SIMD_MAX_REL_ERROR) << kernel_path_name(path);
    std::vector<float> ends = {0.0f,
                               -88.0f,
                               -1e4f,
                               88.4f,
                               1e4f,
                               std::numeric_limits<float>::max(),
                               -std::numeric_limits<float>::infinity()};
    exp_values(ends.data(), static_cast<int64_t>(ends.size()), path);
    EXPECT_EQ(ends[0], 1.0f);
    EXPECT_EQ(ends[1], 0.0f);  // exactly 6e-39, a subnormal: flushed
    EXPECT_EQ(ends[2], 0.0f);
    EXPECT_EQ(ends[3], std::numeric_limits<float>::infinity());
    EXPECT_EQ(ends[4], std::numeric_limits<float>::infinity());
    EXPECT_EQ(ends[5], std::numeric_limits<float>::infinity());
    EXPECT_EQ(ends[6], 0.0f);  // a NaN logit's stand-in in the sampler's log-softmax
  }
}

// silu and swiglu are x / (1 + e) with e = exp(-x): the relative error of 1 + e is at most
// that of e, and the division and product add an ulp each; the reference (on the C library's
// exp) is within 2 ulps itself.
constexpr double SILU_REL = EXP_SIMD_MAX_REL_ERROR + 6 * FLOAT_EPS;

TEST(ActivationPaths, SiluAndSwigluMatchTheReference) {
  ThreadPool pool(2);
  for (KernelPath path : kernel_paths_supported()) {
    for (int64_t n : {1, 7, 8, 17, 200003}) {
      auto x = inputs(static_cast<size_t>(n), 3);
      auto up = testing::random_floats(static_cast<size_t>(n), 4);
      auto got = x, want = x;
      silu(got.data(), n, path, pool);
      silu_ref(want.data(), n);
      for (size_t i = 0; i < x.size(); ++i)
        ASSERT_NEAR(got[i], want[i], SILU_REL * std::fabs(want[i])) << "silu x=" << x[i];
      got = x;
      want = x;
      swiglu(got.data(), up.data(), n, path, pool);
      swiglu_ref(want.data(), up.data(), n);
      for (size_t i = 0; i < x.size(); ++i)
        ASSERT_NEAR(got[i], want[i], SILU_REL * std::fabs(want[i])) << "swiglu x=" << x[i];
    }
  }
}

// erf GELU: the stated bound on Phi (which covers the reference's own rounding) times |x|,
// plus the product's ulp.
TEST(ActivationPaths, GeluMatchesTheReference) {
  ThreadPool pool(2);
  for (KernelPath path : kernel_paths_supported()) {
    for (int64_t n : {1, 9, 200003}) {
      auto x = inputs(static_cast<size_t>(n), 5);
      auto got = x, want = x;
      gelu(got.data(), n, path, pool);
      gelu_ref(want.data(), n);
      for (size_t i = 0; i < x.size(); ++i) {
        double tol = GELU_SIMD_MAX_PHI_ERROR * std::fabs(x[i]) + 2 * FLOAT_EPS * std::fabs(want[i]);
        ASSERT_NEAR(got[i], want[i], tol) << kernel_path_name(path) << " x=" << x[i];
      }
    }
  }
}

// tanh GELU as x / (1 + exp(-2y)): exp's error and a few ulps, relative; the reference's
// 1 + tanh(y) loses up to an ulp of 1 for negative x, times 0.5 |x|; and y itself (a few
// ulps) moves the result by at most |x| * 0.25 * |dy| * 2 <= 4 ulps of |x| * |y| / (1 + y^2),
// below 2 ulps of |x|.
TEST(ActivationPaths, GeluTanhMatchesTheReference) {
  ThreadPool pool(2);
  for (KernelPath path : kernel_paths_supported()) {
    for (int64_t n : {1, 9, 200003}) {
      auto x = inputs(static_cast<size_t>(n), 6);
      auto got = x, want = x;
      gelu_tanh(got.data(), n, path, pool);
      gelu_tanh_ref(want.data(), n);
      for (size_t i = 0; i < x.size(); ++i) {
        double tol = (EXP_SIMD_MAX_REL_ERROR + 6 * FLOAT_EPS) * std::fabs(want[i]) +
                     4 * FLOAT_EPS * std::fabs(x[i]);
        ASSERT_NEAR(got[i], want[i], tol) << kernel_path_name(path) << " x=" << x[i];
      }
    }
  }
}

// Each probability is e_i / sum: exp's relative error on e_i and on the sum, plus each
// side's float32 sum of n terms in its own order (n ulps each); values the SIMD exp flushes
// (exact value below 1.2e-38 of the maximum) differ by that much absolutely.
TEST(ActivationPaths, SoftmaxMatchesTheReferenceAndSurvivesLargeValues) {
  for (KernelPath path : kernel_paths_supported()) {
    for (int64_t n : {1, 2, 7, 15, 16, 17, 100, 1000, 4099}) {
      for (float scale : {1.0f, 30.0f, 1e4f, 1e30f}) {
        auto x = testing::random_floats(static_cast<size_t>(n), static_cast<uint32_t>(n), scale);
        auto got = x, want = x;
        softmax(got.data(), n, path);
        softmax_ref(want.data(), n);
        double rel = 2 * EXP_SIMD_MAX_REL_ERROR + 2 * static_cast<double>(n + 4) * FLOAT_EPS;
        double total = 0;
        for (size_t i = 0; i < x.size(); ++i) {
          ASSERT_TRUE(std::isfinite(got[i])) << kernel_path_name(path) << " n=" << n;
          ASSERT_NEAR(got[i], want[i], rel * want[i] + 1e-37)
              << kernel_path_name(path) << " n=" << n << " scale=" << scale << " at " << i;
          total += got[i];
        }
        ASSERT_NEAR(total, 1.0, rel) << kernel_path_name(path) << " n=" << n;
      }
    }
  }
}

// 40013 values split over two threads at a boundary that is no multiple of a vector; each
// value also computed alone, at its place.
TEST(ActivationPaths, ValuesAreIndependentOfTheirNeighboursAndTheThreadCount) {
  constexpr int64_t N = 40013;
  ThreadPool one(1);
  ThreadPool two(2);
  auto x = inputs(N, 8);
  auto up = testing::random_floats(N, 9);
  using Fn = void (*)(float*, int64_t, KernelPath, ThreadPool&);
  const std::pair<const char*, Fn> fns[] = {
      {"silu", silu}, {"gelu", gelu}, {"gelu_tanh", gelu_tanh}};
  for (KernelPath path : kernel_paths_supported()) {
    for (const auto& [fn_name, fn] : fns) {
      auto a = x, b = x;
      fn(a.data(), N, path, one);
      fn(b.data(), N, path, two);
      ASSERT_EQ(a, b) << fn_name << " " << kernel_path_name(path);
      for (int64_t i = 0; i < N; i += 101) {
        float alone = x[static_cast<size_t>(i)];
        fn(&alone, 1, path, one);
        ASSERT_EQ(alone, a[static_cast<size_t>(i)]) << fn_name << " " << kernel_path_name(path);
      }
    }
    auto a = x, b = x;
    swiglu(a.data(), up.data(), N, path, one);
    swiglu(b.data(), up.data(), N, path, two);
    ASSERT_EQ(a, b) << "swiglu " << kernel_path_name(path);
    for (int64_t i = N - 20; i < N; ++i) {
      float alone = x[static_cast<size_t>(i)];
      swiglu(&alone, up.data() + i, 1, path, two);
      ASSERT_EQ(alone, a[static_cast<size_t>(i)]) << "swiglu " << kernel_path_name(path);
    }
  }
}

}  // namespace
}  // namespace socle::engine
