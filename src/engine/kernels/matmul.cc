#include "engine/kernels/matmul.h"

#include <vector>

#include "base/check.h"
#include "engine/kernels/dot.h"
#include "engine/kernels/matmul_tiled.h"
#include "engine/kernels/q8_activations.h"

namespace socle::engine {
namespace {

// Rows per thread below which splitting costs more than it saves (a wake-up is a few us).
constexpr int64_t ROWS_PER_TASK_MIN = 16;

// One kernel per path: scalar, AVX2, AVX-512.
template <typename Fn>
Fn pick(KernelPath path, Fn scalar, Fn avx2, Fn avx512) {
  switch (path) {
    case KernelPath::SCALAR:
      return scalar;
    case KernelPath::AVX2:
      return avx2;
    case KernelPath::AVX512:
      return avx512;
  }
  return scalar;
}

DotFloatFn dot_float_for(DType type, KernelPath path) {
  switch (type) {
    case DType::F32:
      return pick<DotFloatFn>(path, dot_f32_ref, dot_f32_avx2, dot_f32_avx512);
    case DType::F16:
      return pick<DotFloatFn>(path, dot_f16_ref, dot_f16_avx2, dot_f16_avx512);
    case DType::BF16:
      return pick<DotFloatFn>(path, dot_bf16_ref, dot_bf16_avx2, dot_bf16_avx512);
    default:
      return nullptr;
  }
}

DotQuantFn dot_quant_for(DType type, KernelPath path) {
  switch (type) {
    case DType::Q8_0:
      return pick<DotQuantFn>(path, dot_q8_0_ref, dot_q8_0_avx2, dot_q8_0_avx512);
    case DType::Q4_0:
      return pick<DotQuantFn>(path, dot_q4_0_ref, dot_q4_0_avx2, dot_q4_0_avx512);
    case DType::Q4_K:
      return pick<DotQuantFn>(path, dot_q4_k_ref, dot_q4_k_avx2, dot_q4_k_avx512);
    case DType::Q6_K:
      return pick<DotQuantFn>(path, dot_q6_k_ref, dot_q6_k_avx2, dot_q6_k_avx512);
    default:
      return nullptr;
  }
}

}  // namespace

void matmul_ref(float* out, const float* x, const WeightView& w, const float* bias, int64_t n) {
  // Widening one weight row at a time and reusing it for every token reads the weights once
  // whatever n is, without changing any row's order of summation.
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    weight_row_to_f32(w, r, row.data());
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * w.cols;
      float sum = 0.0f;
      for (int64_t c = 0; c < w.cols; ++c)
        sum += xt[c] * row[static_cast<size_t>(c)];
      if (bias != nullptr) sum += bias[r];
      out[t * w.rows + r] = sum;
    }
  }
}

void matmul(float* out, const float* x, const WeightView& w, const float* bias, int64_t n,
            KernelPath path, ThreadPool& pool) {
  // The AVX-512 path tiles rows by tokens (matmul_tiled.h) for every n, a token alone
  // included, so that its results do not depend on n: float weights as stored, quantised
  // ones in their packed layout (which models load them in on this path).
  if (path == KernelPath::AVX512 && w.packed != nullptr) {
    matmul_packed_q8_avx512(out, x, w, bias, n, pool);
    return;
  }
  if (path == KernelPath::AVX512 && matmul_tiled_avx512_covers(w.type)) {
    matmul_tiled_float_avx512(out, x, w, bias, n, pool);
    return;
  }
  // Rows outside, tokens inside: a weight row stays in L1 while every token uses it, and
  // each (token, row) pair is one call of the same dot function, whatever n or the split.
  if (DotFloatFn dot = dot_float_for(w.type, path); dot != nullptr) {
    pool.parallel_for(w.rows, ROWS_PER_TASK_MIN, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const void* wr = w.row(r);
        float b = bias != nullptr ? bias[r] : 0.0f;
        for (int64_t t = 0; t < n; ++t)
          out[t * w.rows + r] = dot(wr, x + t * w.cols, w.cols) + b;
      }
    });
    return;
  }
  DotQuantFn dot = dot_quant_for(w.type, path);
  SOCLE_CHECK(dot != nullptr, "weights are float or quantised; loaders reject other types");
  int64_t blocks = w.cols / Q8_ACT_BLOCK;
  std::vector<BlockQ8Act> xq(static_cast<size_t>(n * blocks));
  for (int64_t t = 0; t < n; ++t)
    quantize_activations_ref(x + t * w.cols, xq.data() + t * blocks, w.cols);
  pool.parallel_for(w.rows, ROWS_PER_TASK_MIN, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const void* wr = w.row(r);
      float b = bias != nullptr ? bias[r] : 0.0f;
      for (int64_t t = 0; t < n; ++t)
        out[t * w.rows + r] = dot(wr, xq.data() + t * blocks, w.cols) + b;
    }
  });
}

void matmul(float* out, const float* x, const WeightView& w, const float* bias, int64_t n) {
  matmul(out, x, w, bias, n, kernel_path_active(), default_thread_pool());
}

}  // namespace socle::engine
