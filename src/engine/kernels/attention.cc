#include "engine/kernels/attention.h"

#include <algorithm>
#include <vector>

#include "base/check.h"
#include "engine/kernels/activation.h"
#include "engine/kernels/attention_rows.h"

namespace socle::engine {
namespace {

// Multiply-adds per thread below which waking another thread costs more than it saves (a
// wake-up is a few microseconds).
constexpr int64_t FLOPS_PER_TASK_MIN = 65536;

void check_params(int64_t n_q, int64_t n_kv, int64_t q_pos0, const AttentionParams& p) {
  SOCLE_CHECK(p.n_kv_heads > 0 && p.n_heads % p.n_kv_heads == 0,
              "query heads split evenly over key/value heads");
  SOCLE_CHECK(!p.causal || q_pos0 + n_q <= n_kv, "the cache holds every query's own key");
}

// The keys [begin, end) that the query at position `pos` sees.
void visible_keys(int64_t pos, int64_t n_kv, const AttentionParams& p, int64_t* begin,
                  int64_t* end) {
  *end = p.causal ? pos + 1 : n_kv;
  *begin = p.window > 0 ? std::max<int64_t>(0, pos - p.window + 1) : 0;
}

// One query head against contiguous rows, the most naive loop (attention_ref's oracle).
void attention_head_ref(float* out, const float* q, const float* k, const float* v, int64_t begin,
                        int64_t end, int64_t kv_stride, int64_t head_dim, float scale,
                        float* scores) {
  for (int64_t j = begin; j < end; ++j) {
    const float* kj = k + j * kv_stride;
    float dot = 0.0f;
    for (int64_t d = 0; d < head_dim; ++d)
      dot += q[d] * kj[d];
    scores[j - begin] = dot * scale;
  }
  softmax_ref(scores, end - begin);
  std::fill(out, out + head_dim, 0.0f);
  for (int64_t j = begin; j < end; ++j) {
    const float* vj = v + j * kv_stride;
    float weight = scores[j - begin];
    for (int64_t d = 0; d < head_dim; ++d)
      out[d] += weight * vj[d];
  }
}

// attention_group_ref over blocks of T: float, or uint16_t holding f16 values.
template <typename T>
void group_ref(float* out, const float* q, int64_t group, const KvBlocks& kv, int64_t kv_offset,
               int64_t stride, int64_t begin, int64_t end, int64_t head_dim, float scale,
               float* scores) {
  int64_t n = end - begin;
  for (int64_t g = 0; g < group; ++g) {
    const float* qg = q + g * head_dim;
    float* og = out + g * head_dim;
    KvRowCursor<T> key(kv.k, kv.block_size, kv_offset, stride, begin);
    for (int64_t j = 0; j < n; ++j, key.next()) {
      const T* kj = key.row();
      float dot = 0.0f;
      for (int64_t d = 0; d < head_dim; ++d)
        dot += qg[d] * kv_value(kj, d);
      scores[j] = dot * scale;
    }
    softmax_ref(scores, n);
    std::fill(og, og + head_dim, 0.0f);
    KvRowCursor<T> value(kv.v, kv.block_size, kv_offset, stride, begin);
    for (int64_t j = 0; j < n; ++j, value.next()) {
      const T* vj = value.row();
      float weight = scores[j];
      for (int64_t d = 0; d < head_dim; ++d)
        og[d] += weight * kv_value(vj, d);
    }
  }
}

AttentionGroupFn group_fn(KernelPath path) {
  switch (path) {
    case KernelPath::SCALAR:
      return attention_group_ref;
    case KernelPath::AVX2:
      return attention_group_avx2;
    case KernelPath::AVX512:
      return attention_group_avx512;
  }
  return attention_group_ref;
}

}  // namespace

void attention_group_ref(float* out, const float* q, int64_t group, const KvBlocks& kv,
                         int64_t kv_offset, int64_t stride, int64_t begin, int64_t end,
                         int64_t head_dim, float scale, float* scores) {
  if (kv.type == DType::F16) {
    group_ref<uint16_t>(out, q, group, kv, kv_offset, stride, begin, end, head_dim, scale, scores);
  } else {
    group_ref<float>(out, q, group, kv, kv_offset, stride, begin, end, head_dim, scale, scores);
  }
}

void attention_ref(float* out, const float* q, const float* k, const float* v, int64_t n_q,
                   int64_t n_kv, const AttentionParams& p) {
  check_params(n_q, n_kv, p.q_pos0, p);
  std::vector<float> scores(static_cast<size_t>(n_kv));
  int64_t group = p.n_heads / p.n_kv_heads;
  int64_t q_stride = p.n_heads * p.head_dim;
  int64_t kv_stride = p.n_kv_heads * p.head_dim;
  for (int64_t i = 0; i < n_q; ++i) {
    int64_t begin = 0;
    int64_t end = 0;
    visible_keys(p.q_pos0 + i, n_kv, p, &begin, &end);
    for (int64_t h = 0; h < p.n_heads; ++h) {
      int64_t kv_offset = (h / group) * p.head_dim;
      int64_t q_offset = i * q_stride + h * p.head_dim;
      attention_head_ref(out + q_offset, q + q_offset, k + kv_offset, v + kv_offset, begin, end,
                         kv_stride, p.head_dim, p.scale, scores.data());
    }
  }
}

void attention_paged(std::span<const AttentionSeq> seqs, const AttentionParams& p, KernelPath path,
                     ThreadPool& pool) {
  AttentionGroupFn fn = group_fn(path);
  int64_t group = p.n_heads / p.n_kv_heads;
  int64_t q_stride = p.n_heads * p.head_dim;
  // Work items are (sequence, query, key/value head) triples, numbered sequence by sequence;
  // first_item[s] is sequence s's first.
  std::vector<int64_t> first_item(seqs.size() + 1, 0);
  int64_t max_kv = 1;
  int64_t flops = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    const AttentionSeq& seq = seqs[s];
    check_params(seq.n_q, seq.n_kv, seq.q_pos0, p);
    SOCLE_CHECK(seq.kv.block_size > 0 &&
                    static_cast<int64_t>(seq.kv.k.size()) * seq.kv.block_size >= seq.n_kv,
                "the blocks cover every key");
    SOCLE_CHECK(seq.kv.k.size() == seq.kv.v.size(), "keys and values in as many blocks");
    SOCLE_CHECK(seq.kv.type == DType::F32 || seq.kv.type == DType::F16,
                "blocks hold float32 or f16 values");
    SOCLE_CHECK(seq.kv.row_stride >= p.head_dim && seq.kv.head_stride >= p.head_dim,
                "a block's rows hold head_dim floats of each head");
    first_item[s + 1] = first_item[s] + seq.n_q * p.n_kv_heads;
    max_kv = std::max(max_kv, seq.n_kv);
    flops += seq.n_q * p.n_heads * 2 * seq.n_kv * p.head_dim;
  }
  int64_t items = first_item.back();
  if (items == 0) return;
  int64_t item_flops = std::max<int64_t>(1, flops / items);
  int64_t grain = std::max<int64_t>(1, FLOPS_PER_TASK_MIN / item_flops);
  // Items claimed in turn: a batch's sequences see different numbers of keys, so equal halves
  // of the items are not equal halves of the work.
  pool.parallel_for_claimed(items, grain, [&](int64_t first, int64_t last) {
    thread_local std::vector<float> scores;  // this thread's scratch, grown as needed
    if (scores.size() < static_cast<size_t>(group * max_kv))
      scores.resize(static_cast<size_t>(group * max_kv));
    auto s = static_cast<size_t>(std::upper_bound(first_item.begin(), first_item.end(), first) -
                                 first_item.begin() - 1);
    for (int64_t item = first; item < last; ++item) {
      while (item >= first_item[s + 1])
        ++s;
      const AttentionSeq& seq = seqs[s];
      int64_t local = item - first_item[s];
      int64_t i = local / p.n_kv_heads;
      int64_t kv_head = local % p.n_kv_heads;
      int64_t begin = 0;
      int64_t end = 0;
      visible_keys(seq.q_pos0 + i, seq.n_kv, p, &begin, &end);
      int64_t q_offset = i * q_stride + kv_head * group * p.head_dim;
      fn(seq.out + q_offset, seq.q + q_offset, group, seq.kv, kv_head * seq.kv.head_stride,
         seq.kv.row_stride, begin, end, p.head_dim, p.scale, scores.data());
    }
  });
}

void attention(float* out, const float* q, const float* k, const float* v, int64_t n_q,
               int64_t n_kv, const AttentionParams& p, KernelPath path, ThreadPool& pool) {
  // One block holding every key: the paged kernels on contiguous rows.
  const void* k_block = k;
  const void* v_block = v;
  AttentionSeq seq;
  seq.out = out;
  seq.q = q;
  seq.n_q = n_q;
  seq.q_pos0 = p.q_pos0;
  seq.n_kv = n_kv;
  seq.kv = KvBlocks{{&k_block, 1},
                    {&v_block, 1},
                    std::max<int64_t>(1, n_kv),
                    p.head_dim,
                    p.n_kv_heads * p.head_dim,
                    DType::F32};
  attention_paged({&seq, 1}, p, path, pool);
}

void attention(float* out, const float* q, const float* k, const float* v, int64_t n_q,
               int64_t n_kv, const AttentionParams& p) {
  attention(out, q, k, v, n_q, n_kv, p, kernel_path_active(), default_thread_pool());
}

}  // namespace socle::engine
