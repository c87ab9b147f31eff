#include "train/grad_swiglu.h"

#include <cmath>

namespace socle::train {
namespace {

template <typename Scalar>
Scalar sigmoid(Scalar x) {
  return Scalar(1) / (Scalar(1) + std::exp(-x));
}

}  // namespace

template <typename Scalar>
void swiglu_forward(Scalar* out, const Scalar* gate, const Scalar* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

template <typename Scalar>
void swiglu_backward(Scalar* d_gate, Scalar* d_up, const Scalar* d_out, const Scalar* gate,
                     const Scalar* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    Scalar s = sigmoid(gate[i]);
    Scalar silu = gate[i] * s;
    d_gate[i] += d_out[i] * up[i] * s * (Scalar(1) + gate[i] * (Scalar(1) - s));
    d_up[i] += d_out[i] * silu;
  }
}

template void swiglu_forward<float>(float*, const float*, const float*, int64_t);
template void swiglu_forward<double>(double*, const double*, const double*, int64_t);
template void swiglu_backward<float>(float*, float*, const float*, const float*, const float*,
                                     int64_t);
template void swiglu_backward<double>(double*, double*, const double*, const double*, const double*,
                                      int64_t);

}  // namespace socle::train
