#include "engine/models/llama.h"

#include <cmath>
#include <filesystem>

#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/norm.h"
#include "engine/kernels/rope.h"
#include "engine/models/llama_gguf.h"

namespace socle::engine {
namespace {

const float* bias_or_null(const std::vector<float>& b) {
  return b.empty() ? nullptr : b.data();
}

void add_in_place(float* x, const float* y, size_t n) {
  for (size_t i = 0; i < n; ++i)
    x[i] += y[i];
}

}  // namespace

Result<LlamaModel> LlamaModel::load_gguf(const std::string& path) {
  SOCLE_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(path));
  SOCLE_ASSIGN_OR_RETURN(HfConfig config, llama_config_from_gguf(file));
  bool interleaved = std::string(llama_gguf_arch(config.family)) == "llama";
  LlamaModel model(std::move(config), WeightLoader(std::move(file), llama_hf_name));
  if (interleaved) model.rope_pairing_ = RopePairing::INTERLEAVED;
  SOCLE_RETURN_IF_ERROR(model.load_tensors());
  return model;
}

Result<LlamaModel> LlamaModel::load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return load_gguf(path);
  const std::string& dir = path;
  SOCLE_ASSIGN_OR_RETURN(HfConfig config, hf_config_read(dir));
  if (!model_family_is_decoder(config.family) || config.head != ModelHead::CAUSAL_LM) {
    return invalid_argument(dir + " holds a " + model_family_name(config.family) +
                            " model, not a llama-family causal language model");
  }
  if (config.activation != Activation::SILU) {
    return invalid_argument(dir + ": llama-family models gate their feed-forward with silu");
  }
  SOCLE_ASSIGN_OR_RETURN(SafetensorsModel tensors, SafetensorsModel::open_dir(dir));
  LlamaModel model(std::move(config), WeightLoader(std::move(tensors)));
  SOCLE_RETURN_IF_ERROR(model.load_tensors());
  return model;
}

Status LlamaModel::load_tensors() {
  const HfConfig& c = config_;
  int64_t q_dim = c.num_heads * c.head_dim;
  int64_t kv_dim = c.num_kv_heads * c.head_dim;
  SOCLE_ASSIGN_OR_RETURN(embed_,
                         weights_.matrix("model.embed_tokens.weight", c.vocab_size, c.hidden_size));
  if (c.tie_word_embeddings) {
    lm_head_ = embed_;
  } else {
    SOCLE_ASSIGN_OR_RETURN(lm_head_,
                           weights_.matrix("lm_head.weight", c.vocab_size, c.hidden_size));
  }
  SOCLE_ASSIGN_OR_RETURN(final_norm_, weights_.vector("model.norm.weight", c.hidden_size));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    LlamaLayer l;
    SOCLE_ASSIGN_OR_RETURN(l.attn_norm,
                           weights_.vector(p + "input_layernorm.weight", c.hidden_size));
    SOCLE_ASSIGN_OR_RETURN(l.wq,
                           weights_.matrix(p + "self_attn.q_proj.weight", q_dim, c.hidden_size));
    SOCLE_ASSIGN_OR_RETURN(l.wk,
                           weights_.matrix(p + "self_attn.k_proj.weight", kv_dim, c.hidden_size));
    SOCLE_ASSIGN_OR_RETURN(l.wv,
                           weights_.matrix(p + "self_attn.v_proj.weight", kv_dim, c.hidden_size));
    SOCLE_ASSIGN_OR_RETURN(l.wo,
                           weights_.matrix(p + "self_attn.o_proj.weight", c.hidden_size, q_dim));
    SOCLE_ASSIGN_OR_RETURN(
        l.bq, weights_.optional_vector(p + "self_attn.q_proj.bias", q_dim, c.attention_bias));
    SOCLE_ASSIGN_OR_RETURN(
        l.bk, weights_.optional_vector(p + "self_attn.k_proj.bias", kv_dim, c.attention_bias));
    SOCLE_ASSIGN_OR_RETURN(
        l.bv, weights_.optional_vector(p + "self_attn.v_proj.bias", kv_dim, c.attention_bias));
    SOCLE_ASSIGN_OR_RETURN(l.bo, weights_.optional_vector(p + "self_attn.o_proj.bias",
                                                          c.hidden_size, c.attention_out_bias));
    SOCLE_ASSIGN_OR_RETURN(
        l.q_norm, weights_.optional_vector(p + "self_attn.q_norm.weight", c.head_dim, c.qk_norm));
    SOCLE_ASSIGN_OR_RETURN(
        l.k_norm, weights_.optional_vector(p + "self_attn.k_norm.weight", c.head_dim, c.qk_norm));
    SOCLE_ASSIGN_OR_RETURN(l.ffn_norm,
                           weights_.vector(p + "post_attention_layernorm.weight", c.hidden_size));
    SOCLE_ASSIGN_OR_RETURN(
        l.w_gate, weights_.matrix(p + "mlp.gate_proj.weight", c.intermediate_size, c.hidden_size));
    SOCLE_ASSIGN_OR_RETURN(
        l.w_up, weights_.matrix(p + "mlp.up_proj.weight", c.intermediate_size, c.hidden_size));
    SOCLE_ASSIGN_OR_RETURN(
        l.w_down, weights_.matrix(p + "mlp.down_proj.weight", c.hidden_size, c.intermediate_size));
    SOCLE_ASSIGN_OR_RETURN(l.b_gate, weights_.optional_vector(p + "mlp.gate_proj.bias",
                                                              c.intermediate_size, c.mlp_bias));
    SOCLE_ASSIGN_OR_RETURN(
        l.b_up, weights_.optional_vector(p + "mlp.up_proj.bias", c.intermediate_size, c.mlp_bias));
    SOCLE_ASSIGN_OR_RETURN(
        l.b_down, weights_.optional_vector(p + "mlp.down_proj.bias", c.hidden_size, c.mlp_bias));
    layers_.push_back(std::move(l));
  }
  inv_freq_.resize(static_cast<size_t>(c.head_dim / 2));
  rope_inv_freq(inv_freq_.data(), c.head_dim, c.rope.theta);
  int64_t n_freq = c.head_dim / 2;
  switch (c.rope.type) {
    case RopeType::DEFAULT:
      break;
    case RopeType::LINEAR:
      rope_scale_linear(inv_freq_.data(), n_freq, c.rope.factor);
      break;
    case RopeType::LLAMA3:
      rope_scale_llama3(inv_freq_.data(), n_freq, c.rope.factor, c.rope.low_freq_factor,
                        c.rope.high_freq_factor,
                        static_cast<double>(c.rope.original_max_position_embeddings));
      break;
  }
  if (weights_.has(LLAMA_ROPE_FREQS)) {
    // GGUF's llama 3.1 scaling: each frequency divided by its factor.
    SOCLE_ASSIGN_OR_RETURN(auto factors, weights_.vector(LLAMA_ROPE_FREQS, n_freq));
    for (size_t i = 0; i < factors.size(); ++i)
      inv_freq_[i] /= factors[i];
  }
  return Status::ok();
}

KvCache LlamaModel::new_cache(int64_t capacity) const {
  return KvCache(config_.num_layers, capacity, config_.num_kv_heads * config_.head_dim);
}

Status LlamaModel::forward(std::span<const int32_t> tokens, KvCache& cache,
                           std::vector<float>* logits) const {
  const HfConfig& c = config_;
  auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) return invalid_argument("no tokens to run", "tokens");
  for (size_t t = 0; t < tokens.size(); ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.vocab_size) {
      return invalid_argument("token " + std::to_string(t) + " is " + std::to_string(tokens[t]) +
                                  ", outside the vocabulary of " + std::to_string(c.vocab_size),
                              "tokens");
    }
  }
  int64_t start = cache.size();
  if (start + n > cache.capacity()) {
    return invalid_argument("the sequence would hold " + std::to_string(start + n) +
                                " tokens, more than its cache's " +
                                std::to_string(cache.capacity()),
                            "tokens");
  }
  int64_t dim = c.hidden_size;
  int64_t q_dim = c.num_heads * c.head_dim;
  int64_t kv_dim = c.num_kv_heads * c.head_dim;
  auto size = [](int64_t a, int64_t b) { return static_cast<size_t>(a * b); };
  std::vector<float> x(size(n, dim));  // the residual stream
  std::vector<float> h(size(n, dim));  // normalised input of a sub-block
  std::vector<float> q(size(n, q_dim));
  std::vector<float> att(size(n, q_dim));
  std::vector<float> proj(size(n, dim));
  std::vector<float> gate(size(n, c.intermediate_size));
  std::vector<float> up(size(n, c.intermediate_size));
  for (int64_t t = 0; t < n; ++t)
    weight_row_to_f32(embed_, tokens[static_cast<size_t>(t)], &x[size(t, dim)]);

  AttentionParams ap;
  ap.n_heads = c.num_heads;
  ap.n_kv_heads = c.num_kv_heads;
  ap.head_dim = c.head_dim;
  ap.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  ap.causal = true;
  ap.q_pos0 = start;
  ap.window = c.sliding_window;
  auto eps = static_cast<float>(c.norm_eps);

  for (int64_t li = 0; li < c.num_layers; ++li) {
    const LlamaLayer& l = layers_[static_cast<size_t>(li)];
    rmsnorm(h.data(), x.data(), l.attn_norm.data(), n, dim, eps);
    // New keys and values go straight into the cache rows after the prefix.
    float* k = cache.keys(li) + start * kv_dim;
    float* v = cache.values(li) + start * kv_dim;
    matmul(q.data(), h.data(), l.wq, bias_or_null(l.bq), n);
    matmul(k, h.data(), l.wk, bias_or_null(l.bk), n);
    matmul(v, h.data(), l.wv, bias_or_null(l.bv), n);
    if (c.qk_norm) {
      rmsnorm(q.data(), q.data(), l.q_norm.data(), n * c.num_heads, c.head_dim, eps);
      rmsnorm(k, k, l.k_norm.data(), n * c.num_kv_heads, c.head_dim, eps);
    }
    for (int64_t t = 0; t < n; ++t) {
      rope_apply(&q[size(t, q_dim)], c.num_heads, c.head_dim, start + t, inv_freq_.data(),
                 rope_pairing_);
      rope_apply(k + t * kv_dim, c.num_kv_heads, c.head_dim, start + t, inv_freq_.data(),
                 rope_pairing_);
    }
    attention(att.data(), q.data(), cache.keys(li), cache.values(li), n, start + n, ap);
    matmul(proj.data(), att.data(), l.wo, bias_or_null(l.bo), n);
    add_in_place(x.data(), proj.data(), x.size());

    rmsnorm(h.data(), x.data(), l.ffn_norm.data(), n, dim, eps);
    matmul(gate.data(), h.data(), l.w_gate, bias_or_null(l.b_gate), n);
    matmul(up.data(), h.data(), l.w_up, bias_or_null(l.b_up), n);
    swiglu(gate.data(), up.data(), static_cast<int64_t>(gate.size()));
    matmul(proj.data(), gate.data(), l.w_down, bias_or_null(l.b_down), n);
    add_in_place(x.data(), proj.data(), x.size());
  }
  cache.advance(n);
  rmsnorm(h.data(), x.data(), final_norm_.data(), n, dim, eps);
  logits->resize(size(n, c.vocab_size));
  matmul(logits->data(), h.data(), lm_head_, nullptr, n);
  return Status::ok();
}

}  // namespace socle::engine
