#include "train/lora_backward.h"

#include <cmath>
#include <vector>

#include "train/grad_attention.h"
#include "train/grad_linear.h"
#include "train/grad_rmsnorm.h"
#include "train/grad_rope.h"
#include "train/grad_swiglu.h"

namespace socle::train {
namespace {

size_t sz(int64_t a, int64_t b) {
  return static_cast<size_t>(a * b);
}

void zero(std::vector<float>* v, size_t n) {
  v->assign(n, 0.0f);
}

// Backward of y = x W^T + bias + scaling * B (A x): dx += dy W (when `need_dx`; the first
// block's input is the embedding, which is frozen) and the adapter's part (dA, dB, and
// its share of dx).
// dx, x: (n, w.cols); dy: (n, w.rows)
void adapted_linear_backward(float* dx, const float* dy, const float* x, int64_t n,
                             const engine::WeightView& w, const engine::LoraPair* pair,
                             engine::LoraPair* grad, const std::vector<float>& u, int64_t rank,
                             double scaling, bool need_dx, engine::ThreadPool& pool) {
  if (need_dx) frozen_linear_input_grad(dx, dy, w, n, pool);
  if (pair == nullptr) return;
  LinearShape s{n, w.cols, w.rows, rank, scaling};
  lora_adapter_backward(dx, grad->a.data(), grad->b.data(), dy, x, u.data(), pair->a.data(),
                        pair->b.data(), s, pool);
}

}  // namespace

void lora_backward(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                   const LoraActivations& acts, const float* dlogits, engine::LoraAdapter* grads) {
  lora_backward(model, adapter, acts, dlogits, grads, engine::default_thread_pool());
}

void lora_backward(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                   const LoraActivations& acts, const float* dlogits, engine::LoraAdapter* grads,
                   engine::ThreadPool& pool) {
  std::vector<float> dh(sz(acts.n, model.config().hidden_size), 0.0f);
  frozen_linear_input_grad(dh.data(), dlogits, model.lm_head(), acts.n, pool);
  lora_backward_from_hidden(model, adapter, acts, dh.data(), grads, pool);
}

void lora_backward_from_hidden(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                               const LoraActivations& acts, const float* dh_final,
                               engine::LoraAdapter* grads, engine::ThreadPool& pool) {
  const engine::HfConfig& c = model.config();
  const int64_t n = acts.n;
  const int64_t dim = c.hidden_size;
  const int64_t q_dim = c.num_heads * c.head_dim;
  const int64_t kv_dim = c.num_kv_heads * c.head_dim;
  const int64_t inter = c.intermediate_size;
  const int64_t rank = adapter.config().rank;
  const double scaling = adapter.scaling();
  const double eps = static_cast<float>(c.norm_eps);
  AttentionShape as;
  as.n_heads = c.num_heads;
  as.n_kv_heads = c.num_kv_heads;
  as.head_dim = c.head_dim;
  // The forward's float32 scale, so that the recomputed probabilities are the forward's.
  as.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  as.window = c.sliding_window;

  std::vector<float> dh;
  std::vector<float> dx;  // d loss / d the residual stream
  zero(&dx, sz(n, dim));
  rmsnorm_backward<float>(dx.data(), dh_final, acts.x_final.data(), model.final_norm().data(), n,
                          dim, eps);

  std::vector<float> d_act, d_gate, d_up, d_att, dq, dk, dv, d_raw;
  for (int64_t li = c.num_layers - 1; li >= 0; --li) {
    const engine::LlamaLayer& l = model.layers()[static_cast<size_t>(li)];
    const LoraLayerActivations& a = acts.layers[static_cast<size_t>(li)];
    auto pair = [&](engine::LoraTarget t) { return adapter.find(li, t); };
    auto grad = [&](engine::LoraTarget t) { return grads->find(li, t); };
    auto u = [&](engine::LoraTarget t) -> const std::vector<float>& {
      return a.lora_u[static_cast<size_t>(t)];
    };
    const bool first = li == 0;

    // x_out = x_mid + down(silu(gate(h_ffn)) * up(h_ffn)), h_ffn = rmsnorm(x_mid)
    zero(&d_act, sz(n, inter));
    adapted_linear_backward(d_act.data(), dx.data(), a.act.data(), n, l.w_down,
                            pair(engine::LoraTarget::DOWN_PROJ),
                            grad(engine::LoraTarget::DOWN_PROJ), u(engine::LoraTarget::DOWN_PROJ),
                            rank, scaling, true, pool);
    zero(&d_gate, sz(n, inter));
    zero(&d_up, sz(n, inter));
    swiglu_backward<float>(d_gate.data(), d_up.data(), d_act.data(), a.gate.data(), a.up.data(),
                           n * inter);
    zero(&dh, sz(n, dim));
    adapted_linear_backward(dh.data(), d_gate.data(), a.h_ffn.data(), n, l.w_gate,
                            pair(engine::LoraTarget::GATE_PROJ),
                            grad(engine::LoraTarget::GATE_PROJ), u(engine::LoraTarget::GATE_PROJ),
                            rank, scaling, true, pool);
    adapted_linear_backward(dh.data(), d_up.data(), a.h_ffn.data(), n, l.w_up,
                            pair(engine::LoraTarget::UP_PROJ), grad(engine::LoraTarget::UP_PROJ),
                            u(engine::LoraTarget::UP_PROJ), rank, scaling, true, pool);
    rmsnorm_backward<float>(dx.data(), dh.data(), a.x_mid.data(), l.ffn_norm.data(), n, dim, eps);

    // x_mid = x_in + o(attention(rope(q(h)), rope(k(h)), v(h))), h = rmsnorm(x_in)
    zero(&d_att, sz(n, q_dim));
    adapted_linear_backward(d_att.data(), dx.data(), a.att.data(), n, l.wo,
                            pair(engine::LoraTarget::O_PROJ), grad(engine::LoraTarget::O_PROJ),
                            u(engine::LoraTarget::O_PROJ), rank, scaling, true, pool);
    zero(&dq, sz(n, q_dim));
    zero(&dk, sz(n, kv_dim));
    zero(&dv, sz(n, kv_dim));
    attention_backward<float>(dq.data(), dk.data(), dv.data(), d_att.data(), a.q.data(), a.k.data(),
                              a.v.data(), n, as, pool);
    rope_rotate<float>(dq.data(), n, c.num_heads, c.head_dim, acts.rope, model.rope_pairing(),
                       true);
    rope_rotate<float>(dk.data(), n, c.num_kv_heads, c.head_dim, acts.rope, model.rope_pairing(),
                       true);
    if (c.qk_norm) {
      zero(&d_raw, sz(n, q_dim));
      rmsnorm_backward<float>(d_raw.data(), dq.data(), a.q_raw.data(), l.q_norm.data(),
                              n * c.num_heads, c.head_dim, eps);
      dq.swap(d_raw);
      zero(&d_raw, sz(n, kv_dim));
      rmsnorm_backward<float>(d_raw.data(), dk.data(), a.k_raw.data(), l.k_norm.data(),
                              n * c.num_kv_heads, c.head_dim, eps);
      dk.swap(d_raw);
    }
    zero(&dh, sz(n, dim));
    adapted_linear_backward(dh.data(), dq.data(), a.h_attn.data(), n, l.wq,
                            pair(engine::LoraTarget::Q_PROJ), grad(engine::LoraTarget::Q_PROJ),
                            u(engine::LoraTarget::Q_PROJ), rank, scaling, !first, pool);
    adapted_linear_backward(dh.data(), dk.data(), a.h_attn.data(), n, l.wk,
                            pair(engine::LoraTarget::K_PROJ), grad(engine::LoraTarget::K_PROJ),
                            u(engine::LoraTarget::K_PROJ), rank, scaling, !first, pool);
    adapted_linear_backward(dh.data(), dv.data(), a.h_attn.data(), n, l.wv,
                            pair(engine::LoraTarget::V_PROJ), grad(engine::LoraTarget::V_PROJ),
                            u(engine::LoraTarget::V_PROJ), rank, scaling, !first, pool);
    if (!first) {
      rmsnorm_backward<float>(dx.data(), dh.data(), a.x_in.data(), l.attn_norm.data(), n, dim, eps);
    }
  }
}

}  // namespace socle::train
