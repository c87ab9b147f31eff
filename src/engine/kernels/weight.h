// A read-only view of a weight matrix in its stored type, as the kernels take it.
#pragma once

#include <cstdint>

#include "engine/format/dtype.h"

namespace socle::engine {

// A row-major matrix (rows, cols) of F32, F16 or BF16 values, laid out as PyTorch's
// nn.Linear stores its weight: row r holds the weights of output r. `data` is aligned to the
// element size and outlives the view.
struct WeightView {
  DType type = DType::F32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
};

// Widens row `row` of `w` to float32.
// out: (w.cols)
void weight_row_to_f32(const WeightView& w, int64_t row, float* out);

}  // namespace socle::engine
