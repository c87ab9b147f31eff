// AVX-512 twin of attention_group_ref: the q.k products 16 keys of a head at a time (score_tile:
// each key's products in sixteen lanes in dim order, the sixteen horizontal sums in one shuffle
// tree; F16 keys widened first; heads past 256 dims through dot_f32_avx512 / dot_f16_avx512,
// which add in the same order), the softmax is softmax_avx512, and the weighted sum of values runs
// in sixteen lanes over head_dim, adding the keys in order, in register tiles of heads by dims over
// tiles of keys. The function carries its own target attribute, so the rest of the binary stays
// baseline x86-64.
#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/attention_rows.h"
#include "engine/kernels/dot.h"
#include "engine/kernels/tile_table.h"

#define SOCLE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

namespace socle::engine {
namespace {

constexpr int64_t LANES = 16;  // float32 values per __m512

// A sequence's blocks sit anywhere in the pool (and, in contiguous arrays, rows are a whole
// row of every head apart), and the hardware prefetcher does not cross pages: without a hint
// every block's first rows are cache misses paid in full. The scores ask for the key row this
// far ahead (a block of 16 positions, in KvPool's layout 4 KiB of one head) and, when all of
// the head's values fit in L2 with room to spare, for the value row of the same key, which the
// weighted sum reads once the softmax is done; longer runs of values are asked for during the
// sum, as far ahead. Measured on 64 sequences x 160 positions x 31 layers from DRAM (8 KV heads
// of 64, 2 threads): 45 ms per step against 62 to 64 ms with keys and values 8 rows ahead each
// in their own phase; at 1,024 positions the same within this machine's noise (344 to 452 ms
// against 395 to 437).
constexpr int64_t PREFETCH_F32_ROWS_AHEAD = 16;
constexpr int64_t EARLY_VALUE_BYTES = int64_t{128} * 1024;
constexpr int64_t CACHE_LINE_BYTES = 64;
// The values' register tiles: up to 4 heads by 4 vectors of 16 dims (16 accumulators), over
// tiles of 32 keys whose rows stay in L1 while every head and dim goes through them.
constexpr int MAX_HEADS = 4;
constexpr int MAX_VECTORS = 4;
constexpr int64_t KEY_TILE = 32;
// The scores' tiles: 16 keys of one head at a time (16 accumulators), their horizontal sums in
// one shuffle tree; f16 keys are widened into a buffer of 16 rows of at most 256 dims first.
constexpr int64_t SCORE_TILE = 16;
constexpr int64_t MAX_TILED_HEAD_DIM = 256;

template <typename T>
SOCLE_AVX512 void prefetch_row(const T* row, int64_t head_dim) {
  constexpr int64_t PER_LINE = CACHE_LINE_BYTES / static_cast<int64_t>(sizeof(T));
  for (int64_t d = 0; d < head_dim; d += PER_LINE)
    _mm_prefetch(reinterpret_cast<const char*>(row + d), _MM_HINT_T0);
}

SOCLE_AVX512 float dot(const float* k, const float* q, int64_t n) {
  return dot_f32_avx512(k, q, n);
}
SOCLE_AVX512 float dot(const uint16_t* k, const float* q, int64_t n) {
  return dot_f16_avx512(k, q, n);
}

SOCLE_AVX512 __m512 load16(const float* p) {
  return _mm512_loadu_ps(p);
}
SOCLE_AVX512 __m512 load16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// The values' weighted sum, for heads [g0, g0 + G) of the group and dims [d0, d0 + 16 V) of
// each, over the KEY_TILE keys whose value rows are `rows`: accumulators in registers, loaded
// from `out` and stored back once per tile, each adding w * v key after key (the same
// operations in the same order as adding into `out` row by row).
template <typename T, int G, int V>
SOCLE_AVX512 void add_values(float* out, const float* scores, int64_t n, int64_t j0,
                             const T* const* rows, int64_t count, int64_t g0, int64_t d0,
                             int64_t head_dim) {
  __m512 acc[G][V];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v)
      acc[g][v] = _mm512_loadu_ps(out + (g0 + g) * head_dim + d0 + v * LANES);
  }
  for (int64_t j = 0; j < count; ++j) {
    __m512 value[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v)
      value[v] = load16(rows[j] + d0 + v * LANES);
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      __m512 w = _mm512_set1_ps(scores[(g0 + g) * n + j0 + j]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v)
        acc[g][v] = _mm512_fmadd_ps(w, value[v], acc[g][v]);
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v)
      _mm512_storeu_ps(out + (g0 + g) * head_dim + d0 + v * LANES, acc[g][v]);
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

// Lane j of the result is the sum of acc[j]'s sixteen lanes: the sixteen horizontal sums in
// one tree of 45 shuffles and adds (each row's 15 adds in the same order, whatever its place),
// where sixteen _mm512_reduce_add_ps calls would take about 8 instructions per row.
SOCLE_AVX512 __m512 sum_lanes16(__m512 (&acc)[SCORE_TILE]) {
  __m512 pairs[SCORE_TILE / 2];  // rows 2i and 2i + 1, eight partial sums each
#pragma GCC unroll 8
  for (int64_t i = 0; i < SCORE_TILE / 2; ++i) {
    pairs[i] = _mm512_add_ps(_mm512_unpacklo_ps(acc[2 * i], acc[2 * i + 1]),
                             _mm512_unpackhi_ps(acc[2 * i], acc[2 * i + 1]));
  }
  __m512 quads[SCORE_TILE / 4];  // rows 4i to 4i + 3, one partial sum per 128-bit chunk
#pragma GCC unroll 4
  for (int64_t i = 0; i < SCORE_TILE / 4; ++i) {
    __m512d a = _mm512_castps_pd(pairs[2 * i]);
    __m512d b = _mm512_castps_pd(pairs[2 * i + 1]);
    quads[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  constexpr int EVEN = _MM_SHUFFLE(2, 0, 2, 0);
  constexpr int ODD = _MM_SHUFFLE(3, 1, 3, 1);
  __m512 octs[2];  // rows 8i to 8i + 7: chunk pairs (0 + 1, 2 + 3) of two quads
#pragma GCC unroll 2
  for (int64_t i = 0; i < 2; ++i) {
    octs[i] = _mm512_add_ps(_mm512_shuffle_f32x4(quads[2 * i], quads[2 * i + 1], EVEN),
                            _mm512_shuffle_f32x4(quads[2 * i], quads[2 * i + 1], ODD));
  }
  return _mm512_add_ps(_mm512_shuffle_f32x4(octs[0], octs[1], EVEN),
                       _mm512_shuffle_f32x4(octs[0], octs[1], ODD));
}

// The scores of SCORE_TILE keys (float rows `rows`, head_dim each) for each head of the group:
// scores[g * n + j0 + j] = (q_g . rows[j]) * scale for j < count (rows[j] for j >= count may
// repeat a row: their lanes are not stored). Each row's products are accumulated over head_dim
// in sixteen lanes in dim order, as dot_f32_avx512 does, then summed by sum_lanes16.
SOCLE_AVX512 void score_tile(float* scores, const float* q, int64_t group, int64_t n, int64_t j0,
                             const float* const* rows, int64_t count, int64_t head_dim,
                             float scale) {
  const int64_t full = head_dim / LANES * LANES;
  const auto tail = static_cast<__mmask16>((1u << (head_dim - full)) - 1u);
  const auto kept = static_cast<__mmask16>((1u << count) - 1u);
  for (int64_t g = 0; g < group; ++g) {
    const float* qg = q + g * head_dim;
    __m512 acc[SCORE_TILE];
#pragma GCC unroll 16
    for (int64_t j = 0; j < SCORE_TILE; ++j)
      acc[j] = _mm512_setzero_ps();
    for (int64_t d = 0; d < full; d += LANES) {
      __m512 qv = _mm512_loadu_ps(qg + d);
#pragma GCC unroll 16
      for (int64_t j = 0; j < SCORE_TILE; ++j)
        acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(rows[j] + d), qv, acc[j]);
    }
    if (full < head_dim) {
      __m512 qv = _mm512_maskz_loadu_ps(tail, qg + full);
#pragma GCC unroll 16
      for (int64_t j = 0; j < SCORE_TILE; ++j)
        acc[j] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, rows[j] + full), qv, acc[j]);
    }
    __m512 s = _mm512_mul_ps(sum_lanes16(acc), _mm512_set1_ps(scale));
    _mm512_mask_storeu_ps(scores + g * n + j0, kept, s);
  }
}

// Rows of T as float rows for score_tile: float rows as they are; f16 rows widened (exactly)
// into `buffer` (SCORE_TILE rows of head_dim floats).
SOCLE_AVX512 void widen_rows(const float* const* rows, int64_t /*head_dim*/, float* /*buffer*/,
                             const float** out) {
  std::copy_n(rows, SCORE_TILE, out);
}
SOCLE_AVX512 void widen_rows(const uint16_t* const* rows, int64_t head_dim, float* buffer,
                             const float** out) {
  const int64_t full = head_dim / LANES * LANES;
  const auto tail = static_cast<__mmask16>((1u << (head_dim - full)) - 1u);
  for (int64_t j = 0; j < SCORE_TILE; ++j) {
    float* to = buffer + j * head_dim;
    int64_t d = 0;
    for (; d < full; d += LANES)
      _mm512_storeu_ps(to + d, load16(rows[j] + d));
    if (d < head_dim) {
      __m512 v = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, rows[j] + d));
      _mm512_mask_storeu_ps(to + d, tail, v);
    }
    out[j] = to;
  }
}

template <typename T>
SOCLE_AVX512 void group_avx512(float* out, const float* q, int64_t group, const KvBlocks& kv,
                               int64_t kv_offset, int64_t stride, int64_t begin, int64_t end,
                               int64_t head_dim, float scale, float* scores) {
  int64_t n = end - begin;
  // As many bytes ahead whatever the type: f16 rows are half as long.
  constexpr int64_t PREFETCH_ROWS_AHEAD = PREFETCH_F32_ROWS_AHEAD * 4 / sizeof(T);
  KvRowCursor<T> key(kv.k, kv.block_size, kv_offset, stride, begin);
  KvRowCursor<T> key_ahead(kv.k, kv.block_size, kv_offset, stride, begin + PREFETCH_ROWS_AHEAD);
  KvRowCursor<T> value_ahead(kv.v, kv.block_size, kv_offset, stride, begin);
  const bool early = n * head_dim * static_cast<int64_t>(sizeof(T)) <= EARLY_VALUE_BYTES;
  const int64_t early_rows = early ? n : std::min(n, PREFETCH_ROWS_AHEAD);
  // Scores, SCORE_TILE keys at a time (score_tile); heads longer than a tile's buffer one key
  // at a time.
  const bool tiled = head_dim <= MAX_TILED_HEAD_DIM;
  const T* key_rows[SCORE_TILE];
  const float* float_rows[SCORE_TILE];
  alignas(64) float buffer[std::is_same_v<T, float> ? 1 : SCORE_TILE * MAX_TILED_HEAD_DIM];
  for (int64_t j0 = 0; j0 < n; j0 += SCORE_TILE) {
    int64_t count = std::min(SCORE_TILE, n - j0);
    for (int64_t j = j0; j < j0 + count; ++j, key.next(), key_ahead.next()) {
      if (j + PREFETCH_ROWS_AHEAD < n) prefetch_row(key_ahead.row(), head_dim);
      if (j < early_rows) {
        prefetch_row(value_ahead.row(), head_dim);
        value_ahead.next();
      }
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
  for (int64_t g = 0; g < group; ++g)
    softmax_avx512(scores + g * n, n);
  // Values, KEY_TILE keys at a time: their rows stay in L1 while the heads and dims go through
  // them in register tiles (add_values); the dims past the last 16 one by one, as before.
  const int64_t full = head_dim / LANES * LANES;
  std::fill(out, out + group * head_dim, 0.0f);
  KvRowCursor<T> value(kv.v, kv.block_size, kv_offset, stride, begin);
  const T* rows[KEY_TILE];
  for (int64_t j0 = 0; j0 < n; j0 += KEY_TILE) {
    int64_t count = std::min(KEY_TILE, n - j0);
    for (int64_t j = 0; j < count; ++j, value.next()) {
      if (j0 + j + PREFETCH_ROWS_AHEAD < n && j0 + j + PREFETCH_ROWS_AHEAD >= early_rows) {
        prefetch_row(value_ahead.row(), head_dim);
        value_ahead.next();
      }
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

SOCLE_AVX512 void attention_group_avx512(float* out, const float* q, int64_t group,
                                         const KvBlocks& kv, int64_t kv_offset, int64_t stride,
                                         int64_t begin, int64_t end, int64_t head_dim, float scale,
                                         float* scores) {
  if (kv.type == DType::F16) {
    group_avx512<uint16_t>(out, q, group, kv, kv_offset, stride, begin, end, head_dim, scale,
                           scores);
  } else {
    group_avx512<float>(out, q, group, kv, kv_offset, stride, begin, end, head_dim, scale, scores);
  }
}

}  // namespace socle::engine
