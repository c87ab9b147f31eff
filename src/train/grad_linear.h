// A linear layer with a LoRA adapter, for training: y = x W^T + scaling * (x A^T) B^T with W
// frozen (out, in), A (rank, in), B (out, rank). The reference forward and the backward of
// the LoRA part are templated on the scalar type (the finite-difference tests run them in
// double); the frozen part's input gradient on a stored weight of any type is float32 only.
#pragma once

#include <cstdint>

#include "engine/kernels/thread_pool.h"
#include "engine/kernels/weight.h"

namespace socle::train {

struct LinearShape {
  int64_t n = 0;  // tokens
  int64_t in = 0;
  int64_t out = 0;
  int64_t rank = 0;  // 0: no adapter
  double scaling = 1.0;
};

// y = x W^T + scaling * u B^T with u = x A^T (also written to `u` when not null).
// y: (n, out); x: (n, in); w: (out, in); a: (rank, in); b: (out, rank); u: (n, rank)
template <typename Scalar>
void lora_linear_forward(Scalar* y, Scalar* u, const Scalar* x, const float* w, const Scalar* a,
                         const Scalar* b, const LinearShape& s);

// The adapter's part of the backward, given dy and the forward's x and u = x A^T:
// db += scaling * dy^T u; du = scaling * dy B; da += du^T x; dx += du A.
// `w`, when not null, adds the frozen part dx += dy W (the reference for
// frozen_linear_input_grad below).
// dx, x: (n, in); dy: (n, out); da, a: (rank, in); db, b: (out, rank); u: (n, rank)
template <typename Scalar>
void lora_linear_backward(Scalar* dx, Scalar* da, Scalar* db, const Scalar* dy, const Scalar* x,
                          const Scalar* u, const float* w, const Scalar* a, const Scalar* b,
                          const LinearShape& s);

// The same as lora_linear_backward<float> without the frozen part, on the engine's kernels
// (split over its thread pool by output rows or columns): on the AVX-512 path each product is
// one engine::matmul_transposed on the operands as they lie (dA and dx accumulated in place);
// elsewhere each is laid out for engine::matmul so that the long dimension (tokens, in or
// out) is its output rows, the rank its columns. The result is the reference's up to float32
// rounding (tested), and does not depend on the thread count.
// dx, x: (n, in); dy: (n, out); da, a: (rank, in); db, b: (out, rank); u: (n, rank)
void lora_adapter_backward(float* dx, float* da, float* db, const float* dy, const float* x,
                           const float* u, const float* a, const float* b, const LinearShape& s);
// The same on `pool`.
void lora_adapter_backward(float* dx, float* da, float* db, const float* dy, const float* x,
                           const float* u, const float* a, const float* b, const LinearShape& s,
                           engine::ThreadPool& pool);

// dx += dy W for a frozen weight stored in any type. On the AVX-512 path, float weights (F32,
// F16, BF16) go through engine::matmul_transposed (one fused multiply-add chain per value of
// dx, in place, column panels over the pool). Otherwise blocks of W's rows are widened (or
// dequantised) to float32 and transposed, and each block's share is one engine matmul
// (engine/kernels/matmul.h), rows split over its thread pool. Either way the work is fixed
// by the shapes alone, so the result does not depend on the thread count.
// dx: (n, w.cols); dy: (n, w.rows)
void frozen_linear_input_grad(float* dx, const float* dy, const engine::WeightView& w, int64_t n);
// The same on `pool`.
void frozen_linear_input_grad(float* dx, const float* dy, const engine::WeightView& w, int64_t n,
                              engine::ThreadPool& pool);

}  // namespace socle::train
