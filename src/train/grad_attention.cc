#include "train/grad_attention.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "engine/kernels/matmul.h"
#include "engine/kernels/matmul_transposed.h"
#include "engine/kernels/thread_pool.h"

namespace socle::train {
namespace {

// Query rows per block of attention_backward_blocked: the block's scores, probabilities and
// their gradients (4 x 64 x n float32) stay small whatever n.
constexpr int64_t QUERY_BLOCK = 64;

int64_t first_visible(int64_t i, int64_t window) {
  return window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
}

// (rows, cols) columns [col0, col0 + cols) of a row-major matrix with `stride` columns.
void gather(float* out, const float* m, int64_t rows, int64_t stride, int64_t col0, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    std::copy_n(m + r * stride + col0, cols, out + r * cols);
}

void scatter_add(float* m, const float* part, int64_t rows, int64_t stride, int64_t col0,
                 int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c)
      m[r * stride + col0 + c] += part[r * cols + c];
  }
}

std::vector<float> transposed(const std::vector<float>& m, int64_t rows, int64_t cols) {
  std::vector<float> t(m.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c)
      t[static_cast<size_t>(c * rows + r)] = m[static_cast<size_t>(r * cols + c)];
  }
  return t;
}

engine::WeightView f32_view(const float* m, int64_t rows, int64_t cols) {
  return engine::WeightView{engine::DType::F32, m, rows, cols};
}

// One key/value head g of attention_backward_blocked, on the calling thread alone (`one`).
void attention_backward_head(float* dq, float* dk, float* dv, const float* dout, const float* q,
                             const float* k, const float* v, int64_t n, const AttentionShape& shape,
                             int64_t g, engine::KernelPath path, engine::ThreadPool& one) {
  const int64_t hd = shape.head_dim;
  const int64_t q_stride = shape.n_heads * hd;
  const int64_t kv_stride = shape.n_kv_heads * hd;
  const int64_t group = shape.n_heads / shape.n_kv_heads;
  const auto scale = static_cast<float>(shape.scale);
  const auto rows = static_cast<size_t>(n * hd);
  std::vector<float> kg(rows), vg(rows), dkg(rows, 0.0f), dvg(rows, 0.0f);
  std::vector<float> qh(rows), doh(rows), dqh(rows);
  gather(kg.data(), k, n, kv_stride, g * hd, hd);
  gather(vg.data(), v, n, kv_stride, g * hd, hd);
  std::vector<float> s, dp;
  for (int64_t h = g * group; h < (g + 1) * group; ++h) {
    gather(qh.data(), q, n, q_stride, h * hd, hd);
    gather(doh.data(), dout, n, q_stride, h * hd, hd);
    std::fill(dqh.begin(), dqh.end(), 0.0f);
    for (int64_t i0 = 0; i0 < n; i0 += QUERY_BLOCK) {
      const int64_t rows_b = std::min(QUERY_BLOCK, n - i0);
      const int64_t keys = i0 + rows_b;  // the block sees keys 0 .. keys - 1 at most
      const auto cells = static_cast<size_t>(rows_b * keys);
      s.resize(cells);
      dp.resize(cells);
      // S = Q K^T and dP = dO V^T over the block's rows and every key they may see.
      engine::matmul(s.data(), &qh[static_cast<size_t>(i0 * hd)], f32_view(kg.data(), keys, hd),
                     nullptr, rows_b, path, one);
      engine::matmul(dp.data(), &doh[static_cast<size_t>(i0 * hd)], f32_view(vg.data(), keys, hd),
                     nullptr, rows_b, path, one);
      // s becomes P and dp becomes dS, zero outside each row's visible keys.
      for (int64_t r = 0; r < rows_b; ++r) {
        const int64_t i = i0 + r;
        const int64_t begin = first_visible(i, shape.window);
        float* sr = &s[static_cast<size_t>(r * keys)];
        float* dpr = &dp[static_cast<size_t>(r * keys)];
        float max = -INFINITY;
        for (int64_t j = begin; j <= i; ++j) {
          sr[j] *= scale;
          max = std::max(max, sr[j]);
        }
        float sum = 0;
        for (int64_t j = begin; j <= i; ++j) {
          sr[j] = std::exp(sr[j] - max);
          sum += sr[j];
        }
        float pdp = 0;
        for (int64_t j = begin; j <= i; ++j) {
          sr[j] /= sum;
          pdp += sr[j] * dpr[j];
        }
        for (int64_t j = begin; j <= i; ++j)
          dpr[j] = sr[j] * (dpr[j] - pdp) * scale;
        std::fill(sr, sr + begin, 0.0f);
        std::fill(dpr, dpr + begin, 0.0f);
        std::fill(sr + i + 1, sr + keys, 0.0f);
        std::fill(dpr + i + 1, dpr + keys, 0.0f);
      }
      // dQ += dS K; dK += dS^T Q; dV += P^T dO.
      engine::matmul_transposed(&dqh[static_cast<size_t>(i0 * hd)], dp.data(),
                                f32_view(kg.data(), keys, hd), rows_b, path, one);
      std::vector<float> ds_t = transposed(dp, rows_b, keys);
      std::vector<float> p_t = transposed(s, rows_b, keys);
      engine::matmul_transposed(dkg.data(), ds_t.data(),
                                f32_view(&qh[static_cast<size_t>(i0 * hd)], rows_b, hd), keys, path,
                                one);
      engine::matmul_transposed(dvg.data(), p_t.data(),
                                f32_view(&doh[static_cast<size_t>(i0 * hd)], rows_b, hd), keys,
                                path, one);
    }
    scatter_add(dq, dqh.data(), n, q_stride, h * hd, hd);
  }
  scatter_add(dk, dkg.data(), n, kv_stride, g * hd, hd);
  scatter_add(dv, dvg.data(), n, kv_stride, g * hd, hd);
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
  attention_backward(dq, dk, dv, dout, q, k, v, n, shape, engine::default_thread_pool());
}

template <typename Scalar>
void attention_backward(Scalar* dq, Scalar* dk, Scalar* dv, const Scalar* dout, const Scalar* q,
                        const Scalar* k, const Scalar* v, int64_t n, const AttentionShape& shape,
                        engine::ThreadPool& pool) {
  if constexpr (std::is_same_v<Scalar, float>) {
    const engine::KernelPath path = engine::kernel_path_active();
    if (path == engine::KernelPath::AVX512) {
      attention_backward_blocked(dq, dk, dv, dout, q, k, v, n, shape, path, pool);
      return;
    }
  }
  const int64_t hd = shape.head_dim;
  const int64_t q_stride = shape.n_heads * hd;
  const int64_t kv_stride = shape.n_kv_heads * hd;
  const int64_t group = shape.n_heads / shape.n_kv_heads;
  const auto scale = static_cast<Scalar>(shape.scale);
  // One key/value head per task: its keys' and values' gradients gather from the query heads
  // of its group alone, so no two threads write the same value and each sum runs in the same
  // order whatever the thread count.
  pool.parallel_for(shape.n_kv_heads, 1, [&](int64_t g0, int64_t g1) {
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

void attention_backward_blocked(float* dq, float* dk, float* dv, const float* dout, const float* q,
                                const float* k, const float* v, int64_t n,
                                const AttentionShape& shape, engine::KernelPath path,
                                engine::ThreadPool& pool) {
  // One key/value head per task, as the reference: each head's sums run on one thread, in
  // the same order whatever the thread count.
  pool.parallel_for(shape.n_kv_heads, 1, [&](int64_t g0, int64_t g1) {
    engine::ThreadPool one(1);
    for (int64_t g = g0; g < g1; ++g)
      attention_backward_head(dq, dk, dv, dout, q, k, v, n, shape, g, path, one);
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
template void attention_backward<float>(float*, float*, float*, const float*, const float*,
                                        const float*, const float*, int64_t, const AttentionShape&,
                                        engine::ThreadPool&);
template void attention_backward<double>(double*, double*, double*, const double*, const double*,
                                         const double*, const double*, int64_t,
                                         const AttentionShape&, engine::ThreadPool&);

}  // namespace socle::train
