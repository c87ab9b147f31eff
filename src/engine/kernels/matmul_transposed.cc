#include "engine/kernels/matmul_transposed.h"

#include <cmath>
#include <vector>

#include "base/check.h"

namespace socle::engine {

void matmul_transposed_ref(float* out, const float* x, const WeightView& w, int64_t n) {
  SOCLE_CHECK(matmul_transposed_covers(w.type), "matmul_transposed takes float weights only");
  std::vector<float> row(static_cast<size_t>(w.cols));
  // Row by row of w, each row once for every token: the order of each output's chain is
  // still o = 0, 1, ..., as the contract says.
  for (int64_t o = 0; o < w.rows; ++o) {
    weight_row_to_f32(w, o, row.data());
    for (int64_t t = 0; t < n; ++t) {
      const float xo = x[t * w.rows + o];
      float* out_t = out + t * w.cols;
      for (int64_t c = 0; c < w.cols; ++c)
        out_t[c] = std::fma(xo, row[static_cast<size_t>(c)], out_t[c]);
    }
  }
}

void matmul_transposed(float* out, const float* x, const WeightView& w, int64_t n, KernelPath path,
                       ThreadPool& pool) {
  SOCLE_CHECK(matmul_transposed_covers(w.type), "matmul_transposed takes float weights only");
  if (path == KernelPath::AVX512) {
    matmul_transposed_avx512(out, x, w, n, pool);
    return;
  }
  matmul_transposed_ref(out, x, w, n);
}

}  // namespace socle::engine
