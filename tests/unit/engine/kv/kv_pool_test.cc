// The KV pool's layout: every (layer, block) has its own keys and values of block_size rows
// of kv_dim floats, no two overlap, the size per block is what they take, and a written row
// lands head by head, each head's rows together.
#include "engine/kv/kv_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace socle::engine {
namespace {

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
      std::fill_n(pool.keys(l, b), FLOATS, tag(l, b, true));
      std::fill_n(pool.values(l, b), FLOATS, tag(l, b, false));
    }
  }
  const KvPool& read = pool;
  for (int64_t l = 0; l < LAYERS; ++l) {
    for (int32_t b = 0; b < BLOCKS; ++b) {
      float k = tag(l, b, true);
      float v = tag(l, b, false);
      EXPECT_TRUE(
          std::all_of(read.keys(l, b), read.keys(l, b) + FLOATS, [k](float x) { return x == k; }))
          << "layer " << l << " block " << b;
      EXPECT_TRUE(std::all_of(read.values(l, b), read.values(l, b) + FLOATS,
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
  std::fill_n(pool.keys(1, 2), BLOCK_SIZE * HEADS * HEAD_DIM, 0.0f);
  std::fill_n(pool.values(1, 2), BLOCK_SIZE * HEADS * HEAD_DIM, 0.0f);
  for (int64_t r = 0; r < BLOCK_SIZE; ++r) {
    std::vector<float> k(HEADS * HEAD_DIM), v(HEADS * HEAD_DIM);
    for (int64_t i = 0; i < HEADS * HEAD_DIM; ++i) {
      k[static_cast<size_t>(i)] = static_cast<float>(100 * r + i);
      v[static_cast<size_t>(i)] = -static_cast<float>(100 * r + i);
    }
    pool.write(1, 2, r, k.data(), v.data());
  }
  for (int64_t h = 0; h < HEADS; ++h) {
    for (int64_t r = 0; r < BLOCK_SIZE; ++r) {
      for (int64_t d = 0; d < HEAD_DIM; ++d) {
        int64_t at = h * BLOCK_SIZE * HEAD_DIM + r * HEAD_DIM + d;
        auto want = static_cast<float>(100 * r + h * HEAD_DIM + d);
        EXPECT_EQ(pool.keys(1, 2)[at], want) << "head " << h << " row " << r << " dim " << d;
        EXPECT_EQ(pool.values(1, 2)[at], -want) << "head " << h << " row " << r << " dim " << d;
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
        std::fill_n(pool.keys(l, b), FLOATS, 7.0f);
        std::fill_n(pool.values(l, b), FLOATS, 7.0f);
      }
    }
    pool.touch_all();
    const KvPool& read = pool;
    for (int64_t l = 0; l < 2; ++l) {
      for (int32_t b = 0; b < blocks; ++b) {
        ASSERT_TRUE(std::all_of(read.keys(l, b), read.keys(l, b) + FLOATS,
                                [](float x) { return x == 0.0f; }))
            << blocks << " blocks: layer " << l << " block " << b;
        ASSERT_TRUE(std::all_of(read.values(l, b), read.values(l, b) + FLOATS,
                                [](float x) { return x == 0.0f; }))
            << blocks << " blocks: layer " << l << " block " << b;
      }
    }
    uintptr_t align = blocks > 3 ? uintptr_t{2} << 20 : 64;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(read.keys(0, 0)) % align, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(read.values(0, 0)) % align, 0u);
  }
}

TEST(KvPool, AnEmptyPoolIsAllowed) {
  KvPool pool(2, 0, 16, 2, 4);
  EXPECT_EQ(pool.n_blocks(), 0);
}

}  // namespace
}  // namespace socle::engine
