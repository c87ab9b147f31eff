// The tiled AVX-512 VNNI matmul for quantised weights (Q8_0, Q4_0, Q4_K) on activations
// quantised in blocks of 32 (q8_activations.h).
//
// Both sides come as block pairs, 64 values = one 512-bit register:
// - activations, repacked once per call, per token and pair: the int8 codes plus 128 as
//   unsigned bytes, and the two blocks' scales (Q4_K also takes each block's scale times the
//   sum of its codes);
// - weights, per pair: Q8_0's signed codes with -128 times each 4-code group's sum (which
//   cancels the activations' +128), or Q4_0's and Q4_K's unsigned nibbles, which meet the
//   signed activation codes (Q4_0's -8 comes off per token); and the two blocks' scales as
//   lanes 0..7 and 8..15 (Q4_K: d * sc of each sub-block, dmin * m apart). Many tokens: a panel
//   of rows decoded once per task for every token tile; few: decoded as each tile goes.
// Then `vpdpbusd` forms, per int32 lane, the exact sum of four code products, and each
// (row, token) pair accumulates in its own 16 float lanes: acc += (x scale * w scale) * isum,
// block pair after block pair, reduced once at the end (Q4_K subtracts its mins' dot product,
// also 16 lanes, reduced once). The same for a token alone as in a tile of many.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "base/check.h"
#include "engine/kernels/matmul_tiled.h"
#include "engine/kernels/q8_activations.h"
#include "engine/kernels/quant.h"

#define SOCLE_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

namespace socle::engine {
namespace {

constexpr int64_t PAIR = 2 * Q8_ACT_BLOCK;  // values per block pair: one register of bytes
constexpr int64_t LANES = 16;               // float32 (and int32) values per 512-bit register
constexpr __mmask16 SECOND_BLOCK = 0xFF00;  // the int32 lanes of a pair's second block
constexpr uint8_t CODE_OFFSET = 0x80;       // activation codes + 128, as unsigned bytes
// 4 x 4 accumulators and each row's three vectors about fill the 32 registers.
constexpr int TILE_ROWS = 4;
constexpr int TILE_TOKENS = 4;
// Decoded weight rows one task keeps (in its core's L2) while every token tile passes.
constexpr size_t PANEL_BYTES = size_t{256} * 1024;
// Up to this many tokens the tiles decode the weights as they go, with no panel.
constexpr int64_t DIRECT_TOKENS_MAX = TILE_TOKENS;
// Row tiles per task below which splitting costs more than it saves (as matmul.cc's 16 rows).
constexpr int64_t TILES_PER_TASK_MIN = 4;

struct alignas(64) Vec64 {
  uint8_t bytes[64];
};

// One weight row's block pair, decoded.
struct WeightPair {
  Vec64 codes;   // 64 codes: signed (Q8_0) or nibbles (Q4_0, Q4_K)
  Vec64 offset;  // Q8_0: 16 int32, -128 * (sum of the 4 codes of the lane); else 0
  Vec64 scales;  // 16 float32: the first block's scale in lanes 0..7, the second's in 8..15
};

// The activations of one call, repacked per token.
struct PackedActs {
  int64_t pairs = 0;         // block pairs per token (an odd last block pairs with zeros)
  int64_t min_slots = 0;     // Q4_K: blocks per token rounded up to 16, else 0
  std::vector<Vec64> codes;  // (n, pairs) codes + 128
  std::vector<float> d;      // (n, 2 * pairs) block scales, 0 for the padding block
  std::vector<float> dsum;   // (n, min_slots) scale * (sum of the block's codes), 0 padded
};

// A panel of decoded weight rows.
struct Panel {
  std::vector<WeightPair> pairs;  // (rows, pairs)
  std::vector<float> mins;        // Q4_K: (rows, min_slots) dmin * m of each block, 0 padded
};

struct Q8Job {
  float* out;  // (n, w.rows)
  const WeightView* w;
  const float* bias;  // (w.rows) or nullptr
  const PackedActs* acts;
};

SOCLE_VNNI inline float f16(uint16_t bits) {
  return _cvtsh_ss(bits);
}

SOCLE_VNNI inline __m256i load32(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

SOCLE_VNNI inline __m512i join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

SOCLE_VNNI inline __m512 pair_scale(float a, float b) {
  return _mm512_mask_blend_ps(SECOND_BLOCK, _mm512_set1_ps(a), _mm512_set1_ps(b));
}

// One weight row's block pair, decoded into registers.
struct PairRegs {
  __m512i codes;
  __m512i offset;
  __m512 scales;
};

// Signed Q8_0 codes meet the activations' unsigned codes + 128, so they carry the offset that
// cancels the +128; Q4_0 and Q4_K codes are unsigned nibbles (0..15) that meet the signed
// activation codes as they are (Q4_0's -8 is taken off per token), and carry none.
template <DType TYPE>
SOCLE_VNNI inline PairRegs make_pair(__m512i codes, __m512 scales) {
  if constexpr (TYPE != DType::Q8_0) return {codes, _mm512_setzero_si512(), scales};
  __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(),
                                     _mm512_set1_epi8(static_cast<char>(CODE_OFFSET)), codes);
  return {codes, _mm512_sub_epi32(_mm512_setzero_si512(), sums), scales};
}

// The 32 unsigned codes (value + 8) of a Q4_0 block in value order.
SOCLE_VNNI inline __m256i q4_0_nibbles(const BlockQ4_0& b) {
  __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
  __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_and_si256(both, _mm256_set1_epi8(0xF));
}

// The 8 bytes of `bytes` (lowest first) as float32.
SOCLE_VNNI inline __m256 widen_bytes(uint64_t bytes) {
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(bytes))));
}

// d * sc and dmin * m of the 8 sub-blocks of a Q4_K super-block. The 12 scale bytes as
// three little-endian words: sc 0..3 are the low 6 bits of word 0's bytes, m 0..3 those of
// word 1's; sc 4..7 are the low nibbles of word 2's bytes under the top 2 bits of word 0's,
// m 4..7 the high nibbles under the top 2 bits of word 1's (ggml's get_scale_min_k4).
SOCLE_VNNI inline void q4_k_scales(const BlockQ4K& b, __m256* dsc, __m256* dmins) {
  constexpr uint32_t LOW6 = 0x3f3f3f3f, LOW4 = 0x0f0f0f0f, LOW2 = 0x03030303;
  uint32_t word[3];
  std::memcpy(word, b.scales, sizeof(word));
  uint64_t sc = word[0] & LOW6;
  sc |= static_cast<uint64_t>((word[2] & LOW4) | (((word[0] >> 6) & LOW2) << 4)) << 32;
  uint64_t m = word[1] & LOW6;
  m |= static_cast<uint64_t>(((word[2] >> 4) & LOW4) | (((word[1] >> 6) & LOW2) << 4)) << 32;
  *dsc = _mm256_mul_ps(_mm256_set1_ps(f16(b.d)), widen_bytes(sc));
  *dmins = _mm256_mul_ps(_mm256_set1_ps(f16(b.dmin)), widen_bytes(m));
}

// Pairs decoded together: a Q4_K super-block's 4 share its scales.
template <DType TYPE>
constexpr int64_t GROUP = TYPE == DType::Q4_K ? QK_K / PAIR : 1;

// What a group's pairs need from their row: Q4_K's d * sc per sub-block.
struct GroupScales {
  float dsc[QK_K / Q8_ACT_BLOCK];
};

// Group g's scales; Q4_K also writes its 8 sub-blocks' dmin * m at mins[8g ..].
template <DType TYPE>
SOCLE_VNNI inline void group_scales(const void* row, int64_t g, GroupScales* out, float* mins) {
  if constexpr (TYPE == DType::Q4_K) {
    __m256 dsc, dmins;
    q4_k_scales(static_cast<const BlockQ4K*>(row)[g], &dsc, &dmins);
    _mm256_storeu_ps(out->dsc, dsc);
    _mm256_storeu_ps(mins + g * (QK_K / Q8_ACT_BLOCK), dmins);
  }
}

// Pair q of group g of a weight row of `blocks` 32-value blocks. An odd last block pairs
// with zero codes and a zero scale.
template <DType TYPE>
SOCLE_VNNI inline PairRegs decode_pair(const void* row, int64_t g, int64_t q, int64_t blocks,
                                       const GroupScales& gs) {
  if constexpr (TYPE == DType::Q8_0) {
    const auto* b = static_cast<const BlockQ8_0*>(row) + 2 * g;
    if (2 * g + 1 == blocks) {
      return make_pair<TYPE>(join(load32(b[0].qs), _mm256_setzero_si256()),
                             pair_scale(f16(b[0].d), 0.0f));
    }
    return make_pair<TYPE>(join(load32(b[0].qs), load32(b[1].qs)),
                           pair_scale(f16(b[0].d), f16(b[1].d)));
  } else if constexpr (TYPE == DType::Q4_0) {
    const auto* b = static_cast<const BlockQ4_0*>(row) + 2 * g;
    if (2 * g + 1 == blocks) {
      return make_pair<TYPE>(join(q4_0_nibbles(b[0]), _mm256_setzero_si256()),
                             pair_scale(f16(b[0].d), 0.0f));
    }
    return make_pair<TYPE>(join(q4_0_nibbles(b[0]), q4_0_nibbles(b[1])),
                           pair_scale(f16(b[0].d), f16(b[1].d)));
  } else {
    // Sub-block 2q of a super-block is the low nibbles of qs[32q .. 32q + 31], sub-block
    // 2q + 1 their high nibbles.
    const BlockQ4K& b = static_cast<const BlockQ4K*>(row)[g];
    __m256i packed = load32(b.qs + 32 * q);
    const __m256i low_nibbles = _mm256_set1_epi8(0xF);
    __m256i lo = _mm256_and_si256(packed, low_nibbles);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles);
    return make_pair<TYPE>(join(lo, hi), pair_scale(gs.dsc[2 * q], gs.dsc[2 * q + 1]));
  }
}

// Decodes a weight row into a panel's pairs (and Q4_K's mins).
template <DType TYPE>
SOCLE_VNNI void decode_row(const void* row, int64_t blocks, const PackedActs& a, WeightPair* out,
                           float* mins) {
  for (int64_t g = 0; g < a.pairs / GROUP<TYPE>; ++g) {
    GroupScales gs;
    group_scales<TYPE>(row, g, &gs, mins);
    for (int64_t q = 0; q < GROUP<TYPE>; ++q) {
      PairRegs w = decode_pair<TYPE>(row, g, q, blocks, gs);
      WeightPair& dst = out[g * GROUP<TYPE> + q];
      _mm512_store_si512(dst.codes.bytes, w.codes);
      _mm512_store_si512(dst.offset.bytes, w.offset);
      _mm512_store_ps(dst.scales.bytes, w.scales);
    }
  }
}

// Output rows r0 .. r0 + ROWS - 1 for tokens t0 .. t0 + TOKENS - 1. DIRECT decodes the
// weights from the rows as it goes (few tokens), writing Q4_K's mins to `panel` rows 0 ..;
// otherwise they come decoded from `panel`, whose row pr0 is row r0. Both give the same
// registers, hence the same bits.
template <DType TYPE, bool DIRECT, int ROWS, int TOKENS>
SOCLE_VNNI void q8_tile(const Q8Job& job, Panel* panel, int64_t pr0, int64_t r0, int64_t t0) {
  const PackedActs& a = *job.acts;
  const int64_t pairs = a.pairs;
  const int64_t blocks = job.w->cols / Q8_ACT_BLOCK;
  const void* rows[ROWS];
  const WeightPair* wp[ROWS];
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    rows[r] = job.w->row(r0 + r);
    wp[r] = DIRECT ? nullptr : panel->pairs.data() + (pr0 + r) * pairs;
  }
  const Vec64* xc[TOKENS];
  const float* xd[TOKENS];
#pragma GCC unroll 8
  for (int t = 0; t < TOKENS; ++t) {
    xc[t] = a.codes.data() + (t0 + t) * pairs;
    xd[t] = a.d.data() + (t0 + t) * 2 * pairs;
  }
  __m512 acc[ROWS][TOKENS];
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
#pragma GCC unroll 8
    for (int t = 0; t < TOKENS; ++t)
      acc[r][t] = _mm512_setzero_ps();
  }
  for (int64_t g = 0; g < pairs / GROUP<TYPE>; ++g) {
    GroupScales gs[ROWS];
    if constexpr (DIRECT) {
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; ++r)
        group_scales<TYPE>(rows[r], g, &gs[r], panel->mins.data() + (pr0 + r) * a.min_slots);
    }
    for (int64_t q = 0; q < GROUP<TYPE>; ++q) {
      const int64_t p = g * GROUP<TYPE> + q;
      PairRegs w[ROWS];
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; ++r) {
        if constexpr (DIRECT) {
          w[r] = decode_pair<TYPE>(rows[r], g, q, blocks, gs[r]);
        } else {
          w[r] = {_mm512_load_si512(wp[r][p].codes.bytes), _mm512_load_si512(wp[r][p].offset.bytes),
                  _mm512_load_ps(wp[r][p].scales.bytes)};
        }
      }
#pragma GCC unroll 8
      for (int t = 0; t < TOKENS; ++t) {
        __m512i xv = _mm512_load_si512(xc[t][p].bytes);  // codes + 128
        __m512 xs = pair_scale(xd[t][2 * p], xd[t][2 * p + 1]);
        // The nibble types: signed codes, and Q4_0's -8 x (sum of each lane's 4 codes).
        __m512i xq = _mm512_xor_si512(xv, _mm512_set1_epi8(static_cast<char>(CODE_OFFSET)));
        __m512i x_offset = _mm512_setzero_si512();
        if constexpr (TYPE == DType::Q4_0) {
          constexpr char Q4_0_OFFSET = 8;
          __m512i sums =
              _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(Q4_0_OFFSET), xq);
          x_offset = _mm512_sub_epi32(_mm512_setzero_si512(), sums);
        }
#pragma GCC unroll 8
        for (int r = 0; r < ROWS; ++r) {
          __m512i isum = TYPE == DType::Q8_0 ? _mm512_dpbusd_epi32(w[r].offset, xv, w[r].codes)
                                             : _mm512_dpbusd_epi32(x_offset, w[r].codes, xq);
          acc[r][t] =
              _mm512_fmadd_ps(_mm512_mul_ps(xs, w[r].scales), _mm512_cvtepi32_ps(isum), acc[r][t]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    float result[TOKENS];
#pragma GCC unroll 8
    for (int t = 0; t < TOKENS; ++t)
      result[t] = _mm512_reduce_add_ps(acc[r][t]);
    if constexpr (TYPE == DType::Q4_K) {
      // value = d sc q - dmin m: the mins meet each block's scaled code sum.
      __m512 mins[TOKENS];
#pragma GCC unroll 8
      for (int t = 0; t < TOKENS; ++t)
        mins[t] = _mm512_setzero_ps();
      for (int64_t k = 0; k < a.min_slots; k += LANES) {
        __m512 wm = _mm512_loadu_ps(panel->mins.data() + (pr0 + r) * a.min_slots + k);
#pragma GCC unroll 8
        for (int t = 0; t < TOKENS; ++t) {
          const float* xm = a.dsum.data() + (t0 + t) * a.min_slots + k;
          mins[t] = _mm512_fmadd_ps(_mm512_loadu_ps(xm), wm, mins[t]);
        }
      }
#pragma GCC unroll 8
      for (int t = 0; t < TOKENS; ++t)
        result[t] -= _mm512_reduce_add_ps(mins[t]);
    }
    float b = job.bias != nullptr ? job.bias[r0 + r] : 0.0f;
#pragma GCC unroll 8
    for (int t = 0; t < TOKENS; ++t)
      job.out[(t0 + t) * job.w->rows + r0 + r] = result[t] + b;
  }
}

using Q8TileFn = void (*)(const Q8Job&, Panel*, int64_t, int64_t, int64_t);
using Q8TileTable = std::array<std::array<Q8TileFn, TILE_TOKENS>, TILE_ROWS>;

// table[rows - 1][tokens - 1]: the tile of that size, for the last rows and tokens.
template <DType TYPE, bool DIRECT, int ROWS, int... T>
constexpr std::array<Q8TileFn, TILE_TOKENS> tokens_row(std::integer_sequence<int, T...>) {
  return {q8_tile<TYPE, DIRECT, ROWS, T + 1>...};
}
template <DType TYPE, bool DIRECT, int... R>
constexpr Q8TileTable tile_table(std::integer_sequence<int, R...>) {
  return {tokens_row<TYPE, DIRECT, R + 1>(std::make_integer_sequence<int, TILE_TOKENS>())...};
}
template <DType TYPE, bool DIRECT>
constexpr Q8TileTable TILES =
    tile_table<TYPE, DIRECT>(std::make_integer_sequence<int, TILE_ROWS>());

using DecodeRowFn = void (*)(const void* row, int64_t blocks, const PackedActs& a, WeightPair* out,
                             float* mins);

// One type's kernels.
struct Q8Kernels {
  const Q8TileTable* direct;
  const Q8TileTable* panel;
  DecodeRowFn decode_row;
};

template <DType TYPE>
constexpr Q8Kernels KERNELS = {&TILES<TYPE, true>, &TILES<TYPE, false>, decode_row<TYPE>};

// Quantises token t's row (quantize_activations_avx512, the scalar quantiser's bits) and
// repacks it.
void pack_token(const float* x, int64_t cols, int64_t t, std::vector<BlockQ8Act>& blocks,
                PackedActs& a) {
  int64_t n_blocks = cols / Q8_ACT_BLOCK;
  quantize_activations_avx512(x + t * cols, blocks.data(), cols);
  uint8_t* codes = a.codes[static_cast<size_t>(t * a.pairs)].bytes;
  float* d = a.d.data() + t * 2 * a.pairs;
  for (int64_t i = 0; i < 2 * a.pairs; ++i) {
    uint8_t* dst = codes + i * Q8_ACT_BLOCK;
    if (i == n_blocks) {  // the odd last block's partner: x = 0
      std::fill(dst, dst + Q8_ACT_BLOCK, CODE_OFFSET);
      d[i] = 0.0f;
      continue;
    }
    const BlockQ8Act& b = blocks[static_cast<size_t>(i)];
    for (int64_t l = 0; l < Q8_ACT_BLOCK; ++l)
      dst[l] = static_cast<uint8_t>(static_cast<uint8_t>(b.qs[l]) ^ CODE_OFFSET);
    d[i] = b.d;
  }
  if (a.min_slots == 0) return;
  float* dsum = a.dsum.data() + t * a.min_slots;
  for (int64_t i = 0; i < n_blocks; ++i) {
    const BlockQ8Act& b = blocks[static_cast<size_t>(i)];
    dsum[i] = b.d * static_cast<float>(b.sums[0] + b.sums[1]);
  }
}

PackedActs pack_activations(const float* x, int64_t n, int64_t cols, bool mins, ThreadPool& pool) {
  PackedActs a;
  int64_t n_blocks = cols / Q8_ACT_BLOCK;
  a.pairs = (n_blocks + 1) / 2;
  a.min_slots = mins ? (n_blocks + LANES - 1) / LANES * LANES : 0;
  a.codes.resize(static_cast<size_t>(n * a.pairs));
  a.d.resize(static_cast<size_t>(n * 2 * a.pairs));
  a.dsum.assign(static_cast<size_t>(n * a.min_slots), 0.0f);
  pool.parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    std::vector<BlockQ8Act> blocks(static_cast<size_t>(n_blocks));
    for (int64_t t = begin; t < end; ++t)
      pack_token(x, cols, t, blocks, a);
  });
  return a;
}

}  // namespace

void matmul_tiled_q8_avx512(float* out, const float* x, const WeightView& w, const float* bias,
                            int64_t n, ThreadPool& pool) {
  const Q8Kernels* k = nullptr;
  switch (w.type) {
    case DType::Q8_0:
      k = &KERNELS<DType::Q8_0>;
      break;
    case DType::Q4_0:
      k = &KERNELS<DType::Q4_0>;
      break;
    default:
      SOCLE_CHECK(w.type == DType::Q4_K, "matmul_tiled_avx512_covers admits these types only");
      k = &KERNELS<DType::Q4_K>;
      break;
  }
  PackedActs acts = pack_activations(x, n, w.cols, w.type == DType::Q4_K, pool);
  Q8Job job{out, &w, bias, &acts};
  int64_t row_tiles = (w.rows + TILE_ROWS - 1) / TILE_ROWS;
  auto run_tiles = [&](const Q8TileTable& tiles, Panel* panel, int64_t first_row,
                       int64_t last_row) {
    for (int64_t t0 = 0; t0 < n; t0 += TILE_TOKENS) {
      int64_t tokens = std::min<int64_t>(TILE_TOKENS, n - t0);
      for (int64_t r0 = first_row; r0 < last_row; r0 += TILE_ROWS) {
        int64_t rows = std::min<int64_t>(TILE_ROWS, last_row - r0);
        tiles[static_cast<size_t>(rows - 1)][static_cast<size_t>(tokens - 1)](
            job, panel, r0 - first_row, r0, t0);
      }
    }
  };
  // Few tokens: decoding each row tile as it is used costs less than storing it.
  if (n <= DIRECT_TOKENS_MAX) {
    pool.parallel_for(row_tiles, TILES_PER_TASK_MIN, [&](int64_t begin, int64_t end) {
      Panel scratch;  // Q4_K's mins of the row tile at hand, zero past the row's blocks
      scratch.mins.assign(static_cast<size_t>(TILE_ROWS * acts.min_slots), 0.0f);
      for (int64_t tile = begin; tile < end; ++tile) {
        int64_t r0 = tile * TILE_ROWS;
        run_tiles(*k->direct, &scratch, r0, std::min(w.rows, r0 + TILE_ROWS));
      }
    });
    return;
  }
  size_t row_bytes = static_cast<size_t>(acts.pairs) * sizeof(WeightPair) +
                     static_cast<size_t>(acts.min_slots) * sizeof(float);
  int64_t panel_tiles =
      std::max<int64_t>(1, static_cast<int64_t>(PANEL_BYTES / row_bytes) / TILE_ROWS);
  // Within a task: decode a panel of rows once, then pass every token tile over it, rows
  // inside, so that a token tile stays in L1 while the panel's rows pass.
  pool.parallel_for(row_tiles, TILES_PER_TASK_MIN, [&](int64_t begin, int64_t end) {
    Panel panel;
    int64_t panel_rows = std::min(end - begin, panel_tiles) * TILE_ROWS;
    panel.pairs.resize(static_cast<size_t>(panel_rows * acts.pairs));
    panel.mins.resize(static_cast<size_t>(panel_rows * acts.min_slots));
    for (int64_t p = begin; p < end; p += panel_tiles) {
      int64_t first_row = p * TILE_ROWS;
      int64_t last_row = std::min(w.rows, std::min(end, p + panel_tiles) * TILE_ROWS);
      for (int64_t r = first_row; r < last_row; ++r) {
        int64_t pr = r - first_row;
        k->decode_row(w.row(r), w.cols / Q8_ACT_BLOCK, acts, panel.pairs.data() + pr * acts.pairs,
                      panel.mins.data() + pr * acts.min_slots);
      }
      run_tiles(*k->panel, &panel, first_row, last_row);
    }
  });
}

}  // namespace socle::engine
