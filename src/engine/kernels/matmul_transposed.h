// The product of activations by a weight matrix as stored, not transposed: out += x @ w, the
// input gradient of a linear layer (d x = d y W for y = x W^T), which the trainer's backward
// pass takes through every frozen projection and the output head. matmul.h computes x @ w^T;
// this one reads W's rows (the layer's outputs) as the reduction, so no transposed copy of
// the weights is ever made.
//
// Every out[t, c] is one chain of fused multiply-adds over o = 0 .. w.rows - 1 in order,
// starting from out[t, c]'s value: out[t, c] = fma(x[t, o], w[o, c], out[t, c]). The AVX-512
// kernel performs exactly that chain (one lane per output value, never a horizontal sum), so
// it is bitwise equal to the reference, whatever n, the tiles or the thread count.
#pragma once

#include <cstdint>

#include "engine/kernels/kernel_path.h"
#include "engine/kernels/thread_pool.h"
#include "engine/kernels/weight.h"

namespace socle::engine {

// Whether matmul_transposed takes weights of `type`: the float types (F32, F16, BF16).
inline bool matmul_transposed_covers(DType type) {
  return type == DType::F32 || type == DType::F16 || type == DType::BF16;
}

// out += x @ w, the reference: for each output value, std::fma over w's rows in order.
// out: (n, w.cols)
// x:   (n, w.rows)
void matmul_transposed_ref(float* out, const float* x, const WeightView& w, int64_t n);

// The same with AVX-512 register tiles (tokens by 16-column vectors), column panels split over
// `pool`. Only where the CPU has the AVX512 path (kernel_path.h).
void matmul_transposed_avx512(float* out, const float* x, const WeightView& w, int64_t n,
                              ThreadPool& pool);

// The same on `path`: the AVX-512 kernel there, the reference elsewhere (whose result is the
// same bits). `w.type` must be covered (checked).
void matmul_transposed(float* out, const float* x, const WeightView& w, int64_t n, KernelPath path,
                       ThreadPool& pool);

}  // namespace socle::engine
