#include "train/grad_linear.h"

#include <algorithm>
#include <vector>

#include "engine/kernels/matmul.h"
#include "engine/kernels/matmul_transposed.h"

namespace socle::train {
namespace {

// The most values of W transposed at once (16 MB of float32): whole matrices for the
// projections of models up to a hidden size of 4096, blocks of rows for larger ones and for
// the output head.
constexpr int64_t TRANSPOSED_BLOCK_VALUES = int64_t{1} << 22;

// (cols, rows) from a row-major (rows, cols).
std::vector<float> transposed(const float* m, int64_t rows, int64_t cols) {
  std::vector<float> t(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j)
      t[static_cast<size_t>(j * rows + i)] = m[i * cols + j];
  }
  return t;
}

void grow(std::vector<float>* v, int64_t size) {
  if (v->size() < static_cast<size_t>(size)) v->resize(static_cast<size_t>(size));
}

engine::WeightView f32_view(const float* m, int64_t rows, int64_t cols) {
  return engine::WeightView{engine::DType::F32, m, rows, cols};
}

// lora_adapter_backward's products on engine::matmul_transposed (out += x @ w with w as
// stored), which reads dy, x and A in their own layout: only u and du (n, rank) are
// transposed. Each product accumulates in place, one chain per value, split by columns.
void lora_adapter_backward_untransposed(float* dx, float* da, float* db, const float* dy,
                                        const float* x, const float* u, const float* a,
                                        const float* b, const LinearShape& s,
                                        engine::KernelPath path, engine::ThreadPool& pool) {
  const int64_t n = s.n;
  const int64_t r = s.rank;
  const auto scaling = static_cast<float>(s.scaling);
  thread_local std::vector<float> du;
  thread_local std::vector<float> du_t;
  thread_local std::vector<float> u_t;
  thread_local std::vector<float> part;
  // du (n, r) = scaling * dy B
  du.assign(static_cast<size_t>(n * r), 0.0f);
  engine::matmul_transposed(du.data(), dy, f32_view(b, s.out, r), n, path, pool);
  for (float& v : du)
    v *= scaling;
  du_t = transposed(du.data(), n, r);
  u_t = transposed(u, n, r);
  // dB^T (r, out) = u^T dy, then db += scaling * its transpose
  part.assign(static_cast<size_t>(r * s.out), 0.0f);
  engine::matmul_transposed(part.data(), u_t.data(), f32_view(dy, n, s.out), r, path, pool);
  for (int64_t o = 0; o < s.out; ++o) {
    for (int64_t k = 0; k < r; ++k)
      db[o * r + k] += scaling * part[static_cast<size_t>(k * s.out + o)];
  }
  // dA (r, in) += du^T x
  engine::matmul_transposed(da, du_t.data(), f32_view(x, n, s.in), r, path, pool);
  // dx (n, in) += du A
  engine::matmul_transposed(dx, du.data(), f32_view(a, r, s.in), n, path, pool);
}

}  // namespace

template <typename Scalar>
void lora_linear_forward(Scalar* y, Scalar* u, const Scalar* x, const float* w, const Scalar* a,
                         const Scalar* b, const LinearShape& s) {
  std::vector<Scalar> ut(static_cast<size_t>(s.rank));
  const auto scaling = static_cast<Scalar>(s.scaling);
  for (int64_t t = 0; t < s.n; ++t) {
    const Scalar* xt = x + t * s.in;
    for (int64_t r = 0; r < s.rank; ++r) {
      Scalar acc = 0;
      for (int64_t i = 0; i < s.in; ++i)
        acc += a[r * s.in + i] * xt[i];
      ut[static_cast<size_t>(r)] = acc;
      if (u != nullptr) u[t * s.rank + r] = acc;
    }
    for (int64_t o = 0; o < s.out; ++o) {
      Scalar acc = 0;
      for (int64_t i = 0; i < s.in; ++i)
        acc += static_cast<Scalar>(w[o * s.in + i]) * xt[i];
      Scalar lora = 0;
      for (int64_t r = 0; r < s.rank; ++r)
        lora += b[o * s.rank + r] * ut[static_cast<size_t>(r)];
      y[t * s.out + o] = acc + scaling * lora;
    }
  }
}

template <typename Scalar>
void lora_linear_backward(Scalar* dx, Scalar* da, Scalar* db, const Scalar* dy, const Scalar* x,
                          const Scalar* u, const float* w, const Scalar* a, const Scalar* b,
                          const LinearShape& s) {
  const auto scaling = static_cast<Scalar>(s.scaling);
  std::vector<Scalar> du(static_cast<size_t>(s.rank));
  for (int64_t t = 0; t < s.n; ++t) {
    const Scalar* dyt = dy + t * s.out;
    const Scalar* xt = x + t * s.in;
    const Scalar* ut = u + t * s.rank;
    Scalar* dxt = dx + t * s.in;
    for (int64_t r = 0; r < s.rank; ++r) {
      Scalar acc = 0;
      for (int64_t o = 0; o < s.out; ++o)
        acc += dyt[o] * b[o * s.rank + r];
      du[static_cast<size_t>(r)] = scaling * acc;
    }
    for (int64_t o = 0; o < s.out; ++o) {
      Scalar g = scaling * dyt[o];
      for (int64_t r = 0; r < s.rank; ++r)
        db[o * s.rank + r] += g * ut[r];
    }
    for (int64_t r = 0; r < s.rank; ++r) {
      Scalar g = du[static_cast<size_t>(r)];
      const Scalar* ar = a + r * s.in;
      Scalar* dar = da + r * s.in;
      for (int64_t i = 0; i < s.in; ++i) {
        dar[i] += g * xt[i];
        dxt[i] += g * ar[i];
      }
    }
    if (w == nullptr) continue;
    for (int64_t o = 0; o < s.out; ++o) {
      const float* wo = w + o * s.in;
      for (int64_t i = 0; i < s.in; ++i)
        dxt[i] += dyt[o] * static_cast<Scalar>(wo[i]);
    }
  }
}

void frozen_linear_input_grad(float* dx, const float* dy, const engine::WeightView& w, int64_t n) {
  frozen_linear_input_grad(dx, dy, w, n, engine::default_thread_pool());
}

void frozen_linear_input_grad(float* dx, const float* dy, const engine::WeightView& w, int64_t n,
                              engine::ThreadPool& pool) {
  const engine::KernelPath path = engine::kernel_path_active();
  // On the AVX-512 path, float weights go straight through the kernel that reads W's rows as
  // the reduction (no transposed copy, dx accumulated in place).
  if (path == engine::KernelPath::AVX512 && engine::matmul_transposed_covers(w.type)) {
    engine::matmul_transposed(dx, dy, w, n, path, pool);
    return;
  }
  const int64_t in = w.cols;
  const int64_t out = w.rows;
  const int64_t block = std::clamp<int64_t>(TRANSPOSED_BLOCK_VALUES / in, 1, out);
  // Buffers kept from call to call (a training step makes hundreds of these calls, and fresh
  // pages of this size cost more in faults and zeroing than the copies they hold).
  thread_local std::vector<float> row;
  thread_local std::vector<float> wt;
  thread_local std::vector<float> dy_block;
  thread_local std::vector<float> part;
  grow(&row, in);
  grow(&wt, in * block);
  if (block < out) grow(&dy_block, n * block);
  grow(&part, n * in);
  for (int64_t o0 = 0; o0 < out; o0 += block) {
    const int64_t b = std::min(block, out - o0);
    // wt (in, b) = W[o0 : o0 + b]^T, widened to float32.
    for (int64_t o = 0; o < b; ++o) {
      engine::weight_row_to_f32(w, o0 + o, row.data());
      for (int64_t i = 0; i < in; ++i)
        wt[static_cast<size_t>(i * b + o)] = row[static_cast<size_t>(i)];
    }
    const float* dy_rows = dy;  // (n, b): dy's columns o0 .. o0 + b
    if (b < out) {
      for (int64_t t = 0; t < n; ++t)
        std::copy_n(dy + t * out + o0, b, &dy_block[static_cast<size_t>(t * b)]);
      dy_rows = dy_block.data();
    }
    // part = dy_rows wt^T: dx's share from these rows, on the engine's matmul.
    engine::WeightView view{engine::DType::F32, wt.data(), in, b};
    engine::matmul(part.data(), dy_rows, view, nullptr, n, path, pool);
    for (int64_t i = 0; i < n * in; ++i)
      dx[i] += part[static_cast<size_t>(i)];
  }
}

void lora_adapter_backward(float* dx, float* da, float* db, const float* dy, const float* x,
                           const float* u, const float* a, const float* b, const LinearShape& s) {
  lora_adapter_backward(dx, da, db, dy, x, u, a, b, s, engine::default_thread_pool());
}

void lora_adapter_backward(float* dx, float* da, float* db, const float* dy, const float* x,
                           const float* u, const float* a, const float* b, const LinearShape& s,
                           engine::ThreadPool& pool) {
  const engine::KernelPath path = engine::kernel_path_active();
  if (path == engine::KernelPath::AVX512) {
    lora_adapter_backward_untransposed(dx, da, db, dy, x, u, a, b, s, path, pool);
    return;
  }
  const int64_t n = s.n;
  const int64_t r = s.rank;
  const auto scaling = static_cast<float>(s.scaling);
  auto f32 = [](const float* m, int64_t rows, int64_t cols) {
    return engine::WeightView{engine::DType::F32, m, rows, cols};
  };
  std::vector<float> dy_t = transposed(dy, n, s.out);  // (out, n)
  std::vector<float> u_t = transposed(u, n, r);        // (r, n)
  std::vector<float> b_t = transposed(b, s.out, r);    // (r, out)
  std::vector<float> a_t = transposed(a, r, s.in);     // (in, r)
  std::vector<float> x_t = transposed(x, n, s.in);     // (in, n)
  // du^T (r, n) = scaling * B^T dy^T
  std::vector<float> du_t(static_cast<size_t>(r * n));
  engine::matmul(du_t.data(), b_t.data(), f32(dy, n, s.out), nullptr, r, path, pool);
  for (float& v : du_t)
    v *= scaling;
  std::vector<float> du = transposed(du_t.data(), r, n);  // (n, r)
  // dB^T (r, out) = scaling * u^T dy
  std::vector<float> part(static_cast<size_t>(r * s.out));
  engine::matmul(part.data(), u_t.data(), f32(dy_t.data(), s.out, n), nullptr, r, path, pool);
  for (int64_t o = 0; o < s.out; ++o) {
    for (int64_t k = 0; k < r; ++k)
      db[o * r + k] += scaling * part[static_cast<size_t>(k * s.out + o)];
  }
  // dA (r, in) = du^T x
  part.resize(static_cast<size_t>(r * s.in));
  engine::matmul(part.data(), du_t.data(), f32(x_t.data(), s.in, n), nullptr, r, path, pool);
  for (size_t i = 0; i < part.size(); ++i)
    da[i] += part[i];
  // dx (n, in) += du A
  part.resize(static_cast<size_t>(n * s.in));
  engine::matmul(part.data(), du.data(), f32(a_t.data(), s.in, r), nullptr, n, path, pool);
  for (size_t i = 0; i < part.size(); ++i)
    dx[i] += part[i];
}

template void lora_linear_forward<float>(float*, float*, const float*, const float*, const float*,
                                         const float*, const LinearShape&);
template void lora_linear_forward<double>(double*, double*, const double*, const float*,
                                          const double*, const double*, const LinearShape&);
template void lora_linear_backward<float>(float*, float*, float*, const float*, const float*,
                                          const float*, const float*, const float*, const float*,
                                          const LinearShape&);
template void lora_linear_backward<double>(double*, double*, double*, const double*, const double*,
                                           const double*, const float*, const double*,
                                           const double*, const LinearShape&);

}  // namespace socle::train
