#include "train/lora_forward.h"

#include <cmath>

#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/norm.h"
#include "engine/kernels/rope.h"
#include "engine/lora/lora_apply.h"

namespace socle::train {
namespace {

size_t sz(int64_t a, int64_t b) {
  return static_cast<size_t>(a * b);
}

const float* bias_or_null(const std::vector<float>& b) {
  return b.empty() ? nullptr : b.data();
}

// y = x W^T + bias + scaling * (x A^T) B^T; u = x A^T kept for the backward.
void adapted_linear(float* y, const float* x, int64_t n, const engine::WeightView& w,
                    const std::vector<float>& bias, const engine::LoraPair* pair, int64_t rank,
                    double scaling, std::vector<float>* u, std::vector<float>* scratch,
                    engine::ThreadPool& pool) {
  const engine::KernelPath path = engine::kernel_path_active();
  engine::matmul(y, x, w, bias_or_null(bias), n, path, pool);
  if (pair == nullptr) return;
  u->resize(sz(n, rank));
  engine::WeightView a{engine::DType::F32, pair->a.data(), rank, w.cols};
  engine::WeightView b{engine::DType::F32, pair->b.data(), w.rows, rank};
  engine::matmul(u->data(), x, a, nullptr, n, path, pool);
  scratch->resize(sz(n, w.rows));
  engine::matmul(scratch->data(), u->data(), b, nullptr, n, path, pool);
  auto s = static_cast<float>(scaling);
  for (size_t i = 0; i < scratch->size(); ++i)
    y[i] += s * (*scratch)[i];
}

}  // namespace

Status lora_check_fits(const engine::LlamaModel& model, const engine::LoraAdapter& adapter) {
  return engine::lora_fits(model.config(), adapter);
}

Status lora_forward(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                    std::span<const int32_t> tokens, LoraActivations* acts,
                    std::vector<float>* logits) {
  return lora_forward(model, adapter, tokens, acts, logits, engine::default_thread_pool());
}

Status lora_forward(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                    std::span<const int32_t> tokens, LoraActivations* acts,
                    std::vector<float>* logits, engine::ThreadPool& pool) {
  SOCLE_RETURN_IF_ERROR(lora_forward_hidden(model, adapter, tokens, acts, pool));
  logits->resize(sz(acts->n, model.config().vocab_size));
  engine::matmul(logits->data(), acts->h_final.data(), model.lm_head(), nullptr, acts->n,
                 engine::kernel_path_active(), pool);
  return Status::ok();
}

Status lora_forward_hidden(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                           std::span<const int32_t> tokens, LoraActivations* acts,
                           engine::ThreadPool& pool) {
  const engine::KernelPath path = engine::kernel_path_active();
  const engine::HfConfig& c = model.config();
  auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) return invalid_argument("an example has no tokens", "tokens");
  for (size_t t = 0; t < tokens.size(); ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.vocab_size) {
      return invalid_argument("token " + std::to_string(t) + " is " + std::to_string(tokens[t]) +
                                  ", outside the vocabulary of " + std::to_string(c.vocab_size),
                              "tokens");
    }
  }
  SOCLE_RETURN_IF_ERROR(lora_check_fits(model, adapter));
  const int64_t dim = c.hidden_size;
  const int64_t q_dim = c.num_heads * c.head_dim;
  const int64_t kv_dim = c.num_kv_heads * c.head_dim;
  const int64_t inter = c.intermediate_size;
  const int64_t rank = adapter.config().rank;
  const double scaling = adapter.scaling();
  const auto eps = static_cast<float>(c.norm_eps);

  acts->n = n;
  acts->layers.resize(static_cast<size_t>(c.num_layers));
  acts->rope = rope_table(n, c.head_dim, model.inv_freq().data());
  std::vector<float> x(sz(n, dim));
  std::vector<float> proj(sz(n, dim));
  std::vector<float> scratch;
  for (int64_t t = 0; t < n; ++t)
    engine::weight_row_to_f32(model.embed(), tokens[static_cast<size_t>(t)], &x[sz(t, dim)]);

  engine::AttentionParams ap;
  ap.n_heads = c.num_heads;
  ap.n_kv_heads = c.num_kv_heads;
  ap.head_dim = c.head_dim;
  ap.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  ap.causal = true;
  ap.q_pos0 = 0;
  ap.window = c.sliding_window;

  for (int64_t li = 0; li < c.num_layers; ++li) {
    const engine::LlamaLayer& l = model.layers()[static_cast<size_t>(li)];
    LoraLayerActivations& a = acts->layers[static_cast<size_t>(li)];
    auto lora = [&](engine::LoraTarget t) { return adapter.find(li, t); };
    auto u = [&](engine::LoraTarget t) { return &a.lora_u[static_cast<size_t>(t)]; };
    a.x_in = x;
    a.h_attn.resize(sz(n, dim));
    engine::rmsnorm(a.h_attn.data(), x.data(), l.attn_norm.data(), n, dim, eps, path, pool);
    a.q.resize(sz(n, q_dim));
    a.k.resize(sz(n, kv_dim));
    a.v.resize(sz(n, kv_dim));
    adapted_linear(a.q.data(), a.h_attn.data(), n, l.wq, l.bq, lora(engine::LoraTarget::Q_PROJ),
                   rank, scaling, u(engine::LoraTarget::Q_PROJ), &scratch, pool);
    adapted_linear(a.k.data(), a.h_attn.data(), n, l.wk, l.bk, lora(engine::LoraTarget::K_PROJ),
                   rank, scaling, u(engine::LoraTarget::K_PROJ), &scratch, pool);
    adapted_linear(a.v.data(), a.h_attn.data(), n, l.wv, l.bv, lora(engine::LoraTarget::V_PROJ),
                   rank, scaling, u(engine::LoraTarget::V_PROJ), &scratch, pool);
    if (c.qk_norm) {
      a.q_raw = a.q;
      a.k_raw = a.k;
      engine::rmsnorm(a.q.data(), a.q_raw.data(), l.q_norm.data(), n * c.num_heads, c.head_dim, eps,
                      path, pool);
      engine::rmsnorm(a.k.data(), a.k_raw.data(), l.k_norm.data(), n * c.num_kv_heads, c.head_dim,
                      eps, path, pool);
    }
    for (int64_t t = 0; t < n; ++t) {
      engine::rope_apply(&a.q[sz(t, q_dim)], c.num_heads, c.head_dim, t, model.inv_freq().data(),
                         model.rope_pairing());
      engine::rope_apply(&a.k[sz(t, kv_dim)], c.num_kv_heads, c.head_dim, t,
                         model.inv_freq().data(), model.rope_pairing());
    }
    a.att.resize(sz(n, q_dim));
    engine::attention(a.att.data(), a.q.data(), a.k.data(), a.v.data(), n, n, ap, path, pool);
    adapted_linear(proj.data(), a.att.data(), n, l.wo, l.bo, lora(engine::LoraTarget::O_PROJ), rank,
                   scaling, u(engine::LoraTarget::O_PROJ), &scratch, pool);
    for (size_t i = 0; i < x.size(); ++i)
      x[i] += proj[i];

    a.x_mid = x;
    a.h_ffn.resize(sz(n, dim));
    engine::rmsnorm(a.h_ffn.data(), x.data(), l.ffn_norm.data(), n, dim, eps, path, pool);
    a.gate.resize(sz(n, inter));
    a.up.resize(sz(n, inter));
    adapted_linear(a.gate.data(), a.h_ffn.data(), n, l.w_gate, l.b_gate,
                   lora(engine::LoraTarget::GATE_PROJ), rank, scaling,
                   u(engine::LoraTarget::GATE_PROJ), &scratch, pool);
    adapted_linear(a.up.data(), a.h_ffn.data(), n, l.w_up, l.b_up,
                   lora(engine::LoraTarget::UP_PROJ), rank, scaling, u(engine::LoraTarget::UP_PROJ),
                   &scratch, pool);
    a.act = a.gate;
    engine::swiglu(a.act.data(), a.up.data(), static_cast<int64_t>(a.act.size()), path, pool);
    adapted_linear(proj.data(), a.act.data(), n, l.w_down, l.b_down,
                   lora(engine::LoraTarget::DOWN_PROJ), rank, scaling,
                   u(engine::LoraTarget::DOWN_PROJ), &scratch, pool);
    for (size_t i = 0; i < x.size(); ++i)
      x[i] += proj[i];
  }
  acts->x_final = x;
  acts->h_final.resize(sz(n, dim));
  engine::rmsnorm(acts->h_final.data(), x.data(), model.final_norm().data(), n, dim, eps, path,
                  pool);
  return Status::ok();
}

}  // namespace socle::train
