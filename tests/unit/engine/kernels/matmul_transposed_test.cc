// out += x @ w with w as stored (engine/kernels/matmul_transposed.h): the reference against the
// product computed in double (an independent answer), and the AVX-512 kernel against the
// reference bit for bit (the contract fixes each value's chain of fused multiply-adds), for
// every float weight type, shapes with partial tiles, vectors and row blocks, and 1 or 3
// threads.
#include "engine/kernels/matmul_transposed.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "engine/format/dtype.h"
#include "engine/kernels/kernel_path.h"
#include "unit/engine/kernels/random.h"

namespace socle::engine {
namespace {

using testing::random_floats;

// Float32 chains of a few hundred fused multiply-adds: each rounds once, so the error stays
// below (terms * 2^-24) of the sum of |terms| (about 2e-5 for 300 terms).
constexpr double SUM_TOLERANCE = 3e-5;

// A weight matrix in `type` and the float32 values it holds.
struct Weights {
  std::vector<uint16_t> half;
  std::vector<float> f32;
  WeightView view;
};

Weights make_weights(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  Weights w;
  w.f32 = random_floats(static_cast<size_t>(rows * cols), seed);
  if (type != DType::F32) {
    w.half.resize(w.f32.size());
    for (size_t i = 0; i < w.f32.size(); ++i) {
      w.half[i] = type == DType::F16 ? f32_to_f16(w.f32[i]) : f32_to_bf16(w.f32[i]);
      // The value the kernels see: the stored one, widened back.
      w.f32[i] = type == DType::F16 ? f16_to_f32(w.half[i]) : bf16_to_f32(w.half[i]);
    }
  }
  w.view = WeightView{type,
                      type == DType::F32 ? static_cast<const void*>(w.f32.data())
                                         : static_cast<const void*>(w.half.data()),
                      rows, cols};
  return w;
}

struct Shape {
  int64_t n, rows, cols;
};

const Shape SHAPES[] = {{1, 1, 1},      {3, 7, 15},   {6, 33, 16}, {7, 300, 65},
                        {13, 257, 130}, {2, 40, 200}, {12, 5, 64}};

TEST(MatmulTransposed, ReferenceMatchesTheProductInDouble) {
  for (DType type : {DType::F32, DType::F16, DType::BF16}) {
    for (const Shape& s : SHAPES) {
      Weights w = make_weights(type, s.rows, s.cols, 7);
      std::vector<float> x = random_floats(static_cast<size_t>(s.n * s.rows), 8);
      std::vector<float> out = random_floats(static_cast<size_t>(s.n * s.cols), 9);
      std::vector<float> start = out;
      matmul_transposed_ref(out.data(), x.data(), w.view, s.n);
      for (int64_t t = 0; t < s.n; ++t) {
        for (int64_t c = 0; c < s.cols; ++c) {
          double want = start[static_cast<size_t>(t * s.cols + c)];
          double scale = std::abs(want);
          for (int64_t o = 0; o < s.rows; ++o) {
            double term = static_cast<double>(x[static_cast<size_t>(t * s.rows + o)]) *
                          w.f32[static_cast<size_t>(o * s.cols + c)];
            want += term;
            scale += std::abs(term);
          }
          EXPECT_NEAR(out[static_cast<size_t>(t * s.cols + c)], want, SUM_TOLERANCE * scale)
              << dtype_name(type) << " n " << s.n << " rows " << s.rows << " cols " << s.cols
              << " at (" << t << ", " << c << ")";
        }
      }
    }
  }
}

TEST(MatmulTransposed, Avx512IsTheReferenceBitForBitOnAnyThreadCount) {
  bool has_avx512 = false;
  for (KernelPath p : kernel_paths_supported())
    has_avx512 = has_avx512 || p == KernelPath::AVX512;
  if (!has_avx512) GTEST_SKIP() << "this CPU has no AVX-512 path";
  ThreadPool one(1);
  ThreadPool three(3);
  for (DType type : {DType::F32, DType::F16, DType::BF16}) {
    for (const Shape& s : SHAPES) {
      Weights w = make_weights(type, s.rows, s.cols, 11);
      std::vector<float> x = random_floats(static_cast<size_t>(s.n * s.rows), 12);
      std::vector<float> ref = random_floats(static_cast<size_t>(s.n * s.cols), 13);
      std::vector<float> fast1 = ref;
      std::vector<float> fast3 = ref;
      matmul_transposed_ref(ref.data(), x.data(), w.view, s.n);
      matmul_transposed(fast1.data(), x.data(), w.view, s.n, KernelPath::AVX512, one);
      matmul_transposed(fast3.data(), x.data(), w.view, s.n, KernelPath::AVX512, three);
      EXPECT_EQ(0, std::memcmp(ref.data(), fast1.data(), ref.size() * sizeof(float)))
          << dtype_name(type) << " n " << s.n << " rows " << s.rows << " cols " << s.cols;
      EXPECT_EQ(0, std::memcmp(ref.data(), fast3.data(), ref.size() * sizeof(float)))
          << dtype_name(type) << " n " << s.n << " rows " << s.rows << " cols " << s.cols;
    }
  }
}

}  // namespace
}  // namespace socle::engine
