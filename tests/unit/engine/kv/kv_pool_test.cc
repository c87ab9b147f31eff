// The KV pool's layout: every (layer, block) has its own keys and values of block_size rows
// of kv_dim floats, no two overlap, and the size per block is what they take.
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
  constexpr int64_t KV_DIM = 6;
  constexpr int64_t FLOATS = BLOCK_SIZE * KV_DIM;
  KvPool pool(LAYERS, BLOCKS, BLOCK_SIZE, KV_DIM);
  EXPECT_EQ(pool.n_layers(), LAYERS);
  EXPECT_EQ(pool.n_blocks(), BLOCKS);
  EXPECT_EQ(pool.block_size(), BLOCK_SIZE);
  EXPECT_EQ(pool.kv_dim(), KV_DIM);
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

TEST(KvPool, AnEmptyPoolIsAllowed) {
  KvPool pool(2, 0, 16, 8);
  EXPECT_EQ(pool.n_blocks(), 0);
}

}  // namespace
}  // namespace socle::engine
