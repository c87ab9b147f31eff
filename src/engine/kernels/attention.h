// Scaled dot-product attention with grouped-query heads: query head h reads key/value head
// h / (n_heads / n_kv_heads). Keys and values are read either from one contiguous array or
// from fixed-size blocks of a paged KV cache (KvBlocks): the same head functions serve both,
// so a query's result is the same bits whatever the block layout.
#pragma once

#include <cstdint>
#include <span>

#include "engine/format/dtype.h"
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

// One sequence's keys and values in blocks of `block_size` positions: position j is row
// j % block_size of block j / block_size, and k[i] and v[i] point at block i, whose values are
// of `type`: F32 (float) or F16 (uint16_t holding IEEE halves, widened exactly as they are
// read, so F16 blocks give the same bits as F32 blocks holding the same, rounded, values).
// Inside a block, key/value head h's row r starts h * head_stride + r * row_stride values in.
// Contiguous rows of every head together are one block of at least as many positions as the
// keys, with head_stride = head_dim and row_stride = n_kv_heads * head_dim; KvPool's blocks
// keep each head's rows together: head_stride = block_size * head_dim, row_stride = head_dim.
struct KvBlocks {
  std::span<const void* const> k;
  std::span<const void* const> v;
  int64_t block_size = 0;
  int64_t head_stride = 0;
  int64_t row_stride = 0;
  DType type = DType::F32;
};

// The `group` query heads that share one key/value head against its keys [begin, end): for
// each head, scores q.k * scale, softmax, weighted sum of the values. The key/value head's
// rows start `kv_offset` values into each block of `kv`, `stride` values apart.
// scores is scratch for group * (end - begin) floats. A group reads each key and value row
// once for all its heads, and each head's result is the same bits as with group 1.
// out, q: (group, head_dim)
using AttentionGroupFn = void (*)(float* out, const float* q, int64_t group, const KvBlocks& kv,
                                  int64_t kv_offset, int64_t stride, int64_t begin, int64_t end,
                                  int64_t head_dim, float scale, float* scores);

// The reference: each head on its own, dot products summed in order, softmax_ref, values
// added in key order.
void attention_group_ref(float* out, const float* q, int64_t group, const KvBlocks& kv,
                         int64_t kv_offset, int64_t stride, int64_t begin, int64_t end,
                         int64_t head_dim, float scale, float* scores);
// The same with the dot products in AVX2 or AVX-512 lanes (several keys at a time, their
// horizontal sums in one shuffle tree; F16 keys widened first, so both types add in the same
// order), the softmax (softmax_*) and the value sums in lanes over head_dim; the values are
// still added in key order.
void attention_group_avx2(float* out, const float* q, int64_t group, const KvBlocks& kv,
                          int64_t kv_offset, int64_t stride, int64_t begin, int64_t end,
                          int64_t head_dim, float scale, float* scores);
void attention_group_avx512(float* out, const float* q, int64_t group, const KvBlocks& kv,
                            int64_t kv_offset, int64_t stride, int64_t begin, int64_t end,
                            int64_t head_dim, float scale, float* scores);

// The most naive attention, on one contiguous array, kept as the algorithmic reference:
// for each query and head, scores over the visible keys, softmax, weighted sum of values.
// out: (n_q, n_heads * head_dim)
// q:   (n_q, n_heads * head_dim)
// k,v: (n_kv, n_kv_heads * head_dim)
// Causal attention needs q_pos0 + n_q <= n_kv (every query sees at least itself).
void attention_ref(float* out, const float* q, const float* k, const float* v, int64_t n_q,
                   int64_t n_kv, const AttentionParams& p);

// The same on `path`, the work split over `pool`. Bitwise equal to attention_paged on the
// same rows in any blocks.
void attention(float* out, const float* q, const float* k, const float* v, int64_t n_q,
               int64_t n_kv, const AttentionParams& p, KernelPath path, ThreadPool& pool);
// The same on kernel_path_active() and default_thread_pool().
void attention(float* out, const float* q, const float* k, const float* v, int64_t n_q,
               int64_t n_kv, const AttentionParams& p);

// One sequence of a batched, paged attention call.
struct AttentionSeq {
  float* out = nullptr;      // (n_q, n_heads * head_dim)
  const float* q = nullptr;  // (n_q, n_heads * head_dim)
  int64_t n_q = 0;
  int64_t q_pos0 = 0;  // position of its first query
  int64_t n_kv = 0;    // its keys sit at positions [0, n_kv); causal: q_pos0 + n_q <= n_kv
  KvBlocks kv;         // covers n_kv positions
};

// Every sequence's queries against its own keys and values, on `path`; the (sequence,
// query, key/value head) triples split over `pool`, each one call of the path's group
// function. p.q_pos0 is not used: each sequence gives its own. Batch invariance: a query's
// result is the same bits whatever the block layout, the other sequences and queries, the
// keys beyond those it sees, or the thread count.
void attention_paged(std::span<const AttentionSeq> seqs, const AttentionParams& p, KernelPath path,
                     ThreadPool& pool);

}  // namespace socle::engine
