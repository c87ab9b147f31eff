// Random vectors and the brute-force nearest neighbours that the dense index is tested
// against: normalised and scored in double precision, independently of the index's code.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "rag/index/hits.h"

namespace socle::rag::testing {

// n vectors (n, dim) of independent standard normal values: directions spread uniformly on
// the sphere, the hardest case for approximate search (no clusters to exploit).
inline std::vector<float> random_vectors(int64_t n, int64_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n * dim));
  for (float& x : v)
    x = normal(rng);
  return v;
}

inline std::vector<int64_t> sequential_ids(int64_t n, int64_t first = 0) {
  std::vector<int64_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    ids[static_cast<size_t>(i)] = first + i;
  return ids;
}

// The k best of `ids` (rows of `vectors`) for `query` by cosine in double, best first, ties
// by smaller id; rows whose id `keep` rejects are skipped.
template <typename Keep>
std::vector<Hit> brute_force(const std::vector<float>& vectors, const std::vector<int64_t>& ids,
                             int64_t dim, const float* query, int64_t k, Keep keep) {
  auto norm = [dim](const float* v) {
    double s = 0;
    for (int64_t i = 0; i < dim; ++i)
      s += double{v[i]} * double{v[i]};
    return std::sqrt(s);
  };
  double qn = norm(query);
  std::vector<Hit> all;
  for (size_t r = 0; r < ids.size(); ++r) {
    if (!keep(ids[r])) continue;
    const float* v = vectors.data() + r * static_cast<size_t>(dim);
    double dot = 0;
    for (int64_t i = 0; i < dim; ++i)
      dot += double{v[i]} * double{query[i]};
    all.push_back({ids[r], dot / (norm(v) * qn)});
  }
  std::sort(all.begin(), all.end(), hit_better);
  if (static_cast<int64_t>(all.size()) > k) all.resize(static_cast<size_t>(k));
  return all;
}

inline std::vector<Hit> brute_force(const std::vector<float>& vectors,
                                    const std::vector<int64_t>& ids, int64_t dim,
                                    const float* query, int64_t k) {
  return brute_force(vectors, ids, dim, query, k, [](int64_t) { return true; });
}

// The fraction of `truth`'s ids that `found` holds.
inline double overlap(const std::vector<Hit>& found, const std::vector<Hit>& truth) {
  if (truth.empty()) return 1.0;
  std::set<int64_t> want;
  for (const Hit& h : truth)
    want.insert(h.id);
  int64_t hit = 0;
  for (const Hit& h : found)
    hit += want.count(h.id) ? 1 : 0;
  return static_cast<double>(hit) / static_cast<double>(truth.size());
}

inline std::vector<int64_t> ids_of(const std::vector<Hit>& hits) {
  std::vector<int64_t> out;
  for (const Hit& h : hits)
    out.push_back(h.id);
  return out;
}

}  // namespace socle::rag::testing
