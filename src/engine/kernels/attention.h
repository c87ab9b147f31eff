// Scaled dot-product attention with grouped-query heads: query head h reads key/value head
// h / (n_heads / n_kv_heads).
#pragma once

#include <cstdint>

namespace socle::engine {

struct AttentionParams {
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // divides n_heads
  int64_t head_dim = 0;
  float scale = 1.0f;  // usually 1 / sqrt(head_dim)
  bool causal = true;  // a query sees only keys at its position or before
  int64_t q_pos0 = 0;  // position of the first query; keys sit at positions 0, 1, ...
  int64_t window = 0;  // > 0: a query at p also sees no key at or before p - window
};

// The reference: for each query and head, scores over the visible keys, softmax, weighted
// sum of values. Queries are independent of each other.
// out: (n_q, n_heads * head_dim)
// q:   (n_q, n_heads * head_dim)
// k,v: (n_kv, n_kv_heads * head_dim)
// Causal attention needs q_pos0 + n_q <= n_kv (every query sees at least itself).
void attention_ref(float* out, const float* q, const float* k, const float* v, int64_t n_q,
                   int64_t n_kv, const AttentionParams& p);

}  // namespace socle::engine
