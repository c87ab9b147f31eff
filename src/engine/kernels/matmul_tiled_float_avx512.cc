// The tiled AVX-512 matmul for float weights (F32, F16, BF16): a register tile of TILE_ROWS
// weight rows by TILE_TOKENS tokens, each weight vector loaded (and widened) once for the
// tile's tokens and each activation vector once for its rows. Every (row, token) pair keeps
// one 16-lane accumulator: fused multiply-adds over the columns in order, the last partial
// vector under a mask, then one _mm512_reduce_add_ps, whatever the tile, n or thread count.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <vector>

#include "base/check.h"
#include "engine/kernels/float_lanes_avx512.h"
#include "engine/kernels/matmul_tiled.h"
#include "engine/kernels/tile_table.h"

namespace socle::engine {
namespace {

using avx512::LANES;
using avx512::lanes_mask;
using avx512::load_weights;

// 4 x 6 accumulators, 4 weight vectors and one activation vector: 29 of the 32 registers.
constexpr int TILE_ROWS = 4;
constexpr int TILE_TOKENS = 6;
// Columns per pass of a tile (a multiple of 16) when the tokens fill several tiles: a group's
// 16 rows and a token tile's 6 tokens of 256 float32 values (22 KB) fit L1 together. One
// token tile takes whole rows in one pass (the weights stream once either way, and whole
// rows stream faster).
constexpr int64_t COLUMN_CHUNK = 256;
// Row tiles that pass over the same column chunk and token tile.
constexpr int64_t GROUP_TILES = 4;
// Row tiles per task below which splitting costs more than it saves (as matmul.cc's 16 rows).
constexpr int64_t TILES_PER_TASK_MIN = 4;

// Sixteen float32 accumulator lanes kept between column chunks.
struct alignas(64) Accumulators {
  float lanes[LANES];
};

struct FloatJob {
  float* out;      // (n, w.rows)
  const float* x;  // (n, w.cols)
  const WeightView* w;
  const float* bias;     // (w.rows) or nullptr
  int64_t column_chunk;  // columns per pass, a multiple of 16
};

// Output rows r0 .. r0 + ROWS - 1 for tokens t0 .. t0 + TOKENS - 1, columns c0 .. c0 +
// job.column_chunk - 1 (or the end): the accumulators start at zero (c0 = 0) or from `saved`,
// and end in `saved` or, after the last column, reduced into `out`.
// saved: (ROWS * TOKENS * 16) floats, 64-byte aligned
template <DType TYPE, int ROWS, int TOKENS>
SOCLE_AVX512 void float_tile(const FloatJob& job, int64_t r0, int64_t t0, int64_t c0,
                             float* saved) {
  const WeightView& w = *job.w;
  const void* rows[ROWS];
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r)
    rows[r] = w.row(r0 + r);
  const float* xs[TOKENS];
#pragma GCC unroll 8
  for (int t = 0; t < TOKENS; ++t)
    xs[t] = job.x + (t0 + t) * w.cols;
  __m512 acc[ROWS][TOKENS];
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
#pragma GCC unroll 8
    for (int t = 0; t < TOKENS; ++t) {
      acc[r][t] = c0 == 0 ? _mm512_setzero_ps() : _mm512_load_ps(saved + (r * TOKENS + t) * LANES);
    }
  }
  // Sixteen columns at a time, the row's last partial vector under a mask (zeros add
  // nothing). One loop body, every loop over the tile unrolled: GCC then keeps the
  // accumulators in registers (a helper taking them by reference made it spill them).
  const int64_t c1 = std::min(w.cols, c0 + job.column_chunk);
  for (int64_t c = c0; c < c1; c += LANES) {
    __mmask16 m = lanes_mask(c1 - c);
    __m512 wv[ROWS];
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; ++r)
      wv[r] = load_weights<TYPE>(rows[r], c, m);
#pragma GCC unroll 8
    for (int t = 0; t < TOKENS; ++t) {
      __m512 xv = _mm512_maskz_loadu_ps(m, xs[t] + c);
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; ++r)
        acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
  if (c1 < w.cols) {
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; ++r) {
#pragma GCC unroll 8
      for (int t = 0; t < TOKENS; ++t)
        _mm512_store_ps(saved + (r * TOKENS + t) * LANES, acc[r][t]);
    }
    return;
  }
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    float b = job.bias != nullptr ? job.bias[r0 + r] : 0.0f;
#pragma GCC unroll 8
    for (int t = 0; t < TOKENS; ++t)
      job.out[(t0 + t) * w.rows + r0 + r] = _mm512_reduce_add_ps(acc[r][t]) + b;
  }
}

using FloatTileFn = void (*)(const FloatJob&, int64_t, int64_t, int64_t, float*);
using FloatTileTable = TileTable<FloatTileFn, TILE_ROWS, TILE_TOKENS>;

// TILES<TYPE>[rows - 1][tokens - 1]: the tile of that size, for the last rows and tokens.
template <DType TYPE>
struct FloatTiles {
  using Fn = FloatTileFn;
  template <int ROWS, int TOKENS>
  static constexpr Fn at() {
    return float_tile<TYPE, ROWS, TOKENS>;
  }
};
template <DType TYPE>
constexpr FloatTileTable TILES = make_tile_table<FloatTiles<TYPE>, TILE_ROWS, TILE_TOKENS>();

const FloatTileTable& tiles_for(DType type) {
  switch (type) {
    case DType::F32:
      return TILES<DType::F32>;
    case DType::F16:
      return TILES<DType::F16>;
    default:
      SOCLE_CHECK(type == DType::BF16, "matmul_tiled_avx512_covers admits float types only");
      return TILES<DType::BF16>;
  }
}

}  // namespace

void matmul_tiled_float_avx512(float* out, const float* x, const WeightView& w, const float* bias,
                               int64_t n, ThreadPool& pool) {
  const FloatTileTable& tiles = tiles_for(w.type);
  int64_t whole_rows = (w.cols + LANES - 1) / LANES * LANES;
  FloatJob job{out, x, &w, bias, n <= TILE_TOKENS ? whole_rows : COLUMN_CHUNK};
  int64_t row_tiles = (w.rows + TILE_ROWS - 1) / TILE_ROWS;
  int64_t token_tiles = (n + TILE_TOKENS - 1) / TILE_TOKENS;
  constexpr size_t TILE_FLOATS = size_t{TILE_ROWS} * TILE_TOKENS * LANES;
  // A group of row tiles at a time, column chunk by column chunk: the group's chunk of weights
  // and a token tile's chunk of activations stay in L1 while the token tiles and the group's
  // row tiles pass over them; the accumulators wait in `saved` between chunks.
  pool.parallel_for(row_tiles, TILES_PER_TASK_MIN, [&](int64_t begin, int64_t end) {
    std::vector<Accumulators> saved(static_cast<size_t>(GROUP_TILES * token_tiles) * TILE_FLOATS /
                                    LANES);
    for (int64_t g = begin; g < end; g += GROUP_TILES) {
      int64_t g_end = std::min(end, g + GROUP_TILES);
      for (int64_t c0 = 0; c0 < w.cols; c0 += job.column_chunk) {
        for (int64_t tt = 0; tt < token_tiles; ++tt) {
          int64_t t0 = tt * TILE_TOKENS;
          int64_t tokens = std::min<int64_t>(TILE_TOKENS, n - t0);
          for (int64_t tile = g; tile < g_end; ++tile) {
            int64_t r0 = tile * TILE_ROWS;
            int64_t rows = std::min<int64_t>(TILE_ROWS, w.rows - r0);
            size_t slot = static_cast<size_t>((tile - g) * token_tiles + tt) * TILE_FLOATS / LANES;
            tiles[static_cast<size_t>(rows - 1)][static_cast<size_t>(tokens - 1)](
                job, r0, t0, c0, saved[slot].lanes);
          }
        }
      }
    }
  });
}

}  // namespace socle::engine
