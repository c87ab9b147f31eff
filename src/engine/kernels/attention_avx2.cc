// AVX2 twin of attention_group_ref: the q.k products are dot_f32_avx2 (dot_f16_avx2 for F16
// blocks: the same order), the softmax is softmax_avx2, and the weighted sum of values runs in
// eight lanes over head_dim, adding the keys in order. The function carries its own target
// attribute, so the rest of the binary stays baseline x86-64.
#include <immintrin.h>

#include <algorithm>

#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/attention_rows.h"
#include "engine/kernels/dot.h"

#define SOCLE_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace socle::engine {
namespace {

constexpr int64_t LANES = 8;  // float32 values per __m256

// Key and value rows sit a whole row of every head apart, often a 4 KiB page each (and
// blocks anywhere in the pool), and the hardware prefetcher does not cross pages: without a
// hint every row is a cache miss paid in full.
constexpr int64_t PREFETCH_ROWS_AHEAD = 8;
constexpr int64_t CACHE_LINE_BYTES = 64;

template <typename T>
SOCLE_AVX2 void prefetch_row(const T* row, int64_t head_dim) {
  constexpr int64_t PER_LINE = CACHE_LINE_BYTES / static_cast<int64_t>(sizeof(T));
  for (int64_t d = 0; d < head_dim; d += PER_LINE)
    _mm_prefetch(reinterpret_cast<const char*>(row + d), _MM_HINT_T0);
}

SOCLE_AVX2 float dot(const float* k, const float* q, int64_t n) {
  return dot_f32_avx2(k, q, n);
}
SOCLE_AVX2 float dot(const uint16_t* k, const float* q, int64_t n) {
  return dot_f16_avx2(k, q, n);
}

SOCLE_AVX2 __m256 load8(const float* p) {
  return _mm256_loadu_ps(p);
}
SOCLE_AVX2 __m256 load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

template <typename T>
SOCLE_AVX2 void group_avx2(float* out, const float* q, int64_t group, const KvBlocks& kv,
                           int64_t kv_offset, int64_t stride, int64_t begin, int64_t end,
                           int64_t head_dim, float scale, float* scores) {
  int64_t n = end - begin;
  KvRowCursor<T> key(kv.k, kv.block_size, kv_offset, stride, begin);
  KvRowCursor<T> key_ahead(kv.k, kv.block_size, kv_offset, stride, begin + PREFETCH_ROWS_AHEAD);
  for (int64_t j = 0; j < n; ++j, key.next(), key_ahead.next()) {
    if (j + PREFETCH_ROWS_AHEAD < n) prefetch_row(key_ahead.row(), head_dim);
    const T* kj = key.row();
    for (int64_t g = 0; g < group; ++g)
      scores[g * n + j] = dot(kj, q + g * head_dim, head_dim) * scale;
  }
  KvRowCursor<T> value_ahead(kv.v, kv.block_size, kv_offset, stride, begin);
  for (int64_t j = 0; j < std::min(n, PREFETCH_ROWS_AHEAD); ++j, value_ahead.next())
    prefetch_row(value_ahead.row(), head_dim);
  for (int64_t g = 0; g < group; ++g)
    softmax_avx2(scores + g * n, n);
  std::fill(out, out + group * head_dim, 0.0f);
  KvRowCursor<T> value(kv.v, kv.block_size, kv_offset, stride, begin);
  for (int64_t j = 0; j < n; ++j, value.next(), value_ahead.next()) {
    if (j + PREFETCH_ROWS_AHEAD < n) prefetch_row(value_ahead.row(), head_dim);
    const T* vj = value.row();
    for (int64_t g = 0; g < group; ++g) {
      float* og = out + g * head_dim;
      float weight = scores[g * n + j];
      __m256 w = _mm256_set1_ps(weight);
      int64_t d = 0;
      for (; d + LANES <= head_dim; d += LANES) {
        __m256 acc = _mm256_fmadd_ps(w, load8(vj + d), _mm256_loadu_ps(og + d));
        _mm256_storeu_ps(og + d, acc);
      }
      for (; d < head_dim; ++d)
        og[d] += weight * kv_value(vj, d);
    }
  }
}

}  // namespace

SOCLE_AVX2 void attention_group_avx2(float* out, const float* q, int64_t group, const KvBlocks& kv,
                                     int64_t kv_offset, int64_t stride, int64_t begin, int64_t end,
                                     int64_t head_dim, float scale, float* scores) {
  if (kv.type == DType::F16) {
    group_avx2<uint16_t>(out, q, group, kv, kv_offset, stride, begin, end, head_dim, scale, scores);
  } else {
    group_avx2<float>(out, q, group, kv, kv_offset, stride, begin, end, head_dim, scale, scores);
  }
}

}  // namespace socle::engine
