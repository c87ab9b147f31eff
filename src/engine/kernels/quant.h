// GGUF's quantised weight types, with ggml's exact block layouts, so that a row quantised here
// is byte for byte what a GGUF file holds: reference quantisers (the same search ggml's
// `quantize_row_*_ref` runs) and dequantisers. A row of n values is n / block_values blocks
// laid end to end; every scale is an IEEE half (f16) except Q6_K's int8 sub-block scales.
#pragma once

#include <cstdint>

#include "engine/format/dtype.h"

namespace socle::engine {

inline constexpr int64_t QK8_0 = 32;          // values per Q8_0 block
inline constexpr int64_t QK4_0 = 32;          // values per Q4_0 block
inline constexpr int64_t QK_K = 256;          // values per K-quant super-block
inline constexpr int64_t K_SCALE_BYTES = 12;  // Q4_K's 8 packed 6-bit scales and 8 mins

// x[i] = d * qs[i]
// The names keep GGUF's type names (Q8_0, Q4_0), underscore included.
struct BlockQ8_0 {  // NOLINT(readability-identifier-naming)
  uint16_t d;       // f16
  int8_t qs[QK8_0];
};

// x[i] = d * ((qs[i] & 15) - 8), x[i + 16] = d * ((qs[i] >> 4) - 8), i < 16
struct BlockQ4_0 {  // NOLINT(readability-identifier-naming)
  uint16_t d;       // f16
  uint8_t qs[QK4_0 / 2];
};

// Eight sub-blocks of 32: x = d * sc[j] * q - dmin * m[j], q in [0, 15], sc and m 6-bit,
// packed in `scales` as ggml's get_scale_min_k4 reads them. Values 64k..64k+31 are the low
// nibbles of qs[32k..32k+31], values 64k+32..64k+63 their high nibbles.
struct BlockQ4K {
  uint16_t d;     // f16, scale of the sub-block scales
  uint16_t dmin;  // f16, scale of the sub-block mins
  uint8_t scales[K_SCALE_BYTES];
  uint8_t qs[QK_K / 2];
};

// Sixteen sub-blocks of 16: x = d * scales[j] * (q - 32), q in [0, 63], its low 4 bits in
// ql and its high 2 bits in qh (ggml's interleaving, see dequantize_row_q6_k_ref).
struct BlockQ6K {
  uint8_t ql[QK_K / 2];
  uint8_t qh[QK_K / 4];
  int8_t scales[QK_K / 16];
  uint16_t d;  // f16
};

static_assert(sizeof(BlockQ8_0) == 34 && alignof(BlockQ8_0) == 2);
static_assert(sizeof(BlockQ4_0) == 18 && alignof(BlockQ4_0) == 2);
static_assert(sizeof(BlockQ4K) == 144 && alignof(BlockQ4K) == 2);
static_assert(sizeof(BlockQ6K) == 210 && alignof(BlockQ6K) == 2);

// Reference quantisers, one row of n values (n a multiple of the block) into n / block
// blocks; ggml's algorithms (round to nearest, ties away from zero for Q8_0 and Q4_0; the
// weighted scale/min search for the K-quants), with no importance matrix.
// x: (n); y: (n / block)
void quantize_row_q8_0_ref(const float* x, BlockQ8_0* y, int64_t n);
void quantize_row_q4_0_ref(const float* x, BlockQ4_0* y, int64_t n);
void quantize_row_q4_k_ref(const float* x, BlockQ4K* y, int64_t n);
void quantize_row_q6_k_ref(const float* x, BlockQ6K* y, int64_t n);

// Exact dequantisers: each value is the block's formula evaluated in float32.
// x: (n / block); y: (n)
void dequantize_row_q8_0_ref(const BlockQ8_0* x, float* y, int64_t n);
void dequantize_row_q4_0_ref(const BlockQ4_0* x, float* y, int64_t n);
void dequantize_row_q4_k_ref(const BlockQ4K* x, float* y, int64_t n);
void dequantize_row_q6_k_ref(const BlockQ6K* x, float* y, int64_t n);

// The 6-bit scale and min of sub-block j (0..7) from a Q4_K block's packed `scales` (ggml's
// get_scale_min_k4): sub-blocks 0..3 keep theirs in the low 6 bits of bytes j and j + 4;
// sub-blocks 4..7 split theirs over the low/high nibbles of byte j + 4 and the top two bits
// of bytes j - 4 and j.
void q4_k_scale_min(int j, const uint8_t* scales, uint8_t* sc, uint8_t* m);

// Any weight type: F32, F16, BF16 (rounded to nearest even) or a quantised type, row of n
// values into dtype_row_bytes(type, n) bytes at `out`, and back to float32.
// x: (n); out: dtype_row_bytes(type, n) bytes
void quantize_row(DType type, const float* x, void* out, int64_t n);
void dequantize_row(DType type, const void* in, float* y, int64_t n);

// The type a matrix with rows of `cols` values is stored in when `wanted` is asked for, as
// llama.cpp decides: a K-quant needs rows that are a multiple of 256 and falls back to Q8_0;
// Q8_0 and Q4_0 need a multiple of 32 and fall back to F16. Float types are kept.
DType quant_type_for_row(DType wanted, int64_t cols);

}  // namespace socle::engine
