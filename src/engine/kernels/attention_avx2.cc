// AVX2 twin of attention_group_ref: the q.k products eight keys of a head at a time (each key's
// products in eight lanes in dim order, the eight horizontal sums in one shuffle tree; F16 keys
// widened first), the softmax is softmax_avx2, and the weighted sum of values runs in eight
// lanes over head_dim, adding the keys in order, in register tiles of heads by dims over tiles
// of keys. The function carries its own target attribute, so the rest of the binary stays
// baseline x86-64.
#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/attention_rows.h"
#include "engine/kernels/dot.h"
#include "engine/kernels/tile_table.h"

#define SOCLE_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace socle::engine {
namespace {

constexpr int64_t LANES = 8;  // float32 values per __m256

// Key and value rows sit a whole row of every head apart, often a 4 KiB page each (and
// blocks anywhere in the pool), and the hardware prefetcher does not cross pages: without a
// hint every row is a cache miss paid in full.
constexpr int64_t PREFETCH_ROWS_AHEAD = 8;
constexpr int64_t CACHE_LINE_BYTES = 64;
// The scores' tiles: 8 keys of one head at a time (8 accumulators); f16 keys are widened into
// a buffer of 8 rows of at most 256 dims first; longer heads go one key at a time.
constexpr int64_t SCORE_TILE = 8;
constexpr int64_t MAX_TILED_HEAD_DIM = 256;
// The values' register tiles: up to 4 heads by 2 vectors of 8 dims (8 accumulators), over
// tiles of 32 keys whose rows stay in L1 while every head and dim goes through them.
constexpr int MAX_HEADS = 4;
constexpr int MAX_VECTORS = 2;
constexpr int64_t KEY_TILE = 32;

template <typename T>
SOCLE_AVX2 void prefetch_row(const T* row, int64_t head_dim) {
  constexpr int64_t PER_LINE = CACHE_LINE_BYTES / static_cast<int64_t>(sizeof(T));
  for (int64_t d = 0; d < head_dim; d += PER_LINE)
    _mm_prefetch(reinterpret_cast<const char*>(row + d), _MM_HINT_T0);
}

// Lane j of the result is the sum of acc[j]'s eight lanes: the eight horizontal sums in one
// tree of shuffles and adds, in an order fixed by j alone.
SOCLE_AVX2 __m256 sum_lanes8(__m256 (&acc)[SCORE_TILE]) {
  __m256 pairs[SCORE_TILE / 2];  // rows 2i and 2i + 1, four partial sums each
#pragma GCC unroll 4
  for (int64_t i = 0; i < SCORE_TILE / 2; ++i) {
    pairs[i] = _mm256_add_ps(_mm256_unpacklo_ps(acc[2 * i], acc[2 * i + 1]),
                             _mm256_unpackhi_ps(acc[2 * i], acc[2 * i + 1]));
  }
  __m256 quads[2];  // rows 4i to 4i + 3, one partial sum per 128-bit half
#pragma GCC unroll 2
  for (int64_t i = 0; i < 2; ++i) {
    __m256d a = _mm256_castps_pd(pairs[2 * i]);
    __m256d b = _mm256_castps_pd(pairs[2 * i + 1]);
    quads[i] = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(a, b)),
                             _mm256_castpd_ps(_mm256_unpackhi_pd(a, b)));
  }
  return _mm256_add_ps(_mm256_permute2f128_ps(quads[0], quads[1], 0x20),
                       _mm256_permute2f128_ps(quads[0], quads[1], 0x31));
}

// The scores of SCORE_TILE keys (float rows `rows`, head_dim each) for each head of the group:
// scores[g * n + j0 + j] = (q_g . rows[j]) * scale for j < count (rows[j] for j >= count may
// repeat a row: their lanes are not stored).
SOCLE_AVX2 void score_tile(float* scores, const float* q, int64_t group, int64_t n, int64_t j0,
                           const float* const* rows, int64_t count, int64_t head_dim, float scale) {
  const int64_t full = head_dim / LANES * LANES;
  // The tail's lanes: all ones below head_dim - full (maskload reads only those).
  const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(head_dim - full)),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (int64_t g = 0; g < group; ++g) {
    const float* qg = q + g * head_dim;
    __m256 acc[SCORE_TILE];
#pragma GCC unroll 8
    for (int64_t j = 0; j < SCORE_TILE; ++j)
      acc[j] = _mm256_setzero_ps();
    for (int64_t d = 0; d < full; d += LANES) {
      __m256 qv = _mm256_loadu_ps(qg + d);
#pragma GCC unroll 8
      for (int64_t j = 0; j < SCORE_TILE; ++j)
        acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(rows[j] + d), qv, acc[j]);
    }
    if (full < head_dim) {
      __m256 qv = _mm256_maskload_ps(qg + full, tail);
#pragma GCC unroll 8
      for (int64_t j = 0; j < SCORE_TILE; ++j)
        acc[j] = _mm256_fmadd_ps(_mm256_maskload_ps(rows[j] + full, tail), qv, acc[j]);
    }
    alignas(32) float s[SCORE_TILE];
    _mm256_store_ps(s, _mm256_mul_ps(sum_lanes8(acc), _mm256_set1_ps(scale)));
    std::copy_n(s, count, scores + g * n + j0);
  }
}

// Rows of T as float rows for score_tile: float rows as they are; f16 rows widened (exactly)
// into `buffer` (SCORE_TILE rows of head_dim floats).
SOCLE_AVX2 void widen_rows(const float* const* rows, int64_t /*head_dim*/, float* /*buffer*/,
                           const float** out) {
  std::copy_n(rows, SCORE_TILE, out);
}
SOCLE_AVX2 void widen_rows(const uint16_t* const* rows, int64_t head_dim, float* buffer,
                           const float** out) {
  for (int64_t j = 0; j < SCORE_TILE; ++j) {
    float* to = buffer + j * head_dim;
    int64_t d = 0;
    for (; d + LANES <= head_dim; d += LANES)
      _mm256_storeu_ps(
          to + d, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[j] + d))));
    for (; d < head_dim; ++d)
      to[d] = kv_value(rows[j], d);
    out[j] = to;
  }
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

// The values' weighted sum, for heads [g0, g0 + G) of the group and dims [d0, d0 + 8 V) of
// each, over the `count` keys whose value rows are `rows`: accumulators in registers, loaded
// from `out` and stored back once per tile, each adding w * v key after key (the same
// operations in the same order as adding into `out` row by row).
template <typename T, int G, int V>
SOCLE_AVX2 void add_values(float* out, const float* scores, int64_t n, int64_t j0,
                           const T* const* rows, int64_t count, int64_t g0, int64_t d0,
                           int64_t head_dim) {
  __m256 acc[G][V];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v)
      acc[g][v] = _mm256_loadu_ps(out + (g0 + g) * head_dim + d0 + v * LANES);
  }
  for (int64_t j = 0; j < count; ++j) {
    __m256 value[V];
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v)
      value[v] = load8(rows[j] + d0 + v * LANES);
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      __m256 w = _mm256_set1_ps(scores[(g0 + g) * n + j0 + j]);
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v)
        acc[g][v] = _mm256_fmadd_ps(w, value[v], acc[g][v]);
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v)
      _mm256_storeu_ps(out + (g0 + g) * head_dim + d0 + v * LANES, acc[g][v]);
  }
}

template <typename T>
using AddValuesFn = void (*)(float*, const float*, int64_t, int64_t, const T* const*, int64_t,
                             int64_t, int64_t, int64_t);

// ADD_VALUES<T>[heads - 1][vectors - 1]
template <typename T>
struct AddValuesTiles {
  using Fn = AddValuesFn<T>;
  template <int G, int V>
  static constexpr Fn at() {
    return add_values<T, G, V>;
  }
};
template <typename T>
constexpr auto ADD_VALUES = make_tile_table<AddValuesTiles<T>, MAX_HEADS, MAX_VECTORS>();

template <typename T>
SOCLE_AVX2 void group_avx2(float* out, const float* q, int64_t group, const KvBlocks& kv,
                           int64_t kv_offset, int64_t stride, int64_t begin, int64_t end,
                           int64_t head_dim, float scale, float* scores) {
  int64_t n = end - begin;
  KvRowCursor<T> key(kv.k, kv.block_size, kv_offset, stride, begin);
  KvRowCursor<T> key_ahead(kv.k, kv.block_size, kv_offset, stride, begin + PREFETCH_ROWS_AHEAD);
  // Scores, SCORE_TILE keys at a time (score_tile); heads longer than a tile's buffer one key
  // at a time.
  const bool tiled = head_dim <= MAX_TILED_HEAD_DIM;
  const T* key_rows[SCORE_TILE];
  const float* float_rows[SCORE_TILE];
  alignas(32) float buffer[std::is_same_v<T, float> ? 1 : SCORE_TILE * MAX_TILED_HEAD_DIM];
  for (int64_t j0 = 0; j0 < n; j0 += SCORE_TILE) {
    int64_t count = std::min(SCORE_TILE, n - j0);
    for (int64_t j = j0; j < j0 + count; ++j, key.next(), key_ahead.next()) {
      if (j + PREFETCH_ROWS_AHEAD < n) prefetch_row(key_ahead.row(), head_dim);
      key_rows[j - j0] = key.row();
    }
    if (!tiled) {
      for (int64_t j = 0; j < count; ++j) {
        for (int64_t g = 0; g < group; ++g)
          scores[g * n + j0 + j] = dot(key_rows[j], q + g * head_dim, head_dim) * scale;
      }
      continue;
    }
    for (int64_t j = count; j < SCORE_TILE; ++j)
      key_rows[j] = key_rows[count - 1];
    widen_rows(key_rows, head_dim, buffer, float_rows);
    score_tile(scores, q, group, n, j0, float_rows, count, head_dim, scale);
  }
  KvRowCursor<T> value_ahead(kv.v, kv.block_size, kv_offset, stride, begin);
  for (int64_t j = 0; j < std::min(n, PREFETCH_ROWS_AHEAD); ++j, value_ahead.next())
    prefetch_row(value_ahead.row(), head_dim);
  for (int64_t g = 0; g < group; ++g)
    softmax_avx2(scores + g * n, n);
  // Values, KEY_TILE keys at a time: their rows stay in L1 while the heads and dims go through
  // them in register tiles (add_values); the dims past the last 8 one by one.
  const int64_t full = head_dim / LANES * LANES;
  std::fill(out, out + group * head_dim, 0.0f);
  KvRowCursor<T> value(kv.v, kv.block_size, kv_offset, stride, begin);
  const T* rows[KEY_TILE];
  for (int64_t j0 = 0; j0 < n; j0 += KEY_TILE) {
    int64_t count = std::min(KEY_TILE, n - j0);
    for (int64_t j = 0; j < count; ++j, value.next(), value_ahead.next()) {
      if (j0 + j + PREFETCH_ROWS_AHEAD < n) prefetch_row(value_ahead.row(), head_dim);
      rows[j] = value.row();
    }
    for (int64_t g0 = 0; g0 < group; g0 += MAX_HEADS) {
      int64_t heads = std::min<int64_t>(MAX_HEADS, group - g0);
      for (int64_t d0 = 0; d0 < full; d0 += MAX_VECTORS * LANES) {
        int64_t vectors = std::min<int64_t>(MAX_VECTORS, (full - d0) / LANES);
        ADD_VALUES<T>[static_cast<size_t>(heads - 1)][static_cast<size_t>(vectors - 1)](
            out, scores, n, j0, rows, count, g0, d0, head_dim);
      }
    }
    for (int64_t j = 0; j < count && full < head_dim; ++j) {
      const T* vj = rows[j];
      for (int64_t g = 0; g < group; ++g) {
        float* og = out + g * head_dim;
        float weight = scores[g * n + j0 + j];
        for (int64_t d = full; d < head_dim; ++d)
          og[d] += weight * kv_value(vj, d);
      }
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
