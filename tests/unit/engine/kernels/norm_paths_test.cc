// RMSNorm and LayerNorm on every kernel path the CPU runs, against the norm computed in
// double, and a row's bits alone, in a batch and with one or two threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/kernels/norm.h"
#include "unit/engine/kernels/random.h"

namespace socle::engine {
namespace {

constexpr double FLOAT_EPS = 0x1p-24;  // float32's unit roundoff

// A row's sums (of x, then of squares) are float32 sums of dim terms in some order: each is
// within dim * FLOAT_EPS of its sum of magnitudes, so the normalised value (x - mean) / rms
// is within about (dim + 8) ulps of unit scale, the 8 covering the division, square root
// and products. Every path, the reference included, must be within twice that of the exact
// answer, scaled by |weight| (the bias is added once, within an ulp of the result).
double tolerance(int64_t dim, double weight, double want) {
  return 2.0 * static_cast<double>(dim + 8) * FLOAT_EPS * (std::fabs(weight) + std::fabs(want));
}

struct Rows {
  int64_t rows, dim;
  std::vector<float> x, w, b;
};

Rows make_rows(int64_t rows, int64_t dim, uint32_t seed) {
  Rows r{rows, dim, testing::random_floats(static_cast<size_t>(rows * dim), seed, 3.0f),
         testing::random_floats(static_cast<size_t>(dim), seed + 1),
         testing::random_floats(static_cast<size_t>(dim), seed + 2)};
  for (size_t i = 0; i < r.x.size(); i += 7)
    r.x[i] += 4.0f;  // a mean away from zero
  return r;
}

std::string name(KernelPath path, int64_t rows, int64_t dim) {
  return std::string(kernel_path_name(path)) + " rows=" + std::to_string(rows) +
         " dim=" + std::to_string(dim);
}

const std::vector<int64_t> DIMS = {1, 7, 16, 33, 64, 80, 128, 129, 1000};
constexpr float EPS = 1e-6f;

TEST(NormPaths, RmsnormMatchesDoubleOnEveryPath) {
  ThreadPool pool(2);
  uint32_t seed = 1;
  for (KernelPath path : kernel_paths_supported()) {
    for (int64_t dim : DIMS) {
      Rows r = make_rows(3, dim, seed += 3);
      std::vector<float> out(r.x.size());
      rmsnorm(out.data(), r.x.data(), r.w.data(), r.rows, dim, EPS, path, pool);
      for (int64_t row = 0; row < r.rows; ++row) {
        const float* x = r.x.data() + row * dim;
        double ms = 0;
        for (int64_t i = 0; i < dim; ++i)
          ms += static_cast<double>(x[i]) * x[i];
        double inv = 1.0 / std::sqrt(ms / static_cast<double>(dim) + EPS);
        for (int64_t i = 0; i < dim; ++i) {
          double w = r.w[static_cast<size_t>(i)];
          double want = x[i] * inv * w;
          ASSERT_NEAR(out[static_cast<size_t>(row * dim + i)], want, tolerance(dim, w, want))
              << name(path, r.rows, dim) << " at " << row << "," << i;
        }
      }
    }
  }
}

TEST(NormPaths, LayernormMatchesDoubleOnEveryPath) {
  ThreadPool pool(2);
  uint32_t seed = 100;
  for (KernelPath path : kernel_paths_supported()) {
    for (int64_t dim : DIMS) {
      Rows r = make_rows(3, dim, seed += 3);
      std::vector<float> out = r.x;  // in place, as bert calls it
      layernorm(out.data(), out.data(), r.w.data(), r.b.data(), r.rows, dim, EPS, path, pool);
      for (int64_t row = 0; row < r.rows; ++row) {
        const float* x = r.x.data() + row * dim;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < dim; ++i)
          mean += x[i];
        mean /= static_cast<double>(dim);
        for (int64_t i = 0; i < dim; ++i)
          var += (x[i] - mean) * (x[i] - mean);
        double inv = 1.0 / std::sqrt(var / static_cast<double>(dim) + EPS);
        for (int64_t i = 0; i < dim; ++i) {
          double w = r.w[static_cast<size_t>(i)];
          double want = (x[i] - mean) * inv * w + r.b[static_cast<size_t>(i)];
          ASSERT_NEAR(out[static_cast<size_t>(row * dim + i)], want, tolerance(dim, w, want))
              << name(path, r.rows, dim) << " at " << row << "," << i;
        }
      }
    }
  }
}

// The scalar path is the reference, bit for bit, however the rows are split.
TEST(NormPaths, ScalarPathIsTheReference) {
  ThreadPool pool(2);
  Rows r = make_rows(900, 80, 7);
  std::vector<float> got(r.x.size()), want(r.x.size());
  rmsnorm(got.data(), r.x.data(), r.w.data(), r.rows, r.dim, EPS, KernelPath::SCALAR, pool);
  rmsnorm_ref(want.data(), r.x.data(), r.w.data(), r.rows, r.dim, EPS);
  ASSERT_EQ(got, want);
  layernorm(got.data(), r.x.data(), r.w.data(), r.b.data(), r.rows, r.dim, EPS, KernelPath::SCALAR,
            pool);
  layernorm_ref(want.data(), r.x.data(), r.w.data(), r.b.data(), r.rows, r.dim, EPS);
  ASSERT_EQ(got, want);
}

// 900 rows of 80 are enough values for the pool to split them over two threads.
TEST(NormPaths, RowsAreIndependentOfTheBatchAndTheThreadCount) {
  ThreadPool one(1);
  ThreadPool two(2);
  for (KernelPath path : kernel_paths_supported()) {
    for (int64_t dim : {int64_t{80}, int64_t{37}}) {
      Rows r = make_rows(900, dim, 11);
      std::vector<float> rms(r.x.size()), rms2(r.x.size()), ln(r.x.size()), ln2(r.x.size());
      rmsnorm(rms.data(), r.x.data(), r.w.data(), r.rows, dim, EPS, path, two);
      rmsnorm(rms2.data(), r.x.data(), r.w.data(), r.rows, dim, EPS, path, one);
      ASSERT_EQ(rms, rms2) << name(path, r.rows, dim);
      layernorm(ln.data(), r.x.data(), r.w.data(), r.b.data(), r.rows, dim, EPS, path, two);
      layernorm(ln2.data(), r.x.data(), r.w.data(), r.b.data(), r.rows, dim, EPS, path, one);
      ASSERT_EQ(ln, ln2) << name(path, r.rows, dim);
      std::vector<float> single(static_cast<size_t>(dim));
      for (int64_t row = 0; row < r.rows; row += 13) {
        const float* x = r.x.data() + row * dim;
        rmsnorm(single.data(), x, r.w.data(), 1, dim, EPS, path, one);
        ASSERT_TRUE(std::equal(single.begin(), single.end(), rms.begin() + row * dim))
            << name(path, r.rows, dim) << " row " << row;
        layernorm(single.data(), x, r.w.data(), r.b.data(), 1, dim, EPS, path, two);
        ASSERT_TRUE(std::equal(single.begin(), single.end(), ln.begin() + row * dim))
            << name(path, r.rows, dim) << " row " << row;
      }
    }
  }
}

}  // namespace
}  // namespace socle::engine
