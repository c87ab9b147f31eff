// Causal scaled dot-product attention with grouped-query heads, for training: a reference
// forward and the backward. Query head h reads key/value head h / (n_heads / n_kv_heads);
// token i sees keys 0 .. i (and none at or before i - window when window > 0), as
// engine/kernels/attention.h with q_pos0 = 0.
#pragma once

#include <cstdint>

#include "engine/kernels/kernel_path.h"
#include "engine/kernels/thread_pool.h"

namespace socle::train {

struct AttentionShape {
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // divides n_heads
  int64_t head_dim = 0;
  double scale = 1.0;  // usually 1 / sqrt(head_dim)
  int64_t window = 0;  // 0: none
};

// out = softmax(q k^T * scale + causal mask) v, per head.
// out, q: (n, n_heads * head_dim); k, v: (n, n_kv_heads * head_dim)
template <typename Scalar>
void attention_forward(Scalar* out, const Scalar* q, const Scalar* k, const Scalar* v, int64_t n,
                       const AttentionShape& shape);

// dq, dk, dv += the gradients of the forward above given d out. The probabilities are
// recomputed from q and k (nothing but the inputs is kept from the forward), one query row at
// a time: P = softmax(S), dP_j = dout . v_j, dS_j = P_j (dP_j - sum_k P_k dP_k),
// dq = scale * sum_j dS_j k_j, dk_j += scale * dS_j q, dv_j += P_j dout.
// Key/value heads are split over the engine's default thread pool; the result does not depend
// on the thread count.
// dq, dout: (n, n_heads * head_dim); dk, dv: (n, n_kv_heads * head_dim)
template <typename Scalar>
void attention_backward(Scalar* dq, Scalar* dk, Scalar* dv, const Scalar* dout, const Scalar* q,
                        const Scalar* k, const Scalar* v, int64_t n, const AttentionShape& shape);
// The same on `pool`. In float32 on the AVX-512 path it runs attention_backward_blocked.
template <typename Scalar>
void attention_backward(Scalar* dq, Scalar* dk, Scalar* dv, const Scalar* dout, const Scalar* q,
                        const Scalar* k, const Scalar* v, int64_t n, const AttentionShape& shape,
                        engine::ThreadPool& pool);

// The same gradients in float32 on the engine's matmul kernels (`path`): per query head,
// blocks of query rows against the keys they can see, S = Q K^T and dP = dO V^T as
// engine::matmul, then dQ += dS K, dK += dS^T Q and dV += P^T dO as
// engine::matmul_transposed. Key/value heads are split over `pool` and each head's work runs
// on its thread alone, so the result does not depend on the thread count. Equal to the
// reference above up to float32 rounding (tested).
void attention_backward_blocked(float* dq, float* dk, float* dv, const float* dout, const float* q,
                                const float* k, const float* v, int64_t n,
                                const AttentionShape& shape, engine::KernelPath path,
                                engine::ThreadPool& pool);

}  // namespace socle::train
