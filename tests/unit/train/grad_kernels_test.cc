// Every backward piece of the trainer against central finite differences in float64 on
// small random shapes: the loss is L = sum(c * out) for fixed random c, so d L / d out = c,
// and each analytic input gradient must match (L(x + h e_j) - L(x - h e_j)) / 2h for every
// coordinate j.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "engine/kernels/attention.h"
#include "engine/kernels/quant.h"
#include "engine/kernels/rope.h"
#include "engine/kernels/weight.h"
#include "train/cross_entropy.h"
#include "train/grad_attention.h"
#include "train/grad_linear.h"
#include "train/grad_rmsnorm.h"
#include "train/grad_rope.h"
#include "train/grad_swiglu.h"
#include "unit/engine/golden.h"

namespace socle::train {
namespace {

// Central differences in double have truncation error ~h^2 and rounding ~1e-16 / h: with
// h = 1e-5 both are near 1e-10 relative, far below this bound, while any wrong term in a
// backward shows up at 1e-2 or more.
constexpr double FD_STEP = 1e-5;
constexpr double FD_TOLERANCE = 1e-7;

std::vector<double> random_vector(size_t n, std::mt19937_64& rng, double scale = 1.0) {
  std::normal_distribution<double> dist(0.0, scale);
  std::vector<double> v(n);
  for (double& x : v)
    x = dist(rng);
  return v;
}

std::vector<float> random_floats(size_t n, std::mt19937_64& rng, double scale = 1.0) {
  std::vector<float> v(n);
  std::normal_distribution<double> dist(0.0, scale);
  for (float& x : v)
    x = static_cast<float>(dist(rng));
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i)
    s += a[i] * b[i];
  return s;
}

// || analytic - numeric || / || numeric || over every coordinate of *x, where `loss`
// recomputes L from the current *x.
double fd_error(std::vector<double>* x, const std::vector<double>& analytic,
                const std::function<double()>& loss) {
  EXPECT_EQ(x->size(), analytic.size());
  double diff = 0;
  double norm = 0;
  for (size_t j = 0; j < x->size(); ++j) {
    double saved = (*x)[j];
    (*x)[j] = saved + FD_STEP;
    double up = loss();
    (*x)[j] = saved - FD_STEP;
    double down = loss();
    (*x)[j] = saved;
    double numeric = (up - down) / (2 * FD_STEP);
    diff += (analytic[j] - numeric) * (analytic[j] - numeric);
    norm += numeric * numeric;
  }
  EXPECT_GT(norm, 0.0) << "a gradient that is zero everywhere proves nothing";
  return std::sqrt(diff / norm);
}

TEST(GradKernels, RmsNorm) {
  std::mt19937_64 rng(1);
  const int64_t rows = 3;
  const int64_t dim = 8;
  const double eps = 1e-5;
  std::vector<double> x = random_vector(rows * dim, rng);
  std::vector<float> w = random_floats(dim, rng);
  std::vector<double> c = random_vector(rows * dim, rng);
  std::vector<double> out(x.size());
  auto loss = [&] {
    rmsnorm_forward<double>(out.data(), x.data(), w.data(), rows, dim, eps);
    return dot(out, c);
  };
  std::vector<double> dx(x.size(), 0.0);
  rmsnorm_backward<double>(dx.data(), c.data(), x.data(), w.data(), rows, dim, eps);
  EXPECT_LT(fd_error(&x, dx, loss), FD_TOLERANCE);
}

TEST(GradKernels, RopeBothPairings) {
  std::mt19937_64 rng(2);
  const int64_t n = 5;
  const int64_t heads = 2;
  const int64_t head_dim = 8;
  std::vector<float> inv_freq(head_dim / 2);
  engine::rope_inv_freq(inv_freq.data(), head_dim, 10000.0);
  RopeTable table = rope_table(n, head_dim, inv_freq.data());
  for (engine::RopePairing pairing :
       {engine::RopePairing::HALF, engine::RopePairing::INTERLEAVED}) {
    std::vector<double> x = random_vector(n * heads * head_dim, rng);
    std::vector<double> c = random_vector(x.size(), rng);
    auto loss = [&] {
      std::vector<double> out = x;
      rope_rotate<double>(out.data(), n, heads, head_dim, table, pairing, false);
      return dot(out, c);
    };
    std::vector<double> dx = c;
    rope_rotate<double>(dx.data(), n, heads, head_dim, table, pairing, true);
    EXPECT_LT(fd_error(&x, dx, loss), FD_TOLERANCE);
  }
}

// The forward rotation is the engine's: same cosines, same pairs.
TEST(GradKernels, RopeForwardIsTheEngines) {
  std::mt19937_64 rng(3);
  const int64_t n = 4;
  const int64_t heads = 3;
  const int64_t head_dim = 16;
  std::vector<float> inv_freq(head_dim / 2);
  engine::rope_inv_freq(inv_freq.data(), head_dim, 500000.0);
  RopeTable table = rope_table(n, head_dim, inv_freq.data());
  for (engine::RopePairing pairing :
       {engine::RopePairing::HALF, engine::RopePairing::INTERLEAVED}) {
    std::vector<float> x = random_floats(n * heads * head_dim, rng);
    std::vector<float> ours = x;
    rope_rotate<float>(ours.data(), n, heads, head_dim, table, pairing, false);
    for (int64_t t = 0; t < n; ++t)
      engine::rope_apply_ref(&x[static_cast<size_t>(t * heads * head_dim)], heads, head_dim, t,
                             inv_freq.data(), pairing);
    EXPECT_EQ(ours, x);
  }
}

TEST(GradKernels, AttentionGroupedCausalAndWindowed) {
  std::mt19937_64 rng(4);
  const int64_t n = 6;
  for (int64_t window : {0, 3}) {
    AttentionShape s;
    s.n_heads = 4;
    s.n_kv_heads = 2;
    s.head_dim = 4;
    s.scale = 0.5;
    s.window = window;
    std::vector<double> q = random_vector(n * s.n_heads * s.head_dim, rng);
    std::vector<double> k = random_vector(n * s.n_kv_heads * s.head_dim, rng);
    std::vector<double> v = random_vector(k.size(), rng);
    std::vector<double> c = random_vector(q.size(), rng);
    std::vector<double> out(q.size());
    auto loss = [&] {
      attention_forward<double>(out.data(), q.data(), k.data(), v.data(), n, s);
      return dot(out, c);
    };
    std::vector<double> dq(q.size(), 0.0);
    std::vector<double> dk(k.size(), 0.0);
    std::vector<double> dv(v.size(), 0.0);
    attention_backward<double>(dq.data(), dk.data(), dv.data(), c.data(), q.data(), k.data(),
                               v.data(), n, s);
    EXPECT_LT(fd_error(&q, dq, loss), FD_TOLERANCE) << "window " << window;
    EXPECT_LT(fd_error(&k, dk, loss), FD_TOLERANCE) << "window " << window;
    EXPECT_LT(fd_error(&v, dv, loss), FD_TOLERANCE) << "window " << window;
  }
}

// The reference forward is the engine's attention (which the training forward runs), with
// and without a sliding window.
TEST(GradKernels, AttentionForwardIsTheEngines) {
  std::mt19937_64 rng(5);
  const int64_t n = 7;
  for (int64_t window : {0, 3}) {
    AttentionShape s;
    s.n_heads = 4;
    s.n_kv_heads = 2;
    s.head_dim = 8;
    s.scale = 1.0f / std::sqrt(8.0f);
    s.window = window;
    std::vector<float> q = random_floats(n * s.n_heads * s.head_dim, rng);
    std::vector<float> k = random_floats(n * s.n_kv_heads * s.head_dim, rng);
    std::vector<float> v = random_floats(k.size(), rng);
    std::vector<float> ours(q.size());
    std::vector<float> engine_out(q.size());
    attention_forward<float>(ours.data(), q.data(), k.data(), v.data(), n, s);
    engine::AttentionParams p;
    p.n_heads = s.n_heads;
    p.n_kv_heads = s.n_kv_heads;
    p.head_dim = s.head_dim;
    p.scale = static_cast<float>(s.scale);
    p.window = window;
    engine::attention_ref(engine_out.data(), q.data(), k.data(), v.data(), n, n, p);
    for (size_t i = 0; i < ours.size(); ++i)
      EXPECT_NEAR(ours[i], engine_out[i], 1e-5) << "window " << window << " " << i;
  }
}

TEST(GradKernels, SwiGlu) {
  std::mt19937_64 rng(6);
  const int64_t n = 12;
  std::vector<double> gate = random_vector(n, rng, 2.0);
  std::vector<double> up = random_vector(n, rng);
  std::vector<double> c = random_vector(n, rng);
  std::vector<double> out(n);
  auto loss = [&] {
    swiglu_forward<double>(out.data(), gate.data(), up.data(), n);
    return dot(out, c);
  };
  std::vector<double> dg(n, 0.0);
  std::vector<double> du(n, 0.0);
  swiglu_backward<double>(dg.data(), du.data(), c.data(), gate.data(), up.data(), n);
  EXPECT_LT(fd_error(&gate, dg, loss), FD_TOLERANCE);
  EXPECT_LT(fd_error(&up, du, loss), FD_TOLERANCE);
}

TEST(GradKernels, LinearWithLora) {
  std::mt19937_64 rng(7);
  LinearShape s{4, 6, 5, 3, 2.0};
  std::vector<double> x = random_vector(s.n * s.in, rng);
  std::vector<float> w = random_floats(s.out * s.in, rng);
  std::vector<double> a = random_vector(s.rank * s.in, rng);
  std::vector<double> b = random_vector(s.out * s.rank, rng);
  std::vector<double> c = random_vector(s.n * s.out, rng);
  std::vector<double> y(c.size());
  std::vector<double> u(static_cast<size_t>(s.n * s.rank));
  auto loss = [&] {
    lora_linear_forward<double>(y.data(), u.data(), x.data(), w.data(), a.data(), b.data(), s);
    return dot(y, c);
  };
  loss();  // fills u
  std::vector<double> dx(x.size(), 0.0);
  std::vector<double> da(a.size(), 0.0);
  std::vector<double> db(b.size(), 0.0);
  lora_linear_backward<double>(dx.data(), da.data(), db.data(), c.data(), x.data(), u.data(),
                               w.data(), a.data(), b.data(), s);
  EXPECT_LT(fd_error(&x, dx, loss), FD_TOLERANCE);
  EXPECT_LT(fd_error(&a, da, loss), FD_TOLERANCE);
  EXPECT_LT(fd_error(&b, db, loss), FD_TOLERANCE);
}

// The adapter's backward on the engine's matmul against the reference loops, in float32.
TEST(GradKernels, LoraAdapterBackwardMatchesTheReference) {
  std::mt19937_64 rng(10);
  for (LinearShape s : {LinearShape{1, 64, 32, 4, 2.0}, LinearShape{37, 96, 160, 8, 0.5}}) {
    std::vector<float> x = random_floats(s.n * s.in, rng);
    std::vector<float> dy = random_floats(s.n * s.out, rng);
    std::vector<float> u = random_floats(s.n * s.rank, rng);
    std::vector<float> a = random_floats(s.rank * s.in, rng);
    std::vector<float> b = random_floats(s.out * s.rank, rng);
    std::vector<float> dx0 = random_floats(x.size(), rng);
    std::vector<float> da0 = random_floats(a.size(), rng);
    std::vector<float> db0 = random_floats(b.size(), rng);
    std::vector<float> dx = dx0, da = da0, db = db0;
    lora_adapter_backward(dx.data(), da.data(), db.data(), dy.data(), x.data(), u.data(), a.data(),
                          b.data(), s);
    std::vector<float> rx = dx0, ra = da0, rb = db0;
    lora_linear_backward<float>(rx.data(), ra.data(), rb.data(), dy.data(), x.data(), u.data(),
                                nullptr, a.data(), b.data(), s);
    EXPECT_LT(engine::testing::relative_error(dx, rx), 1e-6) << s.n;
    EXPECT_LT(engine::testing::relative_error(da, ra), 1e-6) << s.n;
    EXPECT_LT(engine::testing::relative_error(db, rb), 1e-6) << s.n;
  }
}

// The frozen weight's input gradient on stored weights (F32, F16, Q8_0, Q4_K) against the
// reference backward on the same weights dequantised to float32.
TEST(GradKernels, FrozenLinearInputGradOnStoredTypes) {
  std::mt19937_64 rng(8);
  const int64_t n = 11;
  const int64_t in = 256;
  const int64_t out = 9;
  std::vector<float> w = random_floats(out * in, rng);
  std::vector<float> dy = random_floats(n * out, rng);
  for (engine::DType type :
       {engine::DType::F32, engine::DType::F16, engine::DType::Q8_0, engine::DType::Q4_K}) {
    std::vector<char> bytes(engine::dtype_row_bytes(type, in) * static_cast<size_t>(out));
    engine::WeightView view{type, bytes.data(), out, in};
    std::vector<float> dequantised(w.size());
    for (int64_t r = 0; r < out; ++r) {
      engine::quantize_row(type, &w[static_cast<size_t>(r * in)], const_cast<void*>(view.row(r)),
                           in);
      engine::weight_row_to_f32(view, r, &dequantised[static_cast<size_t>(r * in)]);
    }
    std::vector<float> got(static_cast<size_t>(n * in), 0.5f);
    frozen_linear_input_grad(got.data(), dy.data(), view, n);
    std::vector<float> want(got.size(), 0.5f);
    std::vector<float> unused(1);  // rank 0: no adapter
    LinearShape s{n, in, out, 0, 1.0};
    lora_linear_backward<float>(want.data(), unused.data(), unused.data(), dy.data(), unused.data(),
                                unused.data(), dequantised.data(), unused.data(), unused.data(), s);
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], want[i], 1e-4) << engine::dtype_name(type) << " " << i;
  }
}

TEST(GradKernels, CrossEntropyWithIgnoredAndWeightedPositions) {
  std::mt19937_64 rng(9);
  const int64_t n = 5;
  const int64_t vocab = 7;
  std::vector<double> logits = random_vector(n * vocab, rng, 3.0);
  std::vector<int32_t> targets = {3, IGNORE_LABEL, 0, 6, 2};
  std::vector<float> weights = {1, 1, 0, 1, 1};
  auto loss = [&] {
    return cross_entropy<double>(nullptr, logits.data(), targets, weights, vocab, 1.0);
  };
  std::vector<double> dlogits(logits.size());
  double l = cross_entropy<double>(dlogits.data(), logits.data(), targets, weights, vocab, 1.0);
  EXPECT_EQ(l, loss());
  EXPECT_LT(fd_error(&logits, dlogits, loss), FD_TOLERANCE);
  EXPECT_EQ(trained_positions(targets, weights), 3);
  // Rows 1 (ignored) and 2 (weight 0) have no gradient.
  for (int64_t v = 0; v < vocab; ++v) {
    EXPECT_EQ(dlogits[static_cast<size_t>(1 * vocab + v)], 0.0);
    EXPECT_EQ(dlogits[static_cast<size_t>(2 * vocab + v)], 0.0);
  }
}

TEST(GradKernels, NextTokenTargetsShiftByOne) {
  std::vector<int32_t> labels = {IGNORE_LABEL, IGNORE_LABEL, 5, 6, 7};
  std::vector<int32_t> want = {IGNORE_LABEL, 5, 6, 7, IGNORE_LABEL};
  EXPECT_EQ(next_token_targets(labels), want);
}

}  // namespace
}  // namespace socle::train
