#include "train/grad_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/kernels/thread_pool.h"

namespace socle::train {
namespace {

int64_t first_visible(int64_t i, int64_t window) {
  return window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
}

// p[j - begin] = softmax over j in [begin, i] of scale * q . k_j.
template <typename Scalar>
void attention_probs(Scalar* p, const Scalar* qi, const Scalar* k, int64_t begin, int64_t i,
                     int64_t kv_stride, int64_t head_dim, Scalar scale) {
  Scalar max = -INFINITY;
  for (int64_t j = begin; j <= i; ++j) {
    const Scalar* kj = k + j * kv_stride;
    Scalar s = 0;
    for (int64_t d = 0; d < head_dim; ++d)
      s += qi[d] * kj[d];
    s *= scale;
    p[j - begin] = s;
    max = std::max(max, s);
  }
  Scalar sum = 0;
  for (int64_t j = begin; j <= i; ++j) {
    p[j - begin] = std::exp(p[j - begin] - max);
    sum += p[j - begin];
  }
  for (int64_t j = begin; j <= i; ++j)
    p[j - begin] /= sum;
}

}  // namespace

template <typename Scalar>
void attention_forward(Scalar* out, const Scalar* q, const Scalar* k, const Scalar* v, int64_t n,
                       const AttentionShape& shape) {
  const int64_t hd = shape.head_dim;
  const int64_t q_stride = shape.n_heads * hd;
  const int64_t kv_stride = shape.n_kv_heads * hd;
  const int64_t group = shape.n_heads / shape.n_kv_heads;
  const auto scale = static_cast<Scalar>(shape.scale);
  std::vector<Scalar> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t begin = first_visible(i, shape.window);
    for (int64_t h = 0; h < shape.n_heads; ++h) {
      int64_t g = h / group;
      const Scalar* qi = q + i * q_stride + h * hd;
      attention_probs(p.data(), qi, k + g * hd, begin, i, kv_stride, hd, scale);
      Scalar* o = out + i * q_stride + h * hd;
      std::fill(o, o + hd, Scalar(0));
      for (int64_t j = begin; j <= i; ++j) {
        const Scalar* vj = v + j * kv_stride + g * hd;
        for (int64_t d = 0; d < hd; ++d)
          o[d] += p[static_cast<size_t>(j - begin)] * vj[d];
      }
    }
  }
}

template <typename Scalar>
void attention_backward(Scalar* dq, Scalar* dk, Scalar* dv, const Scalar* dout, const Scalar* q,
                        const Scalar* k, const Scalar* v, int64_t n, const AttentionShape& shape) {
  const int64_t hd = shape.head_dim;
  const int64_t q_stride = shape.n_heads * hd;
  const int64_t kv_stride = shape.n_kv_heads * hd;
  const int64_t group = shape.n_heads / shape.n_kv_heads;
  const auto scale = static_cast<Scalar>(shape.scale);
  // One key/value head per task: its keys' and values' gradients gather from the query heads
  // of its group alone, so no two threads write the same value and each sum runs in the same
  // order whatever the thread count.
  engine::default_thread_pool().parallel_for(shape.n_kv_heads, 1, [&](int64_t g0, int64_t g1) {
    std::vector<Scalar> p(static_cast<size_t>(n));
    std::vector<Scalar> dp(static_cast<size_t>(n));
    for (int64_t g = g0; g < g1; ++g) {
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        for (int64_t i = 0; i < n; ++i) {
          int64_t begin = first_visible(i, shape.window);
          const Scalar* qi = q + i * q_stride + h * hd;
          const Scalar* doi = dout + i * q_stride + h * hd;
          Scalar* dqi = dq + i * q_stride + h * hd;
          attention_probs(p.data(), qi, k + g * hd, begin, i, kv_stride, hd, scale);
          Scalar pdp = 0;
          for (int64_t j = begin; j <= i; ++j) {
            const Scalar* vj = v + j * kv_stride + g * hd;
            Scalar s = 0;
            for (int64_t d = 0; d < hd; ++d)
              s += doi[d] * vj[d];
            dp[static_cast<size_t>(j - begin)] = s;
            pdp += p[static_cast<size_t>(j - begin)] * s;
          }
          for (int64_t j = begin; j <= i; ++j) {
            auto jj = static_cast<size_t>(j - begin);
            Scalar ds = p[jj] * (dp[jj] - pdp) * scale;
            const Scalar* kj = k + j * kv_stride + g * hd;
            Scalar* dkj = dk + j * kv_stride + g * hd;
            Scalar* dvj = dv + j * kv_stride + g * hd;
            for (int64_t d = 0; d < hd; ++d) {
              dqi[d] += ds * kj[d];
              dkj[d] += ds * qi[d];
              dvj[d] += p[jj] * doi[d];
            }
          }
        }
      }
    }
  });
}

template void attention_forward<float>(float*, const float*, const float*, const float*, int64_t,
                                       const AttentionShape&);
template void attention_forward<double>(double*, const double*, const double*, const double*,
                                        int64_t, const AttentionShape&);
template void attention_backward<float>(float*, float*, float*, const float*, const float*,
                                        const float*, const float*, int64_t, const AttentionShape&);
template void attention_backward<double>(double*, double*, double*, const double*, const double*,
                                         const double*, const double*, int64_t,
                                         const AttentionShape&);

}  // namespace socle::train
