#include "engine/kernels/attention.h"

#include <algorithm>
#include <vector>

#include "base/check.h"
#include "engine/kernels/activation.h"

namespace socle::engine {
namespace {

// Multiply-adds per thread below which waking another thread costs more than it saves (a
// wake-up is a few microseconds).
constexpr int64_t FLOPS_PER_TASK_MIN = 65536;

void check_params(int64_t n_q, int64_t n_kv, const AttentionParams& p) {
  SOCLE_CHECK(p.n_kv_heads > 0 && p.n_heads % p.n_kv_heads == 0,
              "query heads split evenly over key/value heads");
  SOCLE_CHECK(!p.causal || p.q_pos0 + n_q <= n_kv, "the cache holds every query's own key");
}

// Query i, head h of the whole problem through `head`.
void attend_one(AttentionHeadFn head, float* out, const float* q, const float* k, const float* v,
                int64_t i, int64_t h, int64_t n_kv, const AttentionParams& p, float* scores) {
  int64_t group = p.n_heads / p.n_kv_heads;
  int64_t q_stride = p.n_heads * p.head_dim;
  int64_t kv_stride = p.n_kv_heads * p.head_dim;
  int64_t pos = p.q_pos0 + i;
  int64_t end = p.causal ? pos + 1 : n_kv;
  int64_t begin = p.window > 0 ? std::max<int64_t>(0, pos - p.window + 1) : 0;
  int64_t kv_offset = (h / group) * p.head_dim;
  int64_t q_offset = i * q_stride + h * p.head_dim;
  head(out + q_offset, q + q_offset, k + kv_offset, v + kv_offset, begin, end, kv_stride,
       p.head_dim, p.scale, scores);
}

}  // namespace

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

void attention_ref(float* out, const float* q, const float* k, const float* v, int64_t n_q,
                   int64_t n_kv, const AttentionParams& p) {
  check_params(n_q, n_kv, p);
  std::vector<float> scores(static_cast<size_t>(n_kv));
  for (int64_t i = 0; i < n_q; ++i) {
    for (int64_t h = 0; h < p.n_heads; ++h)
      attend_one(attention_head_ref, out, q, k, v, i, h, n_kv, p, scores.data());
  }
}

void attention(float* out, const float* q, const float* k, const float* v, int64_t n_q,
               int64_t n_kv, const AttentionParams& p, KernelPath path, ThreadPool& pool) {
  check_params(n_q, n_kv, p);
  AttentionHeadFn head = path == KernelPath::AVX512 ? attention_head_avx512
                         : path == KernelPath::AVX2 ? attention_head_avx2
                                                    : attention_head_ref;
  // Pairs by query then head; each thread takes a contiguous run of them.
  int64_t pair_flops = std::max<int64_t>(1, 2 * n_kv * p.head_dim);
  int64_t grain = std::max<int64_t>(1, FLOPS_PER_TASK_MIN / pair_flops);
  pool.parallel_for(n_q * p.n_heads, grain, [&](int64_t first, int64_t last) {
    std::vector<float> scores(static_cast<size_t>(n_kv));
    for (int64_t pair = first; pair < last; ++pair) {
      attend_one(head, out, q, k, v, pair / p.n_heads, pair % p.n_heads, n_kv, p, scores.data());
    }
  });
}

void attention(float* out, const float* q, const float* k, const float* v, int64_t n_q,
               int64_t n_kv, const AttentionParams& p) {
  attention(out, q, k, v, n_q, n_kv, p, kernel_path_active(), default_thread_pool());
}

}  // namespace socle::engine
