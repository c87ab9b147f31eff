// AVX-512 twin of attention_group_ref: the q.k products are dot_f32_avx512, the softmax is
// softmax_avx512, and the weighted sum of values runs in sixteen lanes over head_dim, adding the
// keys in order. The function carries its own target attribute, so the rest of the binary
// stays baseline x86-64.
#include <immintrin.h>

#include <algorithm>

#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/attention_rows.h"
#include "engine/kernels/dot.h"

#define SOCLE_AVX512 __attribute__((target("avx512f,avx2,fma")))

namespace socle::engine {
namespace {

constexpr int64_t LANES = 16;  // float32 values per __m512

// Key and value rows sit a whole row of every head apart, often a 4 KiB page each (and
// blocks anywhere in the pool), and the hardware prefetcher does not cross pages: without a
// hint every row is a cache miss paid in full.
constexpr int64_t PREFETCH_ROWS_AHEAD = 8;
constexpr int64_t CACHE_LINE_FLOATS = 16;

SOCLE_AVX512 void prefetch_row(const float* row, int64_t head_dim) {
  for (int64_t d = 0; d < head_dim; d += CACHE_LINE_FLOATS)
    _mm_prefetch(reinterpret_cast<const char*>(row + d), _MM_HINT_T0);
}

}  // namespace

SOCLE_AVX512 void attention_group_avx512(float* out, const float* q, int64_t group,
                                         const KvBlocks& kv, int64_t kv_offset, int64_t stride,
                                         int64_t begin, int64_t end, int64_t head_dim, float scale,
                                         float* scores) {
  int64_t n = end - begin;
  KvRowCursor key(kv.k, kv.block_size, kv_offset, stride, begin);
  KvRowCursor key_ahead(kv.k, kv.block_size, kv_offset, stride, begin + PREFETCH_ROWS_AHEAD);
  for (int64_t j = 0; j < n; ++j, key.next(), key_ahead.next()) {
    if (j + PREFETCH_ROWS_AHEAD < n) prefetch_row(key_ahead.row(), head_dim);
    const float* kj = key.row();
    for (int64_t g = 0; g < group; ++g)
      scores[g * n + j] = dot_f32_avx512(kj, q + g * head_dim, head_dim) * scale;
  }
  KvRowCursor value_ahead(kv.v, kv.block_size, kv_offset, stride, begin);
  for (int64_t j = 0; j < std::min(n, PREFETCH_ROWS_AHEAD); ++j, value_ahead.next())
    prefetch_row(value_ahead.row(), head_dim);
  for (int64_t g = 0; g < group; ++g)
    softmax_avx512(scores + g * n, n);
  std::fill(out, out + group * head_dim, 0.0f);
  KvRowCursor value(kv.v, kv.block_size, kv_offset, stride, begin);
  for (int64_t j = 0; j < n; ++j, value.next(), value_ahead.next()) {
    if (j + PREFETCH_ROWS_AHEAD < n) prefetch_row(value_ahead.row(), head_dim);
    const float* vj = value.row();
    for (int64_t g = 0; g < group; ++g) {
      float* og = out + g * head_dim;
      float weight = scores[g * n + j];
      __m512 w = _mm512_set1_ps(weight);
      int64_t d = 0;
      for (; d + LANES <= head_dim; d += LANES) {
        __m512 acc = _mm512_fmadd_ps(w, _mm512_loadu_ps(vj + d), _mm512_loadu_ps(og + d));
        _mm512_storeu_ps(og + d, acc);
      }
      for (; d < head_dim; ++d)
        og[d] += weight * vj[d];
    }
  }
}

}  // namespace socle::engine
