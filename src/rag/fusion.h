// Reciprocal-rank fusion: merges ranked lists (dense and lexical hits) into one ranking.
// Each item scores sum over the lists it appears in of 1 / (k + rank), rank counted from 1;
// items are returned best first, ties broken by the smaller id so that the order is
// deterministic. k (60 by default, Cormack et al. 2009) damps the weight of the top ranks.
#pragma once

#include <cstdint>
#include <vector>

namespace socle::rag {

struct Ranked {
  int64_t id = 0;
  double score = 0;
};

// `lists` are each best first; an id repeated within one list counts at its first rank.
std::vector<Ranked> reciprocal_rank_fusion(const std::vector<std::vector<int64_t>>& lists,
                                           double k = 60);

}  // namespace socle::rag
