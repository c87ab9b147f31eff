// A read-only view of a weight matrix in its stored type, as the kernels take it.
#pragma once

#include <cstdint>

#include "engine/format/dtype.h"

namespace socle::engine {

// A row-major matrix (rows, cols) laid out as PyTorch's nn.Linear stores its weight: row r
// holds the weights of output r. F32, F16 and BF16 rows are cols values; quantised rows are
// cols / block_values blocks (engine/kernels/quant.h), so cols is a multiple of the block.
// `data` is aligned to the element size (2 bytes for the quantised types) and outlives the
// view.
struct WeightView {
  DType type = DType::F32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  // The same matrix repacked for the AVX-512 path (packed_weights.h), or nullptr. Only that
  // path's matmul reads it; everything else reads `data`.
  const void* packed = nullptr;

  // The bytes of row r.
  const void* row(int64_t r) const {
    return static_cast<const char*>(data) + static_cast<size_t>(r) * dtype_row_bytes(type, cols);
  }
};

// Widens (or dequantises) row `row` of `w` to float32.
// out: (w.cols)
void weight_row_to_f32(const WeightView& w, int64_t row, float* out);

}  // namespace socle::engine
