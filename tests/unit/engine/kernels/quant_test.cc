#include "engine/kernels/quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "engine/kernels/kernel_path.h"
#include "engine/kernels/q8_activations.h"
#include "unit/engine/kernels/random.h"

namespace socle::engine {
namespace {

// Half an ulp of an f16 relative to its value: the most that storing a scale as f16 moves it.
constexpr double F16_HALF_ULP = 1.0 / 2048.0;
// Slack for the float32 arithmetic of the quantiser and dequantiser themselves.
constexpr double FLOAT_SLACK = 1.0 + 1e-5;

std::vector<uint8_t> quantize(DType type, const std::vector<float>& x) {
  std::vector<uint8_t> q(dtype_row_bytes(type, static_cast<int64_t>(x.size())));
  quantize_row(type, x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

std::vector<float> round_trip(DType type, const std::vector<float>& x) {
  auto q = quantize(type, x);
  std::vector<float> y(x.size());
  dequantize_row(type, q.data(), y.data(), static_cast<int64_t>(x.size()));
  return y;
}

double rms_relative_error(const std::vector<float>& x, const std::vector<float>& y) {
  double diff = 0;
  double norm = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    norm += static_cast<double>(x[i]) * x[i];
  }
  return std::sqrt(diff / norm);
}

// Unit Gaussians with a few outliers 20 times larger, as real weight rows have.
std::vector<float> test_row(int64_t n, uint32_t seed) {
  auto x = testing::random_floats(static_cast<size_t>(n), seed);
  for (size_t i = 7; i < x.size(); i += 613)
    x[i] *= 20.0f;
  return x;
}

float block_amax(const std::vector<float>& x, size_t begin, size_t n) {
  float amax = 0;
  for (size_t i = begin; i < begin + n; ++i)
    amax = std::max(amax, std::fabs(x[i]));
  return amax;
}

TEST(Quant, BlockSizesAreGgufs) {
  EXPECT_EQ(dtype_block_bytes(DType::Q8_0), 34u);
  EXPECT_EQ(dtype_block_bytes(DType::Q4_0), 18u);
  EXPECT_EQ(dtype_block_bytes(DType::Q4_K), 144u);
  EXPECT_EQ(dtype_block_bytes(DType::Q6_K), 210u);
  EXPECT_EQ(dtype_block_values(DType::Q8_0), 32);
  EXPECT_EQ(dtype_block_values(DType::Q4_0), 32);
  EXPECT_EQ(dtype_block_values(DType::Q4_K), 256);
  EXPECT_EQ(dtype_block_values(DType::Q6_K), 256);
  EXPECT_EQ(dtype_row_bytes(DType::Q4_K, 512), 288u);
  EXPECT_EQ(dtype_row_bytes(DType::Q8_0, 96), 102u);
  EXPECT_EQ(dtype_row_bytes(DType::BF16, 7), 14u);
  EXPECT_EQ(offsetof(BlockQ6K, d), 208u);
  EXPECT_EQ(offsetof(BlockQ4K, qs), 16u);
}

// Q8_0: the code of x is round(x / d) with d = amax / 127, so |x - q d| <= d / 2 before the
// scale is stored; storing d as f16 moves each of up to 127 steps by a relative 2^-11.
TEST(Quant, Q8_0ErrorIsHalfAStepPerValue) {
  constexpr int64_t N = 32 * 97;
  auto x = test_row(N, 11);
  auto y = round_trip(DType::Q8_0, x);
  for (size_t b = 0; b < N / 32; ++b) {
    double d = block_amax(x, b * 32, 32) / 127.0;
    double bound = (d / 2 + 127 * d * F16_HALF_ULP) * FLOAT_SLACK;
    for (size_t i = b * 32; i < b * 32 + 32; ++i)
      ASSERT_LE(std::fabs(x[i] - y[i]), bound) << i;
  }
}

// Q4_0: d = -max / 8 maps the value of largest magnitude to -8 exactly; others round to the
// nearest of 16 levels, except values near +amax, which clip at +7, one step off at most.
TEST(Quant, Q4_0ErrorIsAtMostOneStep) {
  constexpr int64_t N = 32 * 97;
  auto x = test_row(N, 12);
  auto y = round_trip(DType::Q4_0, x);
  for (size_t b = 0; b < N / 32; ++b) {
    double d = block_amax(x, b * 32, 32) / 8.0;
    double bound = (d + 8 * d * F16_HALF_ULP) * FLOAT_SLACK;
    for (size_t i = b * 32; i < b * 32 + 32; ++i)
      ASSERT_LE(std::fabs(x[i] - y[i]), bound) << i;
  }
}

// K-quants: whatever scales the search picked, each value's stored code is the nearest one
// to it under the sub-block's scale and min as stored; the error is half a step unless the
// value lies outside the sub-block's code range, then its distance to the range's end.
TEST(Quant, Q4_KEachValueTakesTheNearestStoredLevel) {
  constexpr int64_t N = 256 * 13;
  auto x = test_row(N, 13);
  auto q = quantize(DType::Q4_K, x);
  std::vector<float> y(x.size());
  dequantize_row(DType::Q4_K, q.data(), y.data(), N);
  const auto* blocks = reinterpret_cast<const BlockQ4K*>(q.data());
  for (int64_t b = 0; b < N / 256; ++b) {
    for (int j = 0; j < 8; ++j) {
      // The top bits of sub-blocks 4..7 live in bytes 0..7; decode them from the spec.
      const uint8_t* s = blocks[b].scales;
      int sc = j < 4 ? s[j] & 63 : (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
      int m = j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
      double step = f16_to_f32(blocks[b].d) * sc;
      double low = -static_cast<double>(f16_to_f32(blocks[b].dmin)) * m;
      double high = low + 15 * step;
      for (int64_t l = 0; l < 32; ++l) {
        size_t i = static_cast<size_t>(b * 256 + j * 32 + l);
        double outside = std::max({0.0, low - x[i], x[i] - high});
        double bound = (step / 2 + outside) * FLOAT_SLACK + 1e-6;
        ASSERT_LE(std::fabs(x[i] - y[i]), bound) << "block " << b << " sub " << j << " " << l;
      }
    }
  }
}

TEST(Quant, Q6_KEachValueTakesTheNearestStoredLevel) {
  constexpr int64_t N = 256 * 13;
  auto x = test_row(N, 14);
  auto q = quantize(DType::Q6_K, x);
  std::vector<float> y(x.size());
  dequantize_row(DType::Q6_K, q.data(), y.data(), N);
  const auto* blocks = reinterpret_cast<const BlockQ6K*>(q.data());
  for (int64_t b = 0; b < N / 256; ++b) {
    for (int j = 0; j < 16; ++j) {
      double step = static_cast<double>(f16_to_f32(blocks[b].d)) * blocks[b].scales[j];
      // Codes -32..31 times a scale of either sign.
      double low = std::min(-32 * step, 31 * step);
      double high = std::max(-32 * step, 31 * step);
      for (int64_t l = 0; l < 16; ++l) {
        size_t i = static_cast<size_t>(b * 256 + j * 16 + l);
        double outside = std::max({0.0, low - x[i], x[i] - high});
        double bound = (std::fabs(step) / 2 + outside) * FLOAT_SLACK + 1e-6;
        ASSERT_LE(std::fabs(x[i] - y[i]), bound) << "block " << b << " sub " << j << " " << l;
      }
    }
  }
}

// On unit Gaussians the largest of 32 values is about 2.2, of 16 about 1.9. A uniform step
// s gives an RMS error of s / sqrt(12):
// - Q8_0: s = 2.2 / 127 -> 0.0050
// - Q4_0: s = 2.2 / 8 -> 0.079, plus clipping at +7
// - Q4_K: s = range / 15 with a range of about 4.1 -> 0.079, less after the search, plus
//   the 6-bit rounding of scales and mins
// - Q6_K: s = 1.9 / 32 -> 0.017, less after the search
// Each bound is that estimate with 20-30% margin; the measured values are printed.
TEST(Quant, RmsErrorOnGaussianRows) {
  constexpr int64_t N = 256 * 64;
  auto x = testing::random_floats(N, 15);
  const struct {
    DType type;
    double bound;
  } limits[] = {
      {DType::Q8_0, 0.0065}, {DType::Q4_0, 0.10}, {DType::Q4_K, 0.095}, {DType::Q6_K, 0.021}};
  for (const auto& l : limits) {
    double err = rms_relative_error(x, round_trip(l.type, x));
    std::printf("%s: relative RMS error %.4f (bound %.4f)\n", dtype_name(l.type), err, l.bound);
    EXPECT_LT(err, l.bound) << dtype_name(l.type);
  }
}

// Where each value lives, written from GGUF's layout independently of the dequantiser: one
// non-zero code at a time must come out at its own index and nowhere else.
TEST(Quant, Q6_KLayoutPlacesEachValue) {
  for (int v = 0; v < 256; v += 5) {
    BlockQ6K blk{};
    std::memset(blk.ql, 0, sizeof(blk.ql));
    std::memset(blk.qh, 0xAA, sizeof(blk.qh));  // every high part 2: code 32, value 0
    for (int8_t& s : blk.scales)
      s = 1;
    blk.d = f32_to_f16(1.0f);
    int half = v / 128, r = v % 128, group = r / 32, l = r % 32;
    // Code 32 + 5 = 37 = 0b100101: low nibble 5, high part 2.
    int ql_index = half * 64 + l + (group & 1) * 32;
    blk.ql[ql_index] |= static_cast<uint8_t>(group < 2 ? 5 : 5 << 4);
    blk.scales[half * 8 + l / 16 + 2 * group] = 3;
    float y[256];
    dequantize_row_q6_k_ref(&blk, y, 256);
    for (int i = 0; i < 256; ++i)
      ASSERT_EQ(y[i], i == v ? 15.0f : 0.0f) << "value " << v << " index " << i;
  }
}

TEST(Quant, Q4_KLayoutPlacesEachValue) {
  for (int v = 0; v < 256; v += 3) {
    BlockQ4K blk{};
    blk.d = f32_to_f16(1.0f);
    blk.dmin = f32_to_f16(1.0f);
    int sub = v / 32, l = v % 32;
    // Scale 37 (0b100101) and min 2 for sub-block `sub`, zero elsewhere.
    if (sub < 4) {
      blk.scales[sub] = 37;
      blk.scales[sub + 4] = 2;
    } else {
      blk.scales[sub + 4] = static_cast<uint8_t>((37 & 0xF) | (2 << 4));
      blk.scales[sub - 4] = static_cast<uint8_t>((37 >> 4) << 6);
    }
    blk.qs[(sub / 2) * 32 + l] = static_cast<uint8_t>(sub % 2 == 0 ? 3 : 3 << 4);
    float y[256];
    dequantize_row_q4_k_ref(&blk, y, 256);
    for (int i = 0; i < 256; ++i) {
      float want = i == v ? 37.0f * 3 - 2 : (i / 32 == sub ? -2.0f : 0.0f);
      ASSERT_EQ(y[i], want) << "value " << v << " index " << i;
    }
  }
}

TEST(Quant, Q4_0AndQ8_0Layouts) {
  BlockQ4_0 b4{};
  b4.d = f32_to_f16(0.5f);
  for (int i = 0; i < 16; ++i)
    b4.qs[i] = static_cast<uint8_t>(i | ((15 - i) << 4));
  float y[32];
  dequantize_row_q4_0_ref(&b4, y, 32);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(y[i], 0.5f * static_cast<float>(i - 8));
    EXPECT_EQ(y[i + 16], 0.5f * static_cast<float>(7 - i));
  }
  BlockQ8_0 b8{};
  b8.d = f32_to_f16(0.25f);
  for (int i = 0; i < 32; ++i)
    b8.qs[i] = static_cast<int8_t>(i * 8 - 128);
  dequantize_row_q8_0_ref(&b8, y, 32);
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(y[i], 0.25f * static_cast<float>(i * 8 - 128));
}

TEST(Quant, ZeroBlocksStayZero) {
  std::vector<float> zeros(512, 0.0f);
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K}) {
    auto y = round_trip(t, zeros);
    for (float v : y)
      ASSERT_EQ(v, 0.0f) << dtype_name(t);
  }
}

// The AVX512 path's activation quantiser gives the reference's bits: Gaussian rows with an
// outlier, a zero block, and blocks whose scaled values fall exactly on halves (ties, rounded
// away from zero) or just beside them.
TEST(Quant, ActivationQuantiserAvx512IsTheReferenceBitForBit) {
  if (kernel_paths_supported().back() != KernelPath::AVX512) {
    GTEST_SKIP() << "this CPU has no AVX512 path";
  }
  constexpr int64_t BLOCKS = 40;
  constexpr int64_t N = BLOCKS * Q8_ACT_BLOCK;
  auto x = testing::random_floats(N, 77, 3.0f);
  x[5] *= 50.0f;
  std::fill(x.begin() + 64, x.begin() + 96, 0.0f);
  // Block 4: max 127, so d = 1 and the codes are the values rounded: -15.5 .. 15.5 are ties.
  for (int64_t i = 0; i < Q8_ACT_BLOCK; ++i)
    x[static_cast<size_t>(128 + i)] = static_cast<float>(i - 16) + 0.5f;
  x[128] = 127.0f;
  // Block 5: the same values a float step either side of the ties.
  for (int64_t i = 0; i < Q8_ACT_BLOCK; ++i) {
    float tie = static_cast<float>(i - 16) + 0.5f;
    x[static_cast<size_t>(160 + i)] = std::nextafter(tie, i % 2 == 0 ? 100.0f : -100.0f);
  }
  x[160] = -127.0f;
  std::vector<BlockQ8Act> want(BLOCKS), got(BLOCKS);
  quantize_activations_ref(x.data(), want.data(), N);
  quantize_activations_avx512(x.data(), got.data(), N);
  for (size_t b = 0; b < want.size(); ++b) {
    ASSERT_EQ(got[b].d, want[b].d) << "block " << b;
    ASSERT_EQ(got[b].sums[0], want[b].sums[0]) << "block " << b;
    ASSERT_EQ(got[b].sums[1], want[b].sums[1]) << "block " << b;
    for (int64_t i = 0; i < Q8_ACT_BLOCK; ++i)
      ASSERT_EQ(got[b].qs[i], want[b].qs[i]) << "block " << b << " value " << i;
  }
  EXPECT_EQ(want[4].qs[1], -15);  // -14.5 rounds away from zero
  EXPECT_EQ(want[4].qs[31], 16);  // 15.5 too
}

TEST(Quant, FallbackFollowsLlamaCpp) {
  EXPECT_EQ(quant_type_for_row(DType::Q4_K, 4096), DType::Q4_K);
  EXPECT_EQ(quant_type_for_row(DType::Q6_K, 256), DType::Q6_K);
  EXPECT_EQ(quant_type_for_row(DType::Q4_K, 64), DType::Q8_0);
  EXPECT_EQ(quant_type_for_row(DType::Q6_K, 4096 + 32), DType::Q8_0);
  EXPECT_EQ(quant_type_for_row(DType::Q4_K, 100), DType::F16);
  EXPECT_EQ(quant_type_for_row(DType::Q4_0, 96), DType::Q4_0);
  EXPECT_EQ(quant_type_for_row(DType::Q8_0, 33), DType::F16);
  EXPECT_EQ(quant_type_for_row(DType::BF16, 33), DType::BF16);
  EXPECT_EQ(quant_type_for_row(DType::F32, 7), DType::F32);
}

}  // namespace
}  // namespace socle::engine
