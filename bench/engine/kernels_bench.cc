// Times the norm, RoPE, activation, softmax and attention kernels on every kernel path this
// CPU runs, at the shapes of a 7-8B llama (dim 4096, 32 query and 8 key/value heads of 128),
// one thread, and prints each path's time per call and its speed-up over the scalar path
// measured in the same run. Each path's output is checked against the scalar one first.
// Attention is also timed on every hardware thread, against itself on one.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/norm.h"
#include "engine/kernels/rope.h"

namespace socle::engine {
namespace {

// Each measurement repeats a call for at least this long, and keeps the best of three.
constexpr double MIN_SECONDS = 0.1;
constexpr int ROUNDS = 3;
// Outputs of different paths agree to this relative to the output's largest magnitude
// (the tests hold each kernel to its own, tighter, stated bound).
constexpr double CHECK_TOLERANCE = 1e-4;

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> out(n);
  for (float& x : out)
    x = dist(rng);
  return out;
}

double seconds_per_call(const std::function<void()>& fn) {
  double best = 1e30;
  for (int round = 0; round < ROUNDS; ++round) {
    int64_t calls = 0;
    auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    do {
      fn();
      ++calls;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (elapsed < MIN_SECONDS);
    best = std::min(best, elapsed / static_cast<double>(calls));
  }
  return best;
}

bool close_enough(const std::vector<float>& got, const std::vector<float>& want) {
  double scale = 0;
  for (float w : want)
    scale = std::max(scale, static_cast<double>(std::fabs(w)));
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= CHECK_TOLERANCE * scale)) return false;
  }
  return true;
}

// A kernel run: writes its output into `out` (sized by the caller) on `path`.
using Run = std::function<void(KernelPath path, std::vector<float>& out)>;

bool bench(const std::string& name, size_t out_size, const Run& run) {
  std::vector<float> want(out_size), got(out_size);
  run(KernelPath::SCALAR, want);
  double scalar = 0;
  bool ok = true;
  for (KernelPath path : kernel_paths_supported()) {
    run(path, got);
    if (!close_enough(got, want)) {
      std::printf("%-34s %-7s MISMATCH with the scalar path\n", name.c_str(),
                  kernel_path_name(path));
      ok = false;
      continue;
    }
    double s = seconds_per_call([&] { run(path, got); });
    if (path == KernelPath::SCALAR) scalar = s;
    std::printf("%-34s %-7s %10.2f us  x%.2f vs scalar\n", name.c_str(), kernel_path_name(path),
                s * 1e6, scalar / s);
  }
  return ok;
}

int run_all() {
  ThreadPool one(1);
  constexpr int64_t DIM = 4096, ROWS = 16, HEADS = 32, KV_HEADS = 8, HEAD_DIM = 128;
  constexpr int64_t FFN = 14336, CONTEXT = 4096;
  bool ok = true;

  auto x = random_floats(ROWS * DIM, 1, 2.0f);
  auto w = random_floats(DIM, 2);
  auto b = random_floats(DIM, 3);
  ok &= bench("rmsnorm 16 x 4096", x.size(), [&](KernelPath p, std::vector<float>& out) {
    rmsnorm(out.data(), x.data(), w.data(), ROWS, DIM, 1e-5f, p, one);
  });
  ok &= bench("layernorm 16 x 4096", x.size(), [&](KernelPath p, std::vector<float>& out) {
    layernorm(out.data(), x.data(), w.data(), b.data(), ROWS, DIM, 1e-12f, p, one);
  });

  std::vector<float> freq(HEAD_DIM / 2);
  rope_inv_freq(freq.data(), HEAD_DIM, 500000.0);
  auto heads = random_floats(HEADS * HEAD_DIM, 4);
  for (RopePairing pairing : {RopePairing::HALF, RopePairing::INTERLEAVED}) {
    std::string name =
        pairing == RopePairing::HALF ? "rope half 32 x 128" : "rope interl. 32 x 128";
    ok &= bench(name, heads.size(), [&](KernelPath p, std::vector<float>& out) {
      std::copy(heads.begin(), heads.end(), out.begin());
      rope_apply(out.data(), HEADS, HEAD_DIM, 1000, freq.data(), pairing, p);
    });
  }

  // Element-wise functions over one token's feed-forward width, four tokens.
  auto act = random_floats(4 * FFN, 5, 3.0f);
  auto up = random_floats(act.size(), 6);
  using Unary = void (*)(float*, int64_t, KernelPath, ThreadPool&);
  const std::pair<const char*, Unary> unary[] = {
      {"silu 4 x 14336", silu}, {"gelu 4 x 14336", gelu}, {"gelu_tanh 4 x 14336", gelu_tanh}};
  for (const auto& entry : unary) {
    Unary fn = entry.second;
    ok &= bench(entry.first, act.size(), [&](KernelPath p, std::vector<float>& out) {
      std::copy(act.begin(), act.end(), out.begin());
      fn(out.data(), static_cast<int64_t>(out.size()), p, one);
    });
  }
  ok &= bench("swiglu 4 x 14336", act.size(), [&](KernelPath p, std::vector<float>& out) {
    std::copy(act.begin(), act.end(), out.begin());
    swiglu(out.data(), up.data(), static_cast<int64_t>(out.size()), p, one);
  });
  auto logits = random_floats(CONTEXT, 7, 10.0f);
  ok &= bench("softmax 4096", logits.size(), [&](KernelPath p, std::vector<float>& out) {
    std::copy(logits.begin(), logits.end(), out.begin());
    softmax(out.data(), static_cast<int64_t>(out.size()), p);
  });

  AttentionParams ap;
  ap.n_heads = HEADS;
  ap.n_kv_heads = KV_HEADS;
  ap.head_dim = HEAD_DIM;
  ap.scale = 1.0f / std::sqrt(static_cast<float>(HEAD_DIM));
  auto k = random_floats(CONTEXT * KV_HEADS * HEAD_DIM, 8);
  auto v = random_floats(k.size(), 9);
  auto q = random_floats(HEADS * HEAD_DIM, 10);
  ap.q_pos0 = CONTEXT - 1;
  ok &= bench("attention decode, 4096 keys", q.size(), [&](KernelPath p, std::vector<float>& out) {
    attention(out.data(), q.data(), k.data(), v.data(), 1, CONTEXT, ap, p, one);
  });
  constexpr int64_t PREFILL = 256;
  auto qp = random_floats(PREFILL * HEADS * HEAD_DIM, 11);
  AttentionParams pp = ap;
  pp.q_pos0 = 0;
  ok &=
      bench("attention prefill 256, causal", qp.size(), [&](KernelPath p, std::vector<float>& out) {
        attention(out.data(), qp.data(), k.data(), v.data(), PREFILL, PREFILL, pp, p, one);
      });

  // Threads: the fastest path's decode attention on every hardware thread, against one.
  int n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool all(n);
  KernelPath fastest = kernel_paths_supported().back();
  std::vector<float> out(q.size());
  double t1 = seconds_per_call(
      [&] { attention(out.data(), q.data(), k.data(), v.data(), 1, CONTEXT, ap, fastest, one); });
  double tn = seconds_per_call(
      [&] { attention(out.data(), q.data(), k.data(), v.data(), 1, CONTEXT, ap, fastest, all); });
  std::printf("%-34s %-7s %10.2f us  x%.2f vs 1 thread (%d threads)\n",
              "attention decode, 4096 keys", kernel_path_name(fastest), tn * 1e6, t1 / tn, n);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace socle::engine

int main() {
  return socle::engine::run_all();
}
