#include "rag/fusion.h"

#include <gtest/gtest.h>

namespace socle::rag {
namespace {

std::vector<int64_t> ids(const std::vector<Ranked>& r) {
  std::vector<int64_t> out;
  for (const auto& x : r)
    out.push_back(x.id);
  return out;
}

TEST(FusionTest, ScoresAreSumsOfReciprocalRanks) {
  // dense: 7, 3, 9; lexical: 3, 5, 7
  auto r = reciprocal_rank_fusion({{7, 3, 9}, {3, 5, 7}}, 60);
  ASSERT_EQ(r.size(), 4u);
  // 3: 1/62 + 1/61; 7: 1/61 + 1/63; 5: 1/62; 9: 1/63.
  EXPECT_EQ(ids(r), (std::vector<int64_t>{3, 7, 5, 9}));
  EXPECT_DOUBLE_EQ(r[0].score, 1.0 / 62 + 1.0 / 61);
  EXPECT_DOUBLE_EQ(r[1].score, 1.0 / 61 + 1.0 / 63);
  EXPECT_DOUBLE_EQ(r[3].score, 1.0 / 63);
}

TEST(FusionTest, SmallKFavoursTheTopOfEachList) {
  // With k = 0 the first of one list (1/1) beats an item second in both (1/2 + 1/2 = 1)
  // only on the id tie-break; with k = 60, being in both lists wins clearly.
  auto tight = reciprocal_rank_fusion({{1, 2}, {3, 2}}, 0);
  EXPECT_EQ(ids(tight), (std::vector<int64_t>{1, 2, 3}));
  auto loose = reciprocal_rank_fusion({{1, 2}, {3, 2}}, 60);
  EXPECT_EQ(ids(loose), (std::vector<int64_t>{2, 1, 3}));
}

TEST(FusionTest, RepeatsWithinAListCountOnceAndEmptyListsAreFine) {
  auto r = reciprocal_rank_fusion({{4, 4, 4}, {}}, 60);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].score, 1.0 / 61);
  EXPECT_TRUE(reciprocal_rank_fusion({}, 60).empty());
}

}  // namespace
}  // namespace socle::rag
