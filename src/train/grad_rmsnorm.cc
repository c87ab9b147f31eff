#include "train/grad_rmsnorm.h"

#include <cmath>

namespace socle::train {

template <typename Scalar>
void rmsnorm_forward(Scalar* out, const Scalar* x, const float* weight, int64_t rows, int64_t dim,
                     double eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const Scalar* xr = x + r * dim;
    Scalar* o = out + r * dim;
    Scalar ss = 0;
    for (int64_t i = 0; i < dim; ++i)
      ss += xr[i] * xr[i];
    Scalar inv = Scalar(1) / std::sqrt(ss / static_cast<Scalar>(dim) + static_cast<Scalar>(eps));
    for (int64_t i = 0; i < dim; ++i)
      o[i] = xr[i] * inv * static_cast<Scalar>(weight[i]);
  }
}

template <typename Scalar>
void rmsnorm_backward(Scalar* dx, const Scalar* dy, const Scalar* x, const float* weight,
                      int64_t rows, int64_t dim, double eps) {
  // With r = (mean(x^2) + eps)^(-1/2) and g = dy * weight:
  // dx_i = r g_i - x_i r^3 / dim * sum_j g_j x_j.
  for (int64_t row = 0; row < rows; ++row) {
    const Scalar* xr = x + row * dim;
    const Scalar* dyr = dy + row * dim;
    Scalar* dxr = dx + row * dim;
    Scalar ss = 0;
    Scalar gx = 0;
    for (int64_t i = 0; i < dim; ++i) {
      ss += xr[i] * xr[i];
      gx += dyr[i] * static_cast<Scalar>(weight[i]) * xr[i];
    }
    Scalar r = Scalar(1) / std::sqrt(ss / static_cast<Scalar>(dim) + static_cast<Scalar>(eps));
    Scalar c = r * r * r * gx / static_cast<Scalar>(dim);
    for (int64_t i = 0; i < dim; ++i)
      dxr[i] += r * dyr[i] * static_cast<Scalar>(weight[i]) - xr[i] * c;
  }
}

template void rmsnorm_forward<float>(float*, const float*, const float*, int64_t, int64_t, double);
template void rmsnorm_forward<double>(double*, const double*, const float*, int64_t, int64_t,
                                      double);
template void rmsnorm_backward<float>(float*, const float*, const float*, const float*, int64_t,
                                      int64_t, double);
template void rmsnorm_backward<double>(double*, const double*, const double*, const float*, int64_t,
                                       int64_t, double);

}  // namespace socle::train
