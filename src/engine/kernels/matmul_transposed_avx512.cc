// The AVX-512 kernel of matmul_transposed.h: a register tile of TILE_TOKENS tokens by
// TILE_VECTORS vectors of 16 output columns. For each weight row o of the tile's block, the
// tile's weight vectors are loaded (and widened) once and each token's x[t, o] is broadcast
// once, then TOKENS x VECTORS fused multiply-adds: each lane is one output value's own chain,
// in the order of o, as the reference computes it.
#include <immintrin.h>

#include <algorithm>
#include <array>

#include "engine/kernels/float_lanes_avx512.h"
#include "engine/kernels/matmul_transposed.h"
#include "engine/kernels/tile_table.h"

namespace socle::engine {
namespace {

using avx512::LANES;
using avx512::lanes_mask;
using avx512::load_weights;

// 6 x 4 accumulators, 4 weight vectors and one broadcast: 29 of the 32 registers.
constexpr int TILE_TOKENS = 6;
constexpr int TILE_VECTORS = 4;
constexpr int64_t PANEL_COLUMNS = TILE_VECTORS * LANES;
// Weight rows per pass over the tokens: a panel's block of 256 rows by 64 float32 columns
// (64 KB) stays in L2 while every token tile uses it; the accumulators go back to `out`
// between blocks, which leaves each chain's operations and their order unchanged.
constexpr int64_t ROW_BLOCK = 256;
// Panels per task below which splitting costs more than it saves.
constexpr int64_t PANELS_PER_TASK_MIN = 1;

struct Job {
  float* out;      // (n, w.cols)
  const float* x;  // (n, w.rows)
  const WeightView* w;
  // Bytes from one weight row to the next, computed once: a call inside the tile's loop
  // (WeightView::row) would make GCC spill every accumulator around it.
  size_t row_bytes;
};

// out[t0 .. t0 + TOKENS, c0 .. c0 + VECTORS * 16 (or the end)] += x[.., o0 .. o1] w[o0 .. o1, ..]
template <DType TYPE, int TOKENS, int VECTORS>
SOCLE_AVX512 void tile(const Job& job, int64_t t0, int64_t c0, int64_t o0, int64_t o1) {
  const WeightView& w = *job.w;
  __mmask16 m[VECTORS];
#pragma GCC unroll 8
  for (int v = 0; v < VECTORS; ++v)
    m[v] = lanes_mask(w.cols - (c0 + v * LANES));
  __m512 acc[TOKENS][VECTORS];
#pragma GCC unroll 8
  for (int t = 0; t < TOKENS; ++t) {
#pragma GCC unroll 8
    for (int v = 0; v < VECTORS; ++v)
      acc[t][v] = _mm512_maskz_loadu_ps(m[v], job.out + (t0 + t) * w.cols + c0 + v * LANES);
  }
  const float* xs = job.x + t0 * w.rows;
  const char* row_bytes =
      static_cast<const char*>(w.data) + static_cast<size_t>(o0) * job.row_bytes;
  for (int64_t o = o0; o < o1; ++o, row_bytes += job.row_bytes) {
    const void* row = row_bytes;
    __m512 wv[VECTORS];
#pragma GCC unroll 8
    for (int v = 0; v < VECTORS; ++v)
      wv[v] = load_weights<TYPE>(row, c0 + v * LANES, m[v]);
#pragma GCC unroll 8
    for (int t = 0; t < TOKENS; ++t) {
      __m512 xv = _mm512_set1_ps(xs[t * w.rows + o]);
#pragma GCC unroll 8
      for (int v = 0; v < VECTORS; ++v)
        acc[t][v] = _mm512_fmadd_ps(xv, wv[v], acc[t][v]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < TOKENS; ++t) {
#pragma GCC unroll 8
    for (int v = 0; v < VECTORS; ++v)
      _mm512_mask_storeu_ps(job.out + (t0 + t) * w.cols + c0 + v * LANES, m[v], acc[t][v]);
  }
}

using TileFn = void (*)(const Job&, int64_t, int64_t, int64_t, int64_t);
using Tiles = TileTable<TileFn, TILE_TOKENS, TILE_VECTORS>;

// TILES<TYPE>[tokens - 1][vectors - 1]: the tile of that size, for the last tokens and columns.
template <DType TYPE>
struct TransposedTiles {
  using Fn = TileFn;
  template <int TOKENS, int VECTORS>
  static constexpr Fn at() {
    return tile<TYPE, TOKENS, VECTORS>;
  }
};
template <DType TYPE>
constexpr Tiles TILES = make_tile_table<TransposedTiles<TYPE>, TILE_TOKENS, TILE_VECTORS>();

const Tiles& tiles_for(DType type) {
  switch (type) {
    case DType::F32:
      return TILES<DType::F32>;
    case DType::F16:
      return TILES<DType::F16>;
    default:
      return TILES<DType::BF16>;
  }
}

}  // namespace

void matmul_transposed_avx512(float* out, const float* x, const WeightView& w, int64_t n,
                              ThreadPool& pool) {
  const Tiles& tiles = tiles_for(w.type);
  Job job{out, x, &w, dtype_row_bytes(w.type, w.cols)};
  const int64_t panels = (w.cols + PANEL_COLUMNS - 1) / PANEL_COLUMNS;
  // Column panels split over the threads: each output value belongs to one panel, so one
  // thread computes its whole chain.
  pool.parallel_for(panels, PANELS_PER_TASK_MIN, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t c0 = p * PANEL_COLUMNS;
      const int64_t vectors = std::min<int64_t>(TILE_VECTORS, (w.cols - c0 + LANES - 1) / LANES);
      for (int64_t o0 = 0; o0 < w.rows; o0 += ROW_BLOCK) {
        const int64_t o1 = std::min(w.rows, o0 + ROW_BLOCK);
        for (int64_t t0 = 0; t0 < n; t0 += TILE_TOKENS) {
          const int64_t tokens = std::min<int64_t>(TILE_TOKENS, n - t0);
          tiles[static_cast<size_t>(tokens - 1)][static_cast<size_t>(vectors - 1)](job, t0, c0, o0,
                                                                                   o1);
        }
      }
    }
  });
}

}  // namespace socle::engine
