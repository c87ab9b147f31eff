// Tiled matmuls of the AVX-512 path: a register tile of several weight rows by several tokens
// per inner loop, so that each weight load serves many tokens and each activation load many
// rows. matmul() (matmul.h) sends every call of that path here, whatever n, for float weights
// and for quantised ones in their packed layout (packed_weights.h); quantised views without it
// (and Q6_K) keep one dot product per (row, token) pair.
//
// Batch invariance: every (row, token) pair has its own float32 accumulators, and the tile
// kernel performs on them the same operations in the same order whatever the tile's size, the
// number of tokens or the split over threads: a token alone (n = 1) runs the 1-token case of
// the same code. Integer block sums are exact, so the order in which they are formed does not
// matter.
#pragma once

#include <cstdint>

#include "engine/kernels/thread_pool.h"
#include "engine/kernels/weight.h"

namespace socle::engine {

// Whether the float tiles take weights of `type` as stored: F32, F16, BF16.
inline bool matmul_tiled_avx512_covers(DType type) {
  return type == DType::F32 || type == DType::F16 || type == DType::BF16;
}

// out = x @ w^T + bias on the AVX-512 path (with VNNI), one file each: float weights (F32,
// F16, BF16: FMA tiles), and quantised ones (Q8_0, Q4_0, Q4_K) whose view carries the packed
// layout (`vpdpbusd` tiles on activations quantised in blocks of 32; the AVX512 path takes it
// whenever `w.packed` is set). Call them only where the CPU has the AVX512 path's features
// (kernel_path.h). Output rows are split over `pool` in whole tiles.
// out:  (n, w.rows)
// x:    (n, w.cols)
// bias: (w.rows) or nullptr
void matmul_tiled_float_avx512(float* out, const float* x, const WeightView& w, const float* bias,
                               int64_t n, ThreadPool& pool);
void matmul_packed_q8_avx512(float* out, const float* x, const WeightView& w, const float* bias,
                             int64_t n, ThreadPool& pool);

}  // namespace socle::engine
