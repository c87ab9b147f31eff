// The AVX-512 VNNI matmul on packed quantised weights (packed_weights.h: Q8_0, Q4_0, Q4_K):
// each register holds 4 columns of 16 rows, each int32 lane one row. Per block of 32 columns
// and (row group, token) pair, 8 `vpdpbusd` add the block's exact integer dot product into the
// lanes (the weights' unsigned codes against the token's signed codes, broadcast 4 at a time;
// the lanes start at -offset times the sum of the token's codes, which takes off Q8_0's +128
// and Q4_0's +8), then one fused multiply-add brings it into the float accumulator:
// acc += isum * (w scale * x scale), block after block as the scalar reference adds them
// (Q4_K then takes off its min: acc -= (dmin m) * (x scale * sum of x codes)). Every lane, hence
// every (row, token) result, goes through the same operations in the same order whatever the
// tile's shape, the number of tokens or the split over threads.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "engine/kernels/matmul_tiled.h"
#include "engine/kernels/packed_weights.h"
#include "engine/kernels/q8_activations.h"
#include "engine/kernels/quant.h"
#include "engine/kernels/tile_table.h"

#define SOCLE_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

namespace socle::engine {
namespace {

constexpr int64_t QUAD = 4;                            // codes per int32 lane
constexpr int64_t QUADS = Q8_ACT_BLOCK / QUAD;         // column quads per block
constexpr int64_t LANES = PACKED_GROUP_ROWS;           // rows per register
constexpr int64_t CODE_BYTES = Q8_ACT_BLOCK * LANES;   // a block of a group's codes
constexpr int64_t SUBS = QK_K / Q8_ACT_BLOCK;          // Q4_K blocks per super-block
constexpr int64_t NIBBLE_CODE_BYTES = CODE_BYTES / 2;  // Q4_0, Q4_K: a block of a group's codes
constexpr int64_t Q4_K_SCALE_BYTES = 2 * SUBS * LANES + 4 * LANES;  // per super-block

// What the weights' stored codes add to their values: Q8_0 + 128, Q4_0 + 8, Q4_K none (its
// min is taken off apart).
template <DType TYPE>
constexpr int32_t CODE_OFFSET = TYPE == DType::Q8_0   ? 128
                                : TYPE == DType::Q4_0 ? 8
                                                      : 0;
// Register tiles: row groups by tokens. Each (group, token) pair is one chain of `vpdpbusd`,
// and a core keeps 8 to 12 of them in flight (the instruction's latency is about 4 cycles, its
// throughput 2 per cycle on Zen 4: 4 chains run at half speed). A call's tokens go in the
// fewest passes of at most 6, all of one size but the last (8 tokens: 4 + 4, not 6 + 2, whose
// second pass ran 4 chains; 13: 5 + 5 + 3), and the row groups per tile
// follow the pass's tokens: 4 groups up to 3 tokens, 3 groups for 4, 2 groups for 5 or 6,
// which keeps the integer and float accumulators, the weights and the broadcast token codes
// within the 32 registers.
constexpr int MAX_GROUPS = 4;
constexpr int MAX_TOKENS = 6;
// Tokens per task of the activations' quantisation: a few microseconds each, less than waking
// a thread, so a batch of decode tokens is quantised by the caller alone.
constexpr int64_t QUANTIZE_TOKENS_PER_TASK = 16;
// Row-group tiles a thread claims at a time: fewer claims cost more atomic operations on one
// shared counter, more leave the threads waiting on each other at the end of a matmul.
constexpr int64_t TILES_PER_CLAIM = 2;
// Prefetching: how far ahead in a group's codes (a few DRAM latencies' worth at the rate a
// core computes 4 to 6 tokens), and above how many tokens. Measured on the engine bench's
// 2048-wide Q8_0 matrices streamed from DRAM (kernels_bench stream): 8 tokens 42-43 ms per
// 1.5 GB with 1-2 KiB ahead, 45-47 ms without, 44 ms at 512 B, 44-45 ms at 8 KiB; decode
// steps (1 token) are no faster with it.
constexpr int64_t PREFETCH_BYTES = 2048;
constexpr int64_t PREFETCH_TOKENS_MIN = 3;
constexpr int64_t CACHE_LINE = 64;

// The activations of one call, quantised per token in blocks of 32. Each calling thread keeps
// one and reuses it (growing, never shrinking): a batch's activations are often more than the
// allocator's mmap threshold, and a fresh zero-filled vector per call cost 1% of a 64-stream
// serving step in page faults and zeroing.
struct Acts {
  std::vector<BlockQ8Act> blocks;  // (n, blocks)
  std::vector<int32_t> start;      // (n, blocks): -offset * (sum of the block's codes)
  std::vector<float> dsum;         // Q4_K: (n, blocks): scale * (sum of the block's codes)
};

struct Job {
  float* out;  // (n, rows)
  const float* bias;
  const uint8_t* packed;
  int64_t rows;
  int64_t blocks;
  size_t group_bytes;
  const Acts* acts;
};

// 16 f16 values at p (32-byte aligned) as float32.
SOCLE_VNNI inline __m512 halves(const uint8_t* p) {
  return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
}

// 16 bytes at p (16-byte aligned) as float32.
SOCLE_VNNI inline __m512 bytes(const uint8_t* p) {
  return _mm512_cvtepi32_ps(
      _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(p))));
}

// One group's 16 weight scales of block b (Q4_K: d * sc), and Q4_K's 16 dmin * m.
template <DType TYPE>
SOCLE_VNNI inline __m512 block_scales(const uint8_t* scales, int64_t b, __m512* mins) {
  if constexpr (TYPE == DType::Q4_K) {
    const uint8_t* s = scales + (b / SUBS) * Q4_K_SCALE_BYTES;
    int64_t j = b % SUBS;
    *mins = _mm512_mul_ps(halves(s + 2 * SUBS * LANES + 2 * LANES), bytes(s + (SUBS + j) * LANES));
    return _mm512_mul_ps(halves(s + 2 * SUBS * LANES), bytes(s + j * LANES));
  } else {
    *mins = _mm512_setzero_ps();
    return halves(scales + b * LANES * 2);
  }
}

// Column quad k of block b: each group's codes `w` against each token's 4 codes of the quad.
template <int GROUPS, int TOKENS>
SOCLE_VNNI inline void quad(__m512i (&isum)[GROUPS][TOKENS], const __m512i (&w)[GROUPS],
                            const BlockQ8Act* const (&x)[TOKENS], int64_t b, int64_t k) {
#pragma GCC unroll 8
  for (int t = 0; t < TOKENS; ++t) {
    int32_t four = 0;
    std::memcpy(&four, x[t][b].qs + k * QUAD, sizeof(four));
    __m512i xq = _mm512_set1_epi32(four);
#pragma GCC unroll 8
    for (int g = 0; g < GROUPS; ++g)
      isum[g][t] = _mm512_dpbusd_epi32(isum[g][t], w[g], xq);
  }
}

// Asks for the cache lines PREFETCH_BYTES ahead of `offset` in each group's codes (past a
// group's codes: its scales, then the next group; past the last group, nothing that faults:
// a prefetch never does).
template <int GROUPS>
SOCLE_VNNI inline void prefetch_ahead(const uint8_t* const (&codes)[GROUPS], int64_t offset,
                                      int64_t bytes) {
#pragma GCC unroll 8
  for (int g = 0; g < GROUPS; ++g) {
    const char* p = reinterpret_cast<const char*>(codes[g] + offset) + PREFETCH_BYTES;
    for (int64_t line = 0; line < bytes; line += CACHE_LINE)
      _mm_prefetch(p + line, _MM_HINT_T0);
  }
}

// One tile: GROUPS row groups from g0 by TOKENS tokens from t0. `prefetch`: the pass that
// first reads the tile's weights, from memory, asks for them ahead.
template <DType TYPE, int GROUPS, int TOKENS>
SOCLE_VNNI void tile(const Job& job, int64_t g0, int64_t t0, bool prefetch) {
  constexpr bool NIBBLES = TYPE != DType::Q8_0;
  constexpr int64_t BLOCK_BYTES = NIBBLES ? NIBBLE_CODE_BYTES : CODE_BYTES;
  const int64_t blocks = job.blocks;
  const uint8_t* codes[GROUPS];
  const uint8_t* scales[GROUPS];
#pragma GCC unroll 8
  for (int g = 0; g < GROUPS; ++g) {
    codes[g] = job.packed + static_cast<size_t>(g0 + g) * job.group_bytes;
    scales[g] = codes[g] + blocks * BLOCK_BYTES;
  }
  const BlockQ8Act* x[TOKENS];
  const int32_t* start[TOKENS];
  const float* dsum[TOKENS];
#pragma GCC unroll 8
  for (int t = 0; t < TOKENS; ++t) {
    x[t] = job.acts->blocks.data() + (t0 + t) * blocks;
    start[t] = job.acts->start.data() + (t0 + t) * blocks;
    dsum[t] = TYPE == DType::Q4_K ? job.acts->dsum.data() + (t0 + t) * blocks : nullptr;
  }
  __m512 acc[GROUPS][TOKENS];
#pragma GCC unroll 8
  for (int g = 0; g < GROUPS; ++g) {
#pragma GCC unroll 8
    for (int t = 0; t < TOKENS; ++t)
      acc[g][t] = _mm512_setzero_ps();
  }
  const __m512i low_nibbles = _mm512_set1_epi8(0xF);
  for (int64_t b = 0; b < blocks; ++b) {
    if (prefetch) prefetch_ahead(codes, b * BLOCK_BYTES, BLOCK_BYTES);
    __m512i isum[GROUPS][TOKENS];
#pragma GCC unroll 8
    for (int t = 0; t < TOKENS; ++t) {
      __m512i s = TYPE == DType::Q4_K ? _mm512_setzero_si512() : _mm512_set1_epi32(start[t][b]);
#pragma GCC unroll 8
      for (int g = 0; g < GROUPS; ++g)
        isum[g][t] = s;
    }
    if constexpr (NIBBLES) {
#pragma GCC unroll 8
      for (int64_t k = 0; k < QUADS / 2; ++k) {
        __m512i packed[GROUPS], w[GROUPS];
#pragma GCC unroll 8
        for (int g = 0; g < GROUPS; ++g) {
          packed[g] = _mm512_load_si512(codes[g] + b * BLOCK_BYTES + k * QUAD * LANES);
          w[g] = _mm512_and_si512(packed[g], low_nibbles);
        }
        quad(isum, w, x, b, k);
#pragma GCC unroll 8
        for (int g = 0; g < GROUPS; ++g)
          w[g] = _mm512_and_si512(_mm512_srli_epi16(packed[g], 4), low_nibbles);
        quad(isum, w, x, b, k + QUADS / 2);
      }
    } else {
#pragma GCC unroll 8
      for (int64_t k = 0; k < QUADS; ++k) {
        __m512i w[GROUPS];
#pragma GCC unroll 8
        for (int g = 0; g < GROUPS; ++g)
          w[g] = _mm512_load_si512(codes[g] + b * BLOCK_BYTES + k * QUAD * LANES);
        quad(isum, w, x, b, k);
      }
    }
#pragma GCC unroll 8
    for (int g = 0; g < GROUPS; ++g) {
      __m512 mins;
      __m512 wd = block_scales<TYPE>(scales[g], b, &mins);
#pragma GCC unroll 8
      for (int t = 0; t < TOKENS; ++t) {
        __m512 d = _mm512_mul_ps(wd, _mm512_set1_ps(x[t][b].d));
        acc[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[g][t]), d, acc[g][t]);
        if constexpr (TYPE == DType::Q4_K)
          acc[g][t] = _mm512_fnmadd_ps(mins, _mm512_set1_ps(dsum[t][b]), acc[g][t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < GROUPS; ++g) {
    int64_t r0 = (g0 + g) * LANES;
    auto valid = static_cast<__mmask16>((1u << std::min<int64_t>(LANES, job.rows - r0)) - 1);
    __m512 bias =
        job.bias != nullptr ? _mm512_maskz_loadu_ps(valid, job.bias + r0) : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int t = 0; t < TOKENS; ++t) {
      _mm512_mask_storeu_ps(job.out + (t0 + t) * job.rows + r0, valid,
                            _mm512_add_ps(acc[g][t], bias));
    }
  }
}

using TileFn = void (*)(const Job&, int64_t, int64_t, bool);

// The most tokens a pass may have for tiles of `groups` row groups.
constexpr int tokens_max(int groups) {
  return groups >= 4 ? 3 : groups == 3 ? 4 : MAX_TOKENS;
}

// TILES<TYPE>[groups - 1][tokens - 1], only for the shapes tokens_max allows (nullptr
// elsewhere).
template <DType TYPE>
struct PackedTiles {
  using Fn = TileFn;
  template <int GROUPS, int TOKENS>
  static constexpr Fn at() {
    if constexpr (TOKENS <= tokens_max(GROUPS)) {
      return tile<TYPE, GROUPS, TOKENS>;
    } else {
      return nullptr;
    }
  }
};
using Tiles = TileTable<TileFn, MAX_GROUPS, MAX_TOKENS>;
template <DType TYPE>
constexpr Tiles TILES = make_tile_table<PackedTiles<TYPE>, MAX_GROUPS, MAX_TOKENS>();

// Tokens per pass for n tokens: the fewest passes of at most MAX_TOKENS, of equal size but
// the last.
int64_t tokens_per_pass(int64_t n) {
  int64_t passes = (n + MAX_TOKENS - 1) / MAX_TOKENS;
  return (n + passes - 1) / passes;
}

// Row groups per tile for passes of `tokens` tokens: the most that tokens_max allows.
int64_t groups_for(int64_t tokens) {
  int64_t groups = MAX_GROUPS;
  while (tokens_max(static_cast<int>(groups)) < tokens)
    --groups;
  return groups;
}

// Grows v to at least `size` elements.
template <typename T>
void at_least(std::vector<T>& v, int64_t size) {
  if (v.size() < static_cast<size_t>(size)) v.resize(static_cast<size_t>(size));
}

// Quantises x into this thread's Acts (valid until its next call).
const Acts& quantize(const float* x, int64_t n, int64_t cols, int32_t offset, bool dsum,
                     ThreadPool& pool) {
  thread_local Acts mine;
  Acts& a = mine;  // the pool's threads fill the caller's, not their own
  int64_t blocks = cols / Q8_ACT_BLOCK;
  at_least(a.blocks, n * blocks);
  at_least(a.start, n * blocks);
  if (dsum) at_least(a.dsum, n * blocks);
  pool.parallel_for(n, QUANTIZE_TOKENS_PER_TASK, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      BlockQ8Act* row = a.blocks.data() + t * blocks;
      quantize_activations_avx512(x + t * cols, row, cols);
      for (int64_t b = 0; b < blocks; ++b) {
        int32_t sum = int32_t{row[b].sums[0]} + int32_t{row[b].sums[1]};
        a.start[static_cast<size_t>(t * blocks + b)] = -offset * sum;
        if (dsum) a.dsum[static_cast<size_t>(t * blocks + b)] = row[b].d * static_cast<float>(sum);
      }
    }
  });
  return a;
}

}  // namespace

void matmul_packed_q8_avx512(float* out, const float* x, const WeightView& w, const float* bias,
                             int64_t n, ThreadPool& pool) {
  const Tiles* table = nullptr;
  int32_t offset = 0;
  switch (w.type) {
    case DType::Q8_0:
      table = &TILES<DType::Q8_0>;
      offset = CODE_OFFSET<DType::Q8_0>;
      break;
    case DType::Q4_0:
      table = &TILES<DType::Q4_0>;
      offset = CODE_OFFSET<DType::Q4_0>;
      break;
    default:
      SOCLE_CHECK(w.type == DType::Q4_K, "packed weights are Q8_0, Q4_0 or Q4_K");
      table = &TILES<DType::Q4_K>;
      break;
  }
  SOCLE_CHECK(w.packed != nullptr, "callers pass packed weights");
  const Acts& acts = quantize(x, n, w.cols, offset, w.type == DType::Q4_K, pool);
  Job job{out,
          bias,
          static_cast<const uint8_t*>(w.packed),
          w.rows,
          w.cols / Q8_ACT_BLOCK,
          packed_group_bytes(w.type, w.cols),
          &acts};
  int64_t groups = (w.rows + LANES - 1) / LANES;
  int64_t tile_tokens = tokens_per_pass(n);
  int64_t tile_groups = groups_for(tile_tokens);
  int64_t tiles = (groups + tile_groups - 1) / tile_groups;
  // Passes of more tokens than decode steps have are slow enough, per byte of weights, that
  // the hardware prefetcher falls behind: their first pass over a tile asks ahead.
  bool prefetch = n > PREFETCH_TOKENS_MIN;
  // Each tile of row groups meets every pass of tokens while its weights are in the core's
  // L2. The threads claim tiles in turn rather than take halves: the two cores of the
  // benchmark machine do not run equally fast (the caller's also takes the interrupts): in a
  // profile of batch-8 decode steps with halves, the caller spent 38% more time in tiles than
  // the worker, which spun for 16% of all samples (8% with claims, which even the tiles out).
  pool.parallel_for_claimed(tiles, TILES_PER_CLAIM, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      int64_t g0 = i * tile_groups;
      int64_t g = std::min(tile_groups, groups - g0);
      for (int64_t t0 = 0; t0 < n; t0 += tile_tokens) {
        int64_t t = std::min(tile_tokens, n - t0);
        (*table)[static_cast<size_t>(g - 1)][static_cast<size_t>(t - 1)](job, g0, t0,
                                                                         prefetch && t0 == 0);
      }
    }
  });
}

}  // namespace socle::engine
