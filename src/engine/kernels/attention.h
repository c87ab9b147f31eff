// Scaled dot-product attention with grouped-query heads: query head h reads key/value head
// h / (n_heads / n_kv_heads).
#pragma once

#include <cstdint>

#include "engine/kernels/kernel_path.h"
#include "engine/kernels/thread_pool.h"

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

// One query head against the keys [begin, end) of its key/value head: scores q.k * scale,
// softmax, weighted sum of the values. k and v point at the key/value head's values in key
// row 0; rows are kv_stride floats apart. scores is scratch for end - begin floats.
// out, q: (head_dim)
using AttentionHeadFn = void (*)(float* out, const float* q, const float* k, const float* v,
                                 int64_t begin, int64_t end, int64_t kv_stride, int64_t head_dim,
                                 float scale, float* scores);

// The reference: dot products summed in order, softmax_ref, values added in key order.
void attention_head_ref(float* out, const float* q, const float* k, const float* v, int64_t begin,
                        int64_t end, int64_t kv_stride, int64_t head_dim, float scale,
                        float* scores);
// The same with the dot products (dot_f32_*), the softmax (softmax_*) and the value sums in
// AVX2 or AVX-512 lanes over head_dim; the values are still added in key order.
void attention_head_avx2(float* out, const float* q, const float* k, const float* v, int64_t begin,
                         int64_t end, int64_t kv_stride, int64_t head_dim, float scale,
                         float* scores);
void attention_head_avx512(float* out, const float* q, const float* k, const float* v,
                           int64_t begin, int64_t end, int64_t kv_stride, int64_t head_dim,
                           float scale, float* scores);

// The reference: for each query and head, scores over the visible keys, softmax, weighted
// sum of values. Queries are independent of each other.
// out: (n_q, n_heads * head_dim)
// q:   (n_q, n_heads * head_dim)
// k,v: (n_kv, n_kv_heads * head_dim)
// Causal attention needs q_pos0 + n_q <= n_kv (every query sees at least itself).
void attention_ref(float* out, const float* q, const float* k, const float* v, int64_t n_q,
                   int64_t n_kv, const AttentionParams& p);

// The same on `path`, the (query, head) pairs split over `pool`. Each pair is one call of
// the path's head function, so a query's result is the same bits whatever the other queries,
// the cache length beyond what it sees, or the thread count.
void attention(float* out, const float* q, const float* k, const float* v, int64_t n_q,
               int64_t n_kv, const AttentionParams& p, KernelPath path, ThreadPool& pool);
// The same on kernel_path_active() and default_thread_pool().
void attention(float* out, const float* q, const float* k, const float* v, int64_t n_q,
               int64_t n_kv, const AttentionParams& p);

}  // namespace socle::engine
