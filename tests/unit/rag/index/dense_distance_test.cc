// The dense index's codes and kernels: every SIMD path against the scalar reference, and
// the codes' scores against cosine similarity computed in double.
#include "rag/index/dense_distance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/kernels/kernel_path.h"
#include "unit/rag/index/vectors.h"

namespace socle::rag {
namespace {

using engine::KernelPath;

// float32 codes: the normalised vector in float32 and a float32 dot product; over 384
// dimensions the error against double stays near 1e-7, so 1e-5 leaves room.
constexpr double FLOAT32_SCORE_TOLERANCE = 1e-5;
// int8 codes round each value to half a step of max|v| / 127; measured errors on random
// 384-dimension vectors are about 1e-3, and 1e-2 is the contract in dense_distance.h.
constexpr double INT8_SCORE_TOLERANCE = 1e-2;

double cosine(const float* a, const float* b, int64_t dim) {
  double dot = 0, na = 0, nb = 0;
  for (int64_t i = 0; i < dim; ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  return dot / std::sqrt(na * nb);
}

TEST(DenseDistance, Int8DotPathsEqualTheReference) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> value(-127, 127);
  // Lengths around the 16- and 32-value steps, so that every tail length runs.
  for (int64_t n : {0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 384, 1023}) {
    std::vector<int8_t> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = static_cast<int8_t>(value(rng));
      b[i] = static_cast<int8_t>(value(rng));
    }
    int32_t want = dot_i8_ref(a.data(), b.data(), n);
    for (KernelPath p : engine::kernel_paths_supported()) {
      int32_t got = p == KernelPath::AVX2     ? dot_i8_avx2(a.data(), b.data(), n)
                    : p == KernelPath::AVX512 ? dot_i8_avx512(a.data(), b.data(), n)
                                              : dot_i8_ref(a.data(), b.data(), n);
      EXPECT_EQ(got, want) << "n=" << n << " path=" << engine::kernel_path_name(p);
    }
  }
}

TEST(DenseDistance, Int8DotReferenceAtTheExtremes) {
  std::vector<int8_t> a(65536, 127), b(65536, -127);
  const int32_t want = -127 * 127 * 65536;  // the largest magnitude: fits in int32
  EXPECT_EQ(dot_i8_ref(a.data(), b.data(), 65536), want);
  for (KernelPath p : engine::kernel_paths_supported()) {
    if (p == KernelPath::AVX2) {
      EXPECT_EQ(dot_i8_avx2(a.data(), b.data(), 65536), want);
    }
    if (p == KernelPath::AVX512) {
      EXPECT_EQ(dot_i8_avx512(a.data(), b.data(), 65536), want);
    }
  }
}

TEST(DenseDistance, CodeSizes) {
  EXPECT_EQ(dense_code_bytes(384, DensePrecision::FLOAT32), 384u * 4);
  EXPECT_EQ(dense_code_bytes(384, DensePrecision::INT8), 4u + 384);
  EXPECT_EQ(dense_code_bytes(5, DensePrecision::INT8), 4u + 8);  // padded to 4 bytes
}

TEST(DenseDistance, ScoresAreCosineOnEveryPath) {
  const int64_t dim = 384, n = 50;
  auto v = testing::random_vectors(n, dim, 11);
  // Scaled copies must score the same: normalisation happens inside.
  for (size_t i = 0; i < static_cast<size_t>(dim); ++i)
    v[i] *= 1000.0f;
  for (DensePrecision precision : {DensePrecision::FLOAT32, DensePrecision::INT8}) {
    double tolerance =
        precision == DensePrecision::FLOAT32 ? FLOAT32_SCORE_TOLERANCE : INT8_SCORE_TOLERANCE;
    for (KernelPath p : engine::kernel_paths_supported()) {
      VectorCodec codec(dim, precision, p);
      std::vector<uint8_t> a(codec.code_bytes()), b(codec.code_bytes());
      for (int64_t i = 1; i < n; ++i) {
        const float* va = v.data();
        const float* vb = v.data() + i * dim;
        ASSERT_TRUE(codec.encode(va, a.data()).is_ok());
        ASSERT_TRUE(codec.encode(vb, b.data()).is_ok());
        EXPECT_NEAR(codec.score(a.data(), b.data()), cosine(va, vb, dim), tolerance)
            << dense_precision_name(precision) << " " << engine::kernel_path_name(p);
      }
      ASSERT_TRUE(codec.encode(v.data(), a.data()).is_ok());
      EXPECT_NEAR(codec.score(a.data(), a.data()), 1.0, tolerance);
    }
  }
}

TEST(DenseDistance, RejectsVectorsWithoutADirection) {
  VectorCodec codec(4, DensePrecision::FLOAT32, KernelPath::SCALAR);
  std::vector<uint8_t> code(codec.code_bytes());
  float zero[4] = {0, 0, 0, 0};
  float nan[4] = {1, NAN, 0, 0};
  float inf[4] = {1, INFINITY, 0, 0};
  EXPECT_EQ(codec.encode(zero, code.data()).code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(codec.encode(nan, code.data()).code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(codec.encode(inf, code.data()).code(), StatusCode::INVALID_ARGUMENT);
}

TEST(DenseDistance, Int8CodesAreSymmetric) {
  VectorCodec codec(4, DensePrecision::INT8, KernelPath::SCALAR);
  std::vector<uint8_t> code(codec.code_bytes());
  float v[4] = {-2, 1.5f, 0, 2};
  ASSERT_TRUE(codec.encode(v, code.data()).is_ok());
  const auto* c = reinterpret_cast<const int8_t*>(code.data() + 4);
  EXPECT_EQ(c[0], -127);
  EXPECT_EQ(c[1], 95);  // 1.5 / 2 * 127 = 95.25
  EXPECT_EQ(c[2], 0);
  EXPECT_EQ(c[3], 127);
}

}  // namespace
}  // namespace socle::rag
