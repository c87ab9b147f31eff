#include "engine/kernels/weight.h"

#include "base/check.h"
#include "engine/kernels/quant.h"

namespace socle::engine {

void weight_row_to_f32(const WeightView& w, int64_t row, float* out) {
  SOCLE_CHECK(row >= 0 && row < w.rows, "callers index rows inside the matrix");
  SOCLE_CHECK(w.type != DType::I32 && w.type != DType::I64,
              "weights are float or quantised; loaders reject other types");
  dequantize_row(w.type, w.row(row), out, w.cols);
}

}  // namespace socle::engine
