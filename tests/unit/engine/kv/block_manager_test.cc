// The paged KV bookkeeping against a simulated cache: every position a sequence writes holds
// a hash of its whole prefix (tokens and salt), as real keys and values depend on every
// earlier token. Whatever blocks the manager shares, reuses or evicts, reading a sequence
// back through its block table must give its own prefixes' hashes.
#include "engine/kv/block_manager.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <vector>

namespace socle::engine::kv {
namespace {

TEST(BlockManager, SharesFullBlocksOfACommonPrefixAndNeverTheLastPosition) {
  BlockManager m(8, 4);
  std::vector<int32_t> a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  ASSERT_EQ(m.begin(1, a), 0);
  EXPECT_EQ(m.table(1).size(), size_t{3});
  m.publish(1, a);  // blocks 0 and 1 are full; the third holds 2 of 4 positions
  std::vector<int32_t> b = {1, 2, 3, 4, 5, 6, 7, 8, 99};
  ASSERT_EQ(m.begin(2, b), 8);  // both full blocks, shared while 1 still runs
  EXPECT_EQ(m.table(2)[0], m.table(1)[0]);
  EXPECT_EQ(m.table(2)[1], m.table(1)[1]);
  EXPECT_NE(m.table(2)[2], m.table(1)[2]);
  std::vector<int32_t> c = {1, 2, 3, 4, 5, 6, 7, 8};  // exactly two blocks: the last
  ASSERT_EQ(m.begin(3, c), 4);                        // position is recomputed
  EXPECT_EQ(m.begin(4, a, /*salt=*/7), 0);            // another adapter shares nothing
  BlockStats st = m.stats();
  EXPECT_EQ(st.hit_tokens, 12);
  EXPECT_EQ(st.lookup_tokens, 10 + 9 + 8 + 10);
  EXPECT_EQ(st.used, 3 + 1 + 1 + 3);
  EXPECT_EQ(st.free, 0);
}

TEST(BlockManager, ReleasedBlocksStayCachedUntilTheirRoomIsNeeded) {
  BlockManager m(4, 2);
  std::vector<int32_t> a = {1, 2, 3, 4, 5};
  ASSERT_TRUE(m.begin(1, a).has_value());
  m.publish(1, a);
  m.release(1);
  EXPECT_EQ(m.stats().cached, 2);  // the two full blocks; the partial one is free
  EXPECT_EQ(m.stats().free, 2);
  ASSERT_EQ(m.begin(2, a), 4);  // a hit after release
  m.release(2);
  std::vector<int32_t> other = {9, 9, 9, 9, 9, 9, 9, 9};  // needs all four blocks
  EXPECT_EQ(m.blocks_needed(other), 4);
  ASSERT_EQ(m.begin(3, other), 0);
  EXPECT_EQ(m.stats().evictions, 2);
  EXPECT_FALSE(m.begin(4, a).has_value());  // nothing left: the caller queues
  EXPECT_FALSE(m.reserve(3, 9));
  m.release(3);
  EXPECT_EQ(m.begin(4, a), 0);  // evicted: computed again
}

TEST(BlockManager, EvictsAPrefixFromItsEndFirst) {
  BlockManager m(4, 2);
  std::vector<int32_t> a = {1, 2, 3, 4, 5, 6, 7};  // three full blocks and a partial one
  ASSERT_TRUE(m.begin(1, a).has_value());
  m.publish(1, a);
  m.release(1);
  std::vector<int32_t> other = {8, 8, 8};  // two blocks: the free one and one evicted
  ASSERT_EQ(m.begin(2, other), 0);
  EXPECT_EQ(m.stats().evictions, 1);
  // The evicted block was the prefix's third: the first two still serve a hit.
  EXPECT_EQ(m.blocks_needed(a), 4);
  m.release(2);
  EXPECT_EQ(m.begin(3, a), 4);
}

// Position p of a sequence holds this: it depends on every token up to p, and the salt.
uint64_t prefix_hash(const std::vector<int32_t>& tokens, size_t p, uint64_t salt) {
  uint64_t h = 1469598103934665603ULL ^ salt;
  for (size_t i = 0; i <= p; ++i)
    h = (h ^ static_cast<uint64_t>(tokens[i] + 1)) * 1099511628211ULL;
  return h;
}

TEST(BlockManager, SimulatedCacheReadsBackEverySequencesOwnPrefixes) {
  constexpr int32_t BLOCKS = 40;
  constexpr int32_t BT = 4;
  BlockManager m(BLOCKS, BT);
  std::vector<uint64_t> memory(static_cast<size_t>(BLOCKS * BT), 0);
  auto slot = [&](SeqId s, size_t p) -> uint64_t& {
    return memory[static_cast<size_t>(m.table(s)[p / BT]) * BT + p % BT];
  };
  struct Live {
    std::vector<int32_t> tokens;
    uint64_t salt;
  };
  std::map<SeqId, Live> live;
  std::mt19937 gen(99);
  // A few shared openings (system prompts), so that prefixes repeat.
  std::vector<std::vector<int32_t>> openings = {{1, 2, 3, 4, 5, 6, 7, 8, 9},
                                                {1, 2, 3, 4, 50, 51, 52, 53},
                                                {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}};
  SeqId next = 1;
  int hits = 0;
  int refused = 0;
  for (int step = 0; step < 4000; ++step) {
    int op = std::uniform_int_distribution<int>(0, 9)(gen);
    if (op < 3) {  // a new sequence
      Live l;
      l.tokens = openings[std::uniform_int_distribution<size_t>(0, openings.size() - 1)(gen)];
      int tail = std::uniform_int_distribution<int>(0, 6)(gen);
      for (int i = 0; i < tail; ++i)
        l.tokens.push_back(std::uniform_int_distribution<int32_t>(0, 3)(gen));
      l.salt = std::uniform_int_distribution<uint64_t>(0, 1)(gen);
      auto hit = m.begin(next, l.tokens, l.salt);
      if (!hit) {
        ++refused;
        continue;
      }
      hits += *hit > 0 ? 1 : 0;
      for (size_t p = 0; p < static_cast<size_t>(*hit); ++p) {
        ASSERT_EQ(slot(next, p), prefix_hash(l.tokens, p, l.salt)) << "a shared block is wrong";
      }
      for (size_t p = static_cast<size_t>(*hit); p < l.tokens.size(); ++p)
        slot(next, p) = prefix_hash(l.tokens, p, l.salt);
      m.publish(next, l.tokens);
      live.emplace(next++, std::move(l));
    } else if (op < 8 && !live.empty()) {  // a decode step of one sequence
      auto it = std::next(live.begin(), std::uniform_int_distribution<long>(
                                            0, static_cast<long>(live.size()) - 1)(gen));
      Live& l = it->second;
      if (!m.reserve(it->first, static_cast<int64_t>(l.tokens.size()) + 1)) {
        m.release(it->first);  // preempted
        live.erase(it);
        continue;
      }
      l.tokens.push_back(std::uniform_int_distribution<int32_t>(0, 3)(gen));
      slot(it->first, l.tokens.size() - 1) = prefix_hash(l.tokens, l.tokens.size() - 1, l.salt);
      m.publish(it->first, l.tokens);
    } else if (!live.empty()) {  // a sequence ends
      auto it = std::next(live.begin(), std::uniform_int_distribution<long>(
                                            0, static_cast<long>(live.size()) - 1)(gen));
      m.release(it->first);
      live.erase(it);
    }
    // Every live sequence reads back its own prefixes; the counts add up.
    std::set<BlockId> in_use;
    for (const auto& [id, l] : live) {
      for (size_t p = 0; p < l.tokens.size(); ++p)
        ASSERT_EQ(slot(id, p), prefix_hash(l.tokens, p, l.salt)) << "step " << step;
      for (BlockId b : m.table(id))
        in_use.insert(b);
    }
    BlockStats st = m.stats();
    ASSERT_EQ(st.used, static_cast<int32_t>(in_use.size()));
    ASSERT_EQ(st.used + st.cached + st.free, BLOCKS);
  }
  EXPECT_GT(hits, 100);    // the cache was exercised
  EXPECT_GT(refused, 10);  // and so was running short
  EXPECT_GT(m.stats().evictions, 10);
}

}  // namespace
}  // namespace socle::engine::kv
