// The KV pool's layout: every (layer, block) has its own keys and values of block_size rows
// of kv_dim values, no two overlap, the size per block is what they take, and a written row
// lands head by head, each head's rows together; an F16 pool stores each value rounded to
// nearest even, the same bits on every kernel path.
#include "engine/kv/kv_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "engine/format/dtype.h"

namespace socle::engine {
namespace {

// An F32 pool's blocks as floats.
float* f32_keys(KvPool& pool, int64_t l, int32_t b) {
  return static_cast<float*>(pool.keys(l, b));
}
float* f32_values(KvPool& pool, int64_t l, int32_t b) {
  return static_cast<float*>(pool.values(l, b));
}
const float* f32_keys(const KvPool& pool, int64_t l, int32_t b) {
  return static_cast<const float*>(pool.keys(l, b));
}
const float* f32_values(const KvPool& pool, int64_t l, int32_t b) {
  return static_cast<const float*>(pool.values(l, b));
}

TEST(KvPool, EveryLayerAndBlockHasItsOwnKeysAndValues) {
  constexpr int64_t LAYERS = 3;
  constexpr int32_t BLOCKS = 5;
  constexpr int64_t BLOCK_SIZE = 7;
  constexpr int64_t HEADS = 2;
  constexpr int64_t HEAD_DIM = 3;
  constexpr int64_t KV_DIM = HEADS * HEAD_DIM;
  constexpr int64_t FLOATS = BLOCK_SIZE * KV_DIM;
  KvPool pool(LAYERS, BLOCKS, BLOCK_SIZE, HEADS, HEAD_DIM);
  EXPECT_EQ(pool.n_layers(), LAYERS);
  EXPECT_EQ(pool.n_blocks(), BLOCKS);
  EXPECT_EQ(pool.block_size(), BLOCK_SIZE);
  EXPECT_EQ(pool.kv_dim(), KV_DIM);
  EXPECT_EQ(pool.n_kv_heads(), HEADS);
  EXPECT_EQ(pool.head_dim(), HEAD_DIM);
  EXPECT_EQ(pool.head_stride(), BLOCK_SIZE * HEAD_DIM);
  EXPECT_EQ(KvPool::bytes_per_block(LAYERS, BLOCK_SIZE, KV_DIM),
            2 * LAYERS * FLOATS * static_cast<int64_t>(sizeof(float)));

  // Each region gets its own value in every float; reading them all back finds each
  // region's value intact, so no two regions share a float.
  auto tag = [](int64_t l, int32_t b, bool key) {
    return static_cast<float>((l * BLOCKS + b) * 2 + (key ? 0 : 1) + 1);
  };
  for (int64_t l = 0; l < LAYERS; ++l) {
    for (int32_t b = 0; b < BLOCKS; ++b) {
      std::fill_n(f32_keys(pool, l, b), FLOATS, tag(l, b, true));
      std::fill_n(f32_values(pool, l, b), FLOATS, tag(l, b, false));
    }
  }
  const KvPool& read = pool;
  for (int64_t l = 0; l < LAYERS; ++l) {
    for (int32_t b = 0; b < BLOCKS; ++b) {
      float k = tag(l, b, true);
      float v = tag(l, b, false);
      EXPECT_TRUE(std::all_of(f32_keys(read, l, b), f32_keys(read, l, b) + FLOATS,
                              [k](float x) { return x == k; }))
          << "layer " << l << " block " << b;
      EXPECT_TRUE(std::all_of(f32_values(read, l, b), f32_values(read, l, b) + FLOATS,
                              [v](float x) { return x == v; }))
          << "layer " << l << " block " << b;
    }
  }
}

// Row r of a block, head h, dim d sits at h * block_size * head_dim + r * head_dim + d: the
// layout KvBlocks describes with head_stride = block_size * head_dim, row_stride = head_dim.
TEST(KvPool, WriteGroupsEachHeadsRows) {
  constexpr int64_t BLOCK_SIZE = 4;
  constexpr int64_t HEADS = 3;
  constexpr int64_t HEAD_DIM = 2;
  KvPool pool(2, 3, BLOCK_SIZE, HEADS, HEAD_DIM);
  pool.touch_all();
  for (int64_t r = 0; r < BLOCK_SIZE; ++r) {
    std::vector<float> k(HEADS * HEAD_DIM), v(HEADS * HEAD_DIM);
    for (int64_t i = 0; i < HEADS * HEAD_DIM; ++i) {
      k[static_cast<size_t>(i)] = static_cast<float>(100 * r + i);
      v[static_cast<size_t>(i)] = -static_cast<float>(100 * r + i);
    }
    pool.write(1, 2, r, k.data(), v.data(), KernelPath::SCALAR);
  }
  for (int64_t h = 0; h < HEADS; ++h) {
    for (int64_t r = 0; r < BLOCK_SIZE; ++r) {
      for (int64_t d = 0; d < HEAD_DIM; ++d) {
        int64_t at = h * BLOCK_SIZE * HEAD_DIM + r * HEAD_DIM + d;
        auto want = static_cast<float>(100 * r + h * HEAD_DIM + d);
        EXPECT_EQ(f32_keys(pool, 1, 2)[at], want) << "head " << h << " row " << r << " dim " << d;
        EXPECT_EQ(f32_values(pool, 1, 2)[at], -want)
            << "head " << h << " row " << r << " dim " << d;
      }
    }
  }
}

// touch_all() leaves every float of both arrays at zero, in a pool under a huge page (on a
// cache line) and one of 11 MB a side (on huge-page boundaries).
TEST(KvPool, TouchAllZeroesEveryFloat) {
  for (int64_t blocks : {3, 700}) {
    constexpr int64_t FLOATS = int64_t{16} * 128;  // a block: 16 rows of 2 heads of 64
    KvPool pool(2, blocks, 16, 2, 64);  // 700 blocks: 2 x 700 x FLOATS floats, 11 MB a side
    for (int64_t l = 0; l < 2; ++l) {
      for (int32_t b = 0; b < blocks; ++b) {
        std::fill_n(f32_keys(pool, l, b), FLOATS, 7.0f);
        std::fill_n(f32_values(pool, l, b), FLOATS, 7.0f);
      }
    }
    pool.touch_all();
    const KvPool& read = pool;
    for (int64_t l = 0; l < 2; ++l) {
      for (int32_t b = 0; b < blocks; ++b) {
        ASSERT_TRUE(std::all_of(f32_keys(read, l, b), f32_keys(read, l, b) + FLOATS,
                                [](float x) { return x == 0.0f; }))
            << blocks << " blocks: layer " << l << " block " << b;
        ASSERT_TRUE(std::all_of(f32_values(read, l, b), f32_values(read, l, b) + FLOATS,
                                [](float x) { return x == 0.0f; }))
            << blocks << " blocks: layer " << l << " block " << b;
      }
    }
    uintptr_t align = blocks > 3 ? uintptr_t{2} << 20 : 64;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(read.keys(0, 0)) % align, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(read.values(0, 0)) % align, 0u);
  }
}

// An F16 pool takes half the bytes per block and stores each written value as f32_to_f16 gives
// it, in the same head-grouped layout, the same bits on every path this CPU runs (NaN aside:
// a NaN stays a NaN); out-of-range values become infinities.
TEST(KvPool, F16PoolStoresEachValueRoundedToNearestEven) {
  constexpr int64_t BLOCK_SIZE = 5;
  constexpr int64_t HEADS = 3;
  constexpr int64_t HEAD_DIM = 37;  // 2 x 16 + 5: full vectors and a tail
  constexpr int64_t KV_DIM = HEADS * HEAD_DIM;
  EXPECT_EQ(KvPool::bytes_per_block(2, BLOCK_SIZE, KV_DIM, DType::F16),
            KvPool::bytes_per_block(2, BLOCK_SIZE, KV_DIM, DType::F32) / 2);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<std::vector<float>> rows_k(BLOCK_SIZE), rows_v(BLOCK_SIZE);
  for (int64_t r = 0; r < BLOCK_SIZE; ++r) {
    for (int64_t i = 0; i < KV_DIM; ++i) {
      rows_k[r].push_back(normal(rng));
      rows_v[r].push_back(normal(rng) * 1e-5f);  // f16 subnormals among them
    }
  }
  // Values that round up into the next binade, to infinity, to zero, ties, NaN.
  const std::vector<float> special = {65519.0f,
                                      65520.0f,
                                      -1e9f,
                                      5.9604645e-8f,
                                      2.9802322e-8f,
                                      1.0009765625f,
                                      1.00146484375f,
                                      std::numeric_limits<float>::infinity(),
                                      std::numeric_limits<float>::quiet_NaN()};
  std::copy(special.begin(), special.end(), rows_k[0].begin() + HEAD_DIM - 3);
  for (KernelPath path : kernel_paths_supported()) {
    KvPool pool(2, 3, BLOCK_SIZE, HEADS, HEAD_DIM, DType::F16);
    EXPECT_EQ(pool.type(), DType::F16);
    for (int64_t r = 0; r < BLOCK_SIZE; ++r)
      pool.write(1, 2, r, rows_k[r].data(), rows_v[r].data(), path);
    const auto* keys = static_cast<const uint16_t*>(pool.keys(1, 2));
    const auto* values = static_cast<const uint16_t*>(pool.values(1, 2));
    for (int64_t h = 0; h < HEADS; ++h) {
      for (int64_t r = 0; r < BLOCK_SIZE; ++r) {
        for (int64_t d = 0; d < HEAD_DIM; ++d) {
          int64_t at = h * BLOCK_SIZE * HEAD_DIM + r * HEAD_DIM + d;
          float k = rows_k[r][h * HEAD_DIM + d];
          float v = rows_v[r][h * HEAD_DIM + d];
          if (std::isnan(k)) {
            EXPECT_TRUE(std::isnan(f16_to_f32(keys[at]))) << kernel_path_name(path);
          } else {
            EXPECT_EQ(keys[at], f32_to_f16(k))
                << kernel_path_name(path) << ": " << k << " at head " << h << " row " << r;
          }
          EXPECT_EQ(values[at], f32_to_f16(v))
              << kernel_path_name(path) << ": " << v << " at head " << h << " row " << r;
        }
      }
    }
  }
}

TEST(KvPool, AnEmptyPoolIsAllowed) {
  KvPool pool(2, 0, 16, 2, 4);
  EXPECT_EQ(pool.n_blocks(), 0);
}

}  // namespace
}  // namespace socle::engine
