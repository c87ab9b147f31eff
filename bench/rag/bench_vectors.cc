#include "bench_vectors.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

namespace socle::bench::rag {
namespace {

// The within-cluster subspace's dimension: real embeddings vary along few directions.
constexpr int64_t SPREAD_DIM = 16;
// Per-coordinate standard deviations: centres 1, spread along the subspace 0.5, noise 0.3.
// With less noise the data is nearly 16-dimensional and HNSW reaches any recall at the
// smallest ef; this much makes the ef sweep find a real operating point.
constexpr float SPREAD_SCALE = 0.5f;
constexpr float NOISE_SCALE = 0.3f;

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

void uniform_row(uint64_t seed, int64_t row, int64_t dim, float* out) {
  uint64_t state = seed * 0x100000001B3ULL + static_cast<uint64_t>(row) * 0x9E3779B97F4A7C15ULL;
  constexpr float TO_RANGE = 2.0f / 16777216.0f;  // 24 random bits to [0, 2)
  for (int64_t i = 0; i < dim; ++i)
    out[i] = static_cast<float>(splitmix64(state) >> 40) * TO_RANGE - 1.0f;
}

std::vector<float> clustered_vectors(int64_t n, int64_t dim, int64_t clusters, uint64_t seed,
                                     uint64_t draw_seed) {
  std::mt19937_64 shape(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> centres(static_cast<size_t>(clusters * dim));
  for (float& x : centres)
    x = normal(shape);
  std::vector<float> basis(static_cast<size_t>(SPREAD_DIM * dim));  // (SPREAD_DIM, dim)
  for (float& x : basis)
    x = normal(shape) / std::sqrt(static_cast<float>(SPREAD_DIM));

  std::mt19937_64 rng(draw_seed);
  std::uniform_int_distribution<int64_t> pick(0, clusters - 1);
  std::vector<float> out(static_cast<size_t>(n * dim));
  std::vector<float> z(SPREAD_DIM);
  for (int64_t r = 0; r < n; ++r) {
    float* v = out.data() + r * dim;
    const float* c = centres.data() + pick(rng) * dim;
    for (float& x : z)
      x = normal(rng) * SPREAD_SCALE;
    for (int64_t i = 0; i < dim; ++i) {
      float s = c[i] + normal(rng) * NOISE_SCALE;
      for (int64_t j = 0; j < SPREAD_DIM; ++j)
        s += z[static_cast<size_t>(j)] * basis[static_cast<size_t>(j * dim + i)];
      v[i] = s;
    }
  }
  return out;
}

void normalize(float* v, int64_t dim) {
  double s = 0;
  for (int64_t i = 0; i < dim; ++i)
    s += double{v[i]} * double{v[i]};
  if (s == 0) return;
  auto inv = static_cast<float>(1.0 / std::sqrt(s));
  for (int64_t i = 0; i < dim; ++i)
    v[i] *= inv;
}

double cosine(const float* a, const float* b, int64_t dim) {
  double dot = 0, na = 0, nb = 0;
  for (int64_t i = 0; i < dim; ++i) {
    dot += double{a[i]} * double{b[i]};
    na += double{a[i]} * double{a[i]};
    nb += double{b[i]} * double{b[i]};
  }
  return dot / std::sqrt(na * nb);
}

std::vector<socle::rag::Hit> top_k(const std::vector<double>& scores, int64_t k) {
  std::vector<socle::rag::Hit> all(scores.size());
  for (size_t i = 0; i < scores.size(); ++i)
    all[i] = {static_cast<int64_t>(i), scores[i]};
  auto kk = std::min<size_t>(static_cast<size_t>(k), all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(kk), all.end(),
                    socle::rag::hit_better);
  all.resize(kk);
  return all;
}

double recall(const std::vector<int64_t>& found, const std::vector<int64_t>& truth) {
  if (truth.empty()) return 1.0;
  std::set<int64_t> want(truth.begin(), truth.end());
  int64_t hit = 0;
  for (int64_t id : found)
    hit += want.count(id) != 0 ? 1 : 0;
  return static_cast<double>(hit) / static_cast<double>(truth.size());
}

}  // namespace socle::bench::rag
