#include "engine/kernels/attention.h"

#include <algorithm>
#include <vector>

#include "base/check.h"
#include "engine/kernels/activation.h"

namespace socle::engine {

void attention_ref(float* out, const float* q, const float* k, const float* v, int64_t n_q,
                   int64_t n_kv, const AttentionParams& p) {
  SOCLE_CHECK(p.n_kv_heads > 0 && p.n_heads % p.n_kv_heads == 0,
              "query heads split evenly over key/value heads");
  SOCLE_CHECK(!p.causal || p.q_pos0 + n_q <= n_kv, "the cache holds every query's own key");
  int64_t group = p.n_heads / p.n_kv_heads;
  int64_t q_stride = p.n_heads * p.head_dim;
  int64_t kv_stride = p.n_kv_heads * p.head_dim;
  std::vector<float> scores(static_cast<size_t>(n_kv));
  for (int64_t i = 0; i < n_q; ++i) {
    int64_t pos = p.q_pos0 + i;
    int64_t end = p.causal ? pos + 1 : n_kv;
    int64_t begin = p.window > 0 ? std::max<int64_t>(0, pos - p.window + 1) : 0;
    for (int64_t h = 0; h < p.n_heads; ++h) {
      const float* qh = q + i * q_stride + h * p.head_dim;
      int64_t kv_head = h / group;
      for (int64_t j = begin; j < end; ++j) {
        const float* kj = k + j * kv_stride + kv_head * p.head_dim;
        float dot = 0.0f;
        for (int64_t d = 0; d < p.head_dim; ++d)
          dot += qh[d] * kj[d];
        scores[static_cast<size_t>(j - begin)] = dot * p.scale;
      }
      softmax_ref(scores.data(), end - begin);
      float* oh = out + i * q_stride + h * p.head_dim;
      std::fill(oh, oh + p.head_dim, 0.0f);
      for (int64_t j = begin; j < end; ++j) {
        const float* vj = v + j * kv_stride + kv_head * p.head_dim;
        float weight = scores[static_cast<size_t>(j - begin)];
        for (int64_t d = 0; d < p.head_dim; ++d)
          oh[d] += weight * vj[d];
      }
    }
  }
}

}  // namespace socle::engine
