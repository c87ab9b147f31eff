#include "engine/models/llama.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/norm.h"
#include "engine/kernels/rope.h"
#include "engine/lora/lora_apply.h"
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

std::string seq_name(size_t s) {
  return "sequence " + std::to_string(s);
}

// forward_batch's checks, all made before anything is written.
Status batch_check(const HfConfig& c, std::span<const BatchSequence> batch, const KvPool& pool) {
  if (batch.empty()) return invalid_argument("the batch holds no sequence", "batch");
  if (pool.n_layers() != c.num_layers || pool.n_kv_heads() != c.num_kv_heads ||
      pool.head_dim() != c.head_dim) {
    return invalid_argument("the KV pool holds " + std::to_string(pool.n_layers()) + " layers of " +
                                std::to_string(pool.n_kv_heads()) + " heads of " +
                                std::to_string(pool.head_dim()) + " values; this model needs " +
                                std::to_string(c.num_layers) + " layers of " +
                                std::to_string(c.num_kv_heads) + " heads of " +
                                std::to_string(c.head_dim) + " (make it with new_pool)",
                            "pool");
  }
  int64_t bs = pool.block_size();
  // (block id, written by this use, sequence): to find a written block used twice.
  struct Use {
    int32_t block;
    bool written;
    size_t seq;
  };
  std::vector<Use> uses;
  for (size_t s = 0; s < batch.size(); ++s) {
    const BatchSequence& b = batch[s];
    if (b.tokens.empty()) return invalid_argument(seq_name(s) + " has no new tokens", "tokens");
    for (size_t t = 0; t < b.tokens.size(); ++t) {
      if (b.tokens[t] < 0 || b.tokens[t] >= c.vocab_size) {
        return invalid_argument(seq_name(s) + ": token " + std::to_string(t) + " is " +
                                    std::to_string(b.tokens[t]) + ", outside the vocabulary of " +
                                    std::to_string(c.vocab_size),
                                "tokens");
      }
    }
    if (b.lora != nullptr) {
      Status fits = lora_fits(c, *b.lora);
      if (!fits.is_ok()) return invalid_argument(seq_name(s) + ": " + fits.message(), "lora");
    }
    if (b.pos0 < 0) {
      return invalid_argument(seq_name(s) + ": pos0 is " + std::to_string(b.pos0) +
                                  "; a count of positions is at least 0",
                              "pos0");
    }
    int64_t length = b.pos0 + static_cast<int64_t>(b.tokens.size());
    auto held = static_cast<int64_t>(b.blocks.size()) * bs;
    if (held < length) {
      return invalid_argument(seq_name(s) + ": its block table of " +
                                  std::to_string(b.blocks.size()) + " blocks of " +
                                  std::to_string(bs) + " positions holds " + std::to_string(held) +
                                  ", fewer than the " + std::to_string(length) +
                                  " the sequence reaches; reserve more blocks",
                              "blocks");
    }
    for (size_t i = 0; i < b.blocks.size(); ++i) {
      if (b.blocks[i] < 0 || b.blocks[i] >= pool.n_blocks()) {
        return invalid_argument(seq_name(s) + ": block table entry " + std::to_string(i) + " is " +
                                    std::to_string(b.blocks[i]) + ", outside the pool of " +
                                    std::to_string(pool.n_blocks()) + " blocks",
                                "blocks");
      }
    }
    auto first_written = static_cast<size_t>(b.pos0 / bs);
    auto used = static_cast<size_t>((length + bs - 1) / bs);
    for (size_t i = 0; i < used; ++i)
      uses.push_back({b.blocks[i], i >= first_written, s});
  }
  std::sort(uses.begin(), uses.end(), [](const Use& a, const Use& b) {
    return a.block != b.block ? a.block < b.block : a.written > b.written;
  });
  for (size_t i = 1; i < uses.size(); ++i) {
    const Use& a = uses[i - 1];
    const Use& b = uses[i];
    if (a.block == b.block && a.written) {
      return invalid_argument("block " + std::to_string(a.block) + " is written by " +
                                  seq_name(a.seq) + " and used again by " + seq_name(b.seq) +
                                  "; a block being written belongs to one place of one table",
                              "blocks");
    }
  }
  return Status::ok();
}

}  // namespace

Result<LlamaModel> LlamaModel::load_gguf(const std::string& path, std::optional<DType> quantize) {
  SOCLE_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(path));
  SOCLE_ASSIGN_OR_RETURN(HfConfig config, llama_config_from_gguf(file));
  bool interleaved = std::string(llama_gguf_arch(config.family)) == "llama";
  LlamaModel model(std::move(config), WeightLoader(std::move(file), llama_hf_name));
  if (interleaved) model.rope_pairing_ = RopePairing::INTERLEAVED;
  if (quantize) model.weights_.quantize_matrices_to(*quantize);
  SOCLE_RETURN_IF_ERROR(model.load_tensors());
  return model;
}

Result<LlamaModel> LlamaModel::load(const std::string& path, std::optional<DType> quantize) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return load_gguf(path, quantize);
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
  if (quantize) model.weights_.quantize_matrices_to(*quantize);
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
    for (WeightView* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
      weights_.pack_for_matmul(w);
    layers_.push_back(std::move(l));
  }
  // The output head only: the embedding table's rows are looked up as stored.
  weights_.pack_for_matmul(&lm_head_);
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
  return KvCache(config_.num_layers, capacity, config_.num_kv_heads, config_.head_dim);
}

KvPool LlamaModel::new_pool(int64_t n_blocks, int64_t block_size, DType type) const {
  return KvPool(config_.num_layers, n_blocks, block_size, config_.num_kv_heads, config_.head_dim,
                type);
}

Status LlamaModel::forward(std::span<const int32_t> tokens, KvCache& cache,
                           std::vector<float>* logits) const {
  auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) return invalid_argument("no tokens to run", "tokens");
  if (cache.size() + n > cache.capacity()) {
    return invalid_argument("the sequence would hold " + std::to_string(cache.size() + n) +
                                " tokens, more than its cache's " +
                                std::to_string(cache.capacity()),
                            "tokens");
  }
  static constexpr int32_t ONLY_BLOCK = 0;
  BatchSequence seq;
  seq.tokens = tokens;
  seq.pos0 = cache.size();
  seq.blocks = {&ONLY_BLOCK, 1};
  seq.all_logits = true;
  SOCLE_RETURN_IF_ERROR(forward_batch({&seq, 1}, cache.pool(), default_thread_pool(), logits));
  cache.advance(n);
  return Status::ok();
}

Status LlamaModel::forward_batch(std::span<const BatchSequence> batch, KvPool& pool,
                                 ThreadPool& threads, std::vector<float>* logits) const {
  SOCLE_RETURN_IF_ERROR(batch_check(config_, batch, pool));
  const HfConfig& c = config_;
  const KernelPath path = kernel_path_active();
  int64_t dim = c.hidden_size;
  int64_t q_dim = c.num_heads * c.head_dim;
  int64_t kv_dim = c.num_kv_heads * c.head_dim;
  int64_t bs = pool.block_size();
  auto size = [](int64_t a, int64_t b) { return static_cast<size_t>(a * b); };

  // The batch's tokens as rows, sequence after sequence; row_pos[r] is row r's position in
  // its sequence; first_row[s] is sequence s's first row.
  std::vector<int64_t> first_row(batch.size() + 1, 0);
  for (size_t s = 0; s < batch.size(); ++s)
    first_row[s + 1] = first_row[s] + static_cast<int64_t>(batch[s].tokens.size());
  int64_t n = first_row.back();
  std::vector<int64_t> row_pos(static_cast<size_t>(n));
  std::vector<const LoraAdapter*> row_lora(static_cast<size_t>(n));
  std::vector<float> x(size(n, dim));  // the residual stream
  for (size_t s = 0; s < batch.size(); ++s) {
    for (int64_t t = 0; t < static_cast<int64_t>(batch[s].tokens.size()); ++t) {
      int64_t r = first_row[s] + t;
      row_pos[static_cast<size_t>(r)] = batch[s].pos0 + t;
      row_lora[static_cast<size_t>(r)] = batch[s].lora;
      weight_row_to_f32(embed_, batch[s].tokens[static_cast<size_t>(t)], &x[size(r, dim)]);
    }
  }
  std::vector<float> h(size(n, dim));  // normalised input of a sub-block
  std::vector<float> q(size(n, q_dim));
  std::vector<float> k(size(n, kv_dim));  // the new keys, before they go to their blocks
  std::vector<float> v(size(n, kv_dim));
  std::vector<float> att(size(n, q_dim));
  std::vector<float> proj(size(n, dim));
  std::vector<float> gate(size(n, c.intermediate_size));
  std::vector<float> up(size(n, c.intermediate_size));

  AttentionParams ap;
  ap.n_heads = c.num_heads;
  ap.n_kv_heads = c.num_kv_heads;
  ap.head_dim = c.head_dim;
  ap.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  ap.causal = true;
  ap.window = c.sliding_window;
  // Each sequence's block pointers for the layer at hand: its slice of k_blocks, v_blocks.
  std::vector<size_t> first_block(batch.size() + 1, 0);
  std::vector<AttentionSeq> seqs(batch.size());
  for (size_t s = 0; s < batch.size(); ++s) {
    const BatchSequence& b = batch[s];
    seqs[s].out = &att[size(first_row[s], q_dim)];
    seqs[s].q = &q[size(first_row[s], q_dim)];
    seqs[s].n_q = static_cast<int64_t>(b.tokens.size());
    seqs[s].q_pos0 = b.pos0;
    seqs[s].n_kv = b.pos0 + seqs[s].n_q;
    first_block[s + 1] = first_block[s] + static_cast<size_t>((seqs[s].n_kv + bs - 1) / bs);
  }
  std::vector<const void*> k_blocks(first_block.back());
  std::vector<const void*> v_blocks(first_block.back());
  for (size_t s = 0; s < batch.size(); ++s) {
    size_t used = first_block[s + 1] - first_block[s];
    seqs[s].kv = KvBlocks{{&k_blocks[first_block[s]], used},
                          {&v_blocks[first_block[s]], used},
                          bs,
                          pool.head_stride(),
                          c.head_dim,
                          pool.type()};
  }
  auto eps = static_cast<float>(c.norm_eps);
  // Each adapter's rows, and the projections with their adapters' updates added.
  const std::vector<LoraRows> lora_groups = lora_group_rows(row_lora);
  int64_t li = 0;
  auto project = [&](float* y, const float* in, const WeightView& w, const std::vector<float>& b,
                     LoraTarget target) {
    matmul(y, in, w, bias_or_null(b), n, path, threads);
    if (!lora_groups.empty()) lora_add(y, in, lora_groups, li, target, path, threads);
  };

  for (li = 0; li < c.num_layers; ++li) {
    const LlamaLayer& l = layers_[static_cast<size_t>(li)];
    rmsnorm(h.data(), x.data(), l.attn_norm.data(), n, dim, eps, path, threads);
    project(q.data(), h.data(), l.wq, l.bq, LoraTarget::Q_PROJ);
    project(k.data(), h.data(), l.wk, l.bk, LoraTarget::K_PROJ);
    project(v.data(), h.data(), l.wv, l.bv, LoraTarget::V_PROJ);
    if (c.qk_norm) {
      rmsnorm(q.data(), q.data(), l.q_norm.data(), n * c.num_heads, c.head_dim, eps, path, threads);
      rmsnorm(k.data(), k.data(), l.k_norm.data(), n * c.num_kv_heads, c.head_dim, eps, path,
              threads);
    }
    for (int64_t r = 0; r < n; ++r) {
      int64_t pos = row_pos[static_cast<size_t>(r)];
      rope_apply(&q[size(r, q_dim)], c.num_heads, c.head_dim, pos, inv_freq_.data(), rope_pairing_,
                 path);
      rope_apply(&k[size(r, kv_dim)], c.num_kv_heads, c.head_dim, pos, inv_freq_.data(),
                 rope_pairing_, path);
    }
    // The new keys and values into their sequences' blocks, then attention over the blocks.
    for (size_t s = 0; s < batch.size(); ++s) {
      const BatchSequence& b = batch[s];
      for (int64_t r = first_row[s]; r < first_row[s + 1]; ++r) {
        int64_t pos = row_pos[static_cast<size_t>(r)];
        int32_t block = b.blocks[static_cast<size_t>(pos / bs)];
        pool.write(li, block, pos % bs, &k[size(r, kv_dim)], &v[size(r, kv_dim)], path);
      }
      for (size_t i = 0; i < first_block[s + 1] - first_block[s]; ++i) {
        k_blocks[first_block[s] + i] = pool.keys(li, b.blocks[i]);
        v_blocks[first_block[s] + i] = pool.values(li, b.blocks[i]);
      }
    }
    attention_paged(seqs, ap, path, threads);
    project(proj.data(), att.data(), l.wo, l.bo, LoraTarget::O_PROJ);
    add_in_place(x.data(), proj.data(), x.size());

    rmsnorm(h.data(), x.data(), l.ffn_norm.data(), n, dim, eps, path, threads);
    project(gate.data(), h.data(), l.w_gate, l.b_gate, LoraTarget::GATE_PROJ);
    project(up.data(), h.data(), l.w_up, l.b_up, LoraTarget::UP_PROJ);
    swiglu(gate.data(), up.data(), static_cast<int64_t>(gate.size()), path, threads);
    project(proj.data(), gate.data(), l.w_down, l.b_down, LoraTarget::DOWN_PROJ);
    add_in_place(x.data(), proj.data(), x.size());
  }

  // Only the rows whose logits are asked for go through the final norm and the output
  // matrix: every row is computed on its own, so leaving the others out changes no bits.
  std::vector<int64_t> out_rows;
  for (size_t s = 0; s < batch.size(); ++s) {
    for (int64_t r = batch[s].all_logits ? first_row[s] : first_row[s + 1] - 1;
         r < first_row[s + 1]; ++r)
      out_rows.push_back(r);
  }
  auto n_out = static_cast<int64_t>(out_rows.size());
  for (int64_t i = 0; i < n_out; ++i) {
    if (out_rows[static_cast<size_t>(i)] != i) {
      std::copy_n(&x[size(out_rows[static_cast<size_t>(i)], dim)], dim, &x[size(i, dim)]);
    }
  }
  rmsnorm(h.data(), x.data(), final_norm_.data(), n_out, dim, eps, path, threads);
  logits->resize(size(n_out, c.vocab_size));
  matmul(logits->data(), h.data(), lm_head_, nullptr, n_out, path, threads);
  return Status::ok();
}

}  // namespace socle::engine
