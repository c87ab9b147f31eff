// Activations quantised for the integer dot products of the quantised matmuls: blocks of 32
// values with their own float32 scale (as GGUF's Q8_0, never one scale per row, which one
// outlier channel would coarsen for the whole row), plus the sums of their codes that the
// K-quants' mins and Q6_K's offset need.
#pragma once

#include <cstdint>

namespace socle::engine {

inline constexpr int64_t Q8_ACT_BLOCK = 32;  // values per activation block

// x[i] ~ d * qs[i]; sums[h] = qs[16h] + ... + qs[16h + 15].
struct BlockQ8Act {
  float d;
  int16_t sums[2];
  int8_t qs[Q8_ACT_BLOCK];
};
static_assert(sizeof(BlockQ8Act) == 40);

// Quantises one row of n values (a multiple of 32): d = max|x| / 127, qs = round(x / d),
// ties away from zero. Every matmul path uses this one quantiser, so paths differ only in
// how they add up exact integer block sums.
// x: (n); y: (n / 32)
void quantize_activations_ref(const float* x, BlockQ8Act* y, int64_t n);

// The same, bit for bit (for finite x), in AVX-512 (F, BW): the AVX512 path's matmuls use it.
// Call it only where the CPU has those features.
void quantize_activations_avx512(const float* x, BlockQ8Act* y, int64_t n);

}  // namespace socle::engine
