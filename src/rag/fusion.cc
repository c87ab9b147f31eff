#include "rag/fusion.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace socle::rag {

std::vector<Ranked> reciprocal_rank_fusion(const std::vector<std::vector<int64_t>>& lists,
                                           double k) {
  std::unordered_map<int64_t, double> scores;
  for (const auto& list : lists) {
    std::unordered_set<int64_t> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      if (!seen.insert(list[i]).second) continue;
      scores[list[i]] += 1.0 / (k + static_cast<double>(i + 1));
    }
  }
  std::vector<Ranked> out;
  out.reserve(scores.size());
  for (const auto& [id, score] : scores)
    out.push_back({id, score});
  std::sort(out.begin(), out.end(), [](const Ranked& a, const Ranked& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  return out;
}

}  // namespace socle::rag
