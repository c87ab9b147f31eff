#include "engine/kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "unit/engine/kernels/random.h"

namespace socle::engine {
namespace {

// Attention for one head in double, written from the definition.
std::vector<double> one_head(const std::vector<float>& q, const std::vector<float>& k,
                             const std::vector<float>& v, int64_t n_keys, int64_t dim,
                             double scale) {
  std::vector<double> w(static_cast<size_t>(n_keys));
  double max = -1e300;
  for (int64_t j = 0; j < n_keys; ++j) {
    double dot = 0;
    for (int64_t d = 0; d < dim; ++d)
      dot += q[static_cast<size_t>(d)] * k[static_cast<size_t>(j * dim + d)];
    w[static_cast<size_t>(j)] = dot * scale;
    max = std::max(max, dot * scale);
  }
  double sum = 0;
  for (double& x : w)
    sum += (x = std::exp(x - max));
  std::vector<double> out(static_cast<size_t>(dim), 0.0);
  for (int64_t j = 0; j < n_keys; ++j) {
    for (int64_t d = 0; d < dim; ++d) {
      out[static_cast<size_t>(d)] +=
          w[static_cast<size_t>(j)] / sum * v[static_cast<size_t>(j * dim + d)];
    }
  }
  return out;
}

// Picks head `h`'s slice of a (n, heads * dim) tensor, rows [0, n).
std::vector<float> slice(const std::vector<float>& x, int64_t n, int64_t heads, int64_t dim,
                         int64_t h) {
  std::vector<float> out;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t d = 0; d < dim; ++d)
      out.push_back(x[static_cast<size_t>((t * heads + h) * dim + d)]);
  }
  return out;
}

TEST(Attention, CausalGroupedQueryMatchesPerHeadDefinition) {
  AttentionParams p;
  p.n_heads = 4;
  p.n_kv_heads = 2;
  p.head_dim = 8;
  p.scale = 1.0f / std::sqrt(8.0f);
  p.causal = true;
  p.q_pos0 = 3;  // three positions already in the cache
  int64_t n_q = 5, n_kv = 8;
  auto q = testing::random_floats(static_cast<size_t>(n_q * 4 * 8), 31, 2.0f);
  auto k = testing::random_floats(static_cast<size_t>(n_kv * 2 * 8), 32, 2.0f);
  auto v = testing::random_floats(static_cast<size_t>(n_kv * 2 * 8), 33);
  std::vector<float> out(q.size());
  attention_ref(out.data(), q.data(), k.data(), v.data(), n_q, n_kv, p);
  for (int64_t h = 0; h < 4; ++h) {
    auto kh = slice(k, n_kv, 2, 8, h / 2);
    auto vh = slice(v, n_kv, 2, 8, h / 2);
    for (int64_t i = 0; i < n_q; ++i) {
      std::vector<float> qi(q.begin() + (i * 4 + h) * 8, q.begin() + (i * 4 + h + 1) * 8);
      auto want = one_head(qi, kh, vh, p.q_pos0 + i + 1, 8, p.scale);
      for (int64_t d = 0; d < 8; ++d) {
        EXPECT_NEAR(out[static_cast<size_t>((i * 4 + h) * 8 + d)], want[static_cast<size_t>(d)],
                    1e-5);
      }
    }
  }
}

TEST(Attention, BidirectionalSeesEveryKeyAndWindowLimitsTheReach) {
  AttentionParams p;
  p.n_heads = 1;
  p.n_kv_heads = 1;
  p.head_dim = 4;
  p.scale = 0.5f;
  p.causal = false;
  auto q = testing::random_floats(8, 41);
  auto k = testing::random_floats(24, 42);
  auto v = testing::random_floats(24, 43);
  std::vector<float> out(8);
  attention_ref(out.data(), q.data(), k.data(), v.data(), 2, 6, p);
  for (int64_t i = 0; i < 2; ++i) {
    std::vector<float> qi(q.begin() + i * 4, q.begin() + (i + 1) * 4);
    auto want = one_head(qi, k, v, 6, 4, 0.5);
    for (int64_t d = 0; d < 4; ++d)
      EXPECT_NEAR(out[static_cast<size_t>(i * 4 + d)], want[static_cast<size_t>(d)], 1e-5);
  }
  // A window of 1 leaves each query only its own key: the output is that key's value.
  p.causal = true;
  p.window = 1;
  p.q_pos0 = 4;
  attention_ref(out.data(), q.data(), k.data(), v.data(), 2, 6, p);
  for (int64_t d = 0; d < 4; ++d) {
    EXPECT_FLOAT_EQ(out[static_cast<size_t>(d)], v[static_cast<size_t>(16 + d)]);
    EXPECT_FLOAT_EQ(out[static_cast<size_t>(4 + d)], v[static_cast<size_t>(20 + d)]);
  }
}

}  // namespace
}  // namespace socle::engine
