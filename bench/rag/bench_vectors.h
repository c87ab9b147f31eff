// Vectors for the dense benchmarks, and the brute-force nearest neighbours they are checked
// against (scored in double precision, independently of the index's codec and kernels).
#pragma once

#include <cstdint>
#include <vector>

#include "rag/index/hits.h"

namespace socle::bench::rag {

// Row `row` of a matrix of values uniform in [-1, 1), computed from (seed, row) alone, so that
// any row can be made again without storing the matrix. out: (dim)
void uniform_row(uint64_t seed, int64_t row, int64_t dim, float* out);

// n vectors (n, dim) in `clusters` clusters, as embeddings of related texts gather: each is a
// cluster centre plus a spread within a low-dimensional subspace shared by all clusters, plus
// small isotropic noise. The centres and subspace depend on `seed` alone, so two calls with
// the same seed draw from the same distribution; `draw_seed` picks the points.
std::vector<float> clustered_vectors(int64_t n, int64_t dim, int64_t clusters, uint64_t seed,
                                     uint64_t draw_seed);

// Scales v (dim) to unit length (left alone when zero).
void normalize(float* v, int64_t dim);

// The cosine similarity of a and b (dim), in double.
double cosine(const float* a, const float* b, int64_t dim);

// The k best of `scores` (one per id 0..n-1), best first, ties by smaller id.
std::vector<socle::rag::Hit> top_k(const std::vector<double>& scores, int64_t k);

// The fraction of `truth`'s ids that `found` holds.
double recall(const std::vector<int64_t>& found, const std::vector<int64_t>& truth);

}  // namespace socle::bench::rag
