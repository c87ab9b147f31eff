// AVX2 twin of attention_head_ref: the q.k products are dot_f32_avx2, the softmax is
// softmax_avx2, and the weighted sum of values runs in eight lanes over head_dim, adding the
// keys in order. The function carries its own target attribute, so the rest of the binary
// stays baseline x86-64.
#include <immintrin.h>

#include <algorithm>

#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/dot.h"

#define SOCLE_AVX2 __attribute__((target("avx2,fma")))

namespace socle::engine {
namespace {

constexpr int64_t LANES = 8;  // float32 values per __m256

// Key and value rows sit kv_stride floats apart, often a 4 KiB page each, and the hardware
// prefetcher does not cross pages: without a hint every row is a cache miss paid in full.
constexpr int64_t PREFETCH_ROWS_AHEAD = 8;
constexpr int64_t CACHE_LINE_FLOATS = 16;

SOCLE_AVX2 void prefetch_row(const float* row, int64_t head_dim) {
  for (int64_t d = 0; d < head_dim; d += CACHE_LINE_FLOATS)
    _mm_prefetch(reinterpret_cast<const char*>(row + d), _MM_HINT_T0);
}

}  // namespace

SOCLE_AVX2 void attention_head_avx2(float* out, const float* q, const float* k, const float* v,
                                    int64_t begin, int64_t end, int64_t kv_stride, int64_t head_dim,
                                    float scale, float* scores) {
  for (int64_t j = begin; j < end; ++j) {
    if (j + PREFETCH_ROWS_AHEAD < end)
      prefetch_row(k + (j + PREFETCH_ROWS_AHEAD) * kv_stride, head_dim);
    scores[j - begin] = dot_f32_avx2(k + j * kv_stride, q, head_dim) * scale;
  }
  for (int64_t j = begin; j < std::min(end, begin + PREFETCH_ROWS_AHEAD); ++j)
    prefetch_row(v + j * kv_stride, head_dim);
  softmax_avx2(scores, end - begin);
  std::fill(out, out + head_dim, 0.0f);
  for (int64_t j = begin; j < end; ++j) {
    if (j + PREFETCH_ROWS_AHEAD < end)
      prefetch_row(v + (j + PREFETCH_ROWS_AHEAD) * kv_stride, head_dim);
    const float* vj = v + j * kv_stride;
    float weight = scores[j - begin];
    __m256 w = _mm256_set1_ps(weight);
    int64_t d = 0;
    for (; d + LANES <= head_dim; d += LANES) {
      __m256 acc = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + d), _mm256_loadu_ps(out + d));
      _mm256_storeu_ps(out + d, acc);
    }
    for (; d < head_dim; ++d)
      out[d] += weight * vj[d];
  }
}

}  // namespace socle::engine
