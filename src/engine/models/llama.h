// The llama family of decoders (llama 2 and 3.x, mistral, qwen2, qwen3) from a Hugging Face
// folder: pre-norm blocks of grouped-query attention with rotary embeddings and a SwiGLU
// feed-forward, RMSNorm throughout. Variants: bias on q/k/v (qwen2), RMSNorm per head on q
// and k (qwen3), an explicit head_dim, tied input and output embeddings, llama3 rope
// scaling, a sliding window (mistral).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/format/hf_config.h"
#include "engine/kernels/rope.h"
#include "engine/kernels/thread_pool.h"
#include "engine/kernels/weight.h"
#include "engine/kv/kv_pool.h"
#include "engine/lora/lora_adapter.h"
#include "engine/models/kv_cache.h"
#include "engine/models/weight_loader.h"

namespace socle::engine {

// One decoder block's weights, as loaded (read-only once the model is built).
struct LlamaLayer {
  std::vector<float> attn_norm;   // (hidden)
  WeightView wq;                  // (n_heads * head_dim, hidden)
  WeightView wk;                  // (n_kv_heads * head_dim, hidden)
  WeightView wv;                  // (n_kv_heads * head_dim, hidden)
  WeightView wo;                  // (hidden, n_heads * head_dim)
  std::vector<float> bq, bk, bv;  // (n_heads * head_dim), (kv_dim), (kv_dim); empty if none
  std::vector<float> bo;          // (hidden); empty if none
  std::vector<float> q_norm;      // (head_dim); qwen3 only
  std::vector<float> k_norm;      // (head_dim); qwen3 only
  std::vector<float> ffn_norm;    // (hidden)
  WeightView w_gate;              // (intermediate, hidden)
  WeightView w_up;                // (intermediate, hidden)
  WeightView w_down;              // (hidden, intermediate)
  std::vector<float> b_gate, b_up, b_down;  // empty unless mlp_bias
};

// One sequence's part of a batched forward pass (LlamaModel::forward_batch).
struct BatchSequence {
  std::span<const int32_t> tokens;  // new tokens, at positions pos0, pos0 + 1, ...
  int64_t pos0 = 0;                 // positions already in this sequence's blocks
  std::span<const int32_t> blocks;  // block table: block i holds positions [i*bs, (i+1)*bs);
                                    // covers at least pos0 + tokens.size() positions
  bool all_logits = false;          // logits for every new token, else for the last one only
  // Applied to this sequence's rows alone: y = W x + scaling * B (A x) on each projection it
  // adapts. nullptr: the base model. Must fit the model (lora_fits) and outlive the call.
  const LoraAdapter* lora = nullptr;
};

class LlamaModel {
 public:
  // Reads a GGUF file (`path` is a regular file) or a Hugging Face folder (`path`/config.json
  // and the safetensors weights next to it). INVALID_ARGUMENT if the model is not a
  // llama-family decoder or a tensor is missing or misshapen.
  // `quantize`: float matrices are quantised to that type as they load
  // (WeightLoader::quantize_matrices_to); matrices the file stores quantised stay as they are.
  static Result<LlamaModel> load(const std::string& path,
                                 std::optional<DType> quantize = std::nullopt);
  // Reads a GGUF file written as llama.cpp writes llama, qwen2 and qwen3 models
  // (engine/models/llama_gguf.h), in any weight type.
  static Result<LlamaModel> load_gguf(const std::string& path,
                                      std::optional<DType> quantize = std::nullopt);

  const HfConfig& config() const { return config_; }

  // A cache for one sequence of up to `capacity` tokens.
  KvCache new_cache(int64_t capacity) const;

  // Runs `tokens` after the cache's contents, appends their keys and values to it, and
  // writes the next-token logits after each of them.
  // logits: resized to (tokens.size(), vocab_size)
  // INVALID_ARGUMENT for an empty input, a token id outside the vocabulary, or more tokens
  // than the cache has room for; the cache is unchanged then.
  // Runs on forward_batch with the cache as a one-block pool and default_thread_pool().
  Status forward(std::span<const int32_t> tokens, KvCache& cache, std::vector<float>* logits) const;

  // KvPool sized for this model, its values of `type` (DType::F32 or DType::F16).
  KvPool new_pool(int64_t n_blocks, int64_t block_size, DType type = DType::F32) const;

  // Runs every sequence's new tokens in one pass: the linear layers over all tokens of the
  // batch together (weights read once per step), attention per sequence over its own blocks.
  // Writes the new keys/values into the blocks at positions pos0.. (blocks before pos0's
  // block are only read, so full blocks can be shared read-only between sequences: the
  // prefix cache). Logits rows: sequence by sequence in order, every new token's row if
  // all_logits else the last one's.
  // logits: resized to (rows, vocab_size)
  // Batch invariance: for the same kernel path and thread count, a sequence's logits are the
  // same bits whatever else is in the batch (other sequences, with or without adapters),
  // however its tokens were split over passes, and whichever blocks hold its keys and values.
  // INVALID_ARGUMENT (nothing written) for an empty batch or sequence, a token outside the
  // vocabulary, an adapter that does not fit the model, a negative pos0, a block table too short, a
  // block id outside the pool, a pool of another shape than the model's, or a block that one
  // sequence writes and another entry of a table (its own or another sequence's) also uses. Every
  // kernel runs on kernel_path_active() and `threads`.
  Status forward_batch(std::span<const BatchSequence> batch, KvPool& pool, ThreadPool& threads,
                       std::vector<float>* logits) const;

  // The weights, for the trainer's own passes over them.
  const std::vector<LlamaLayer>& layers() const { return layers_; }
  const WeightView& embed() const { return embed_; }
  const WeightView& lm_head() const { return lm_head_; }
  const std::vector<float>& final_norm() const { return final_norm_; }
  const std::vector<float>& inv_freq() const { return inv_freq_; }  // (head_dim / 2)
  RopePairing rope_pairing() const { return rope_pairing_; }

 private:
  LlamaModel(HfConfig config, WeightLoader weights)
      : config_(std::move(config)), weights_(std::move(weights)) {}
  Status load_tensors();

  HfConfig config_;
  WeightLoader weights_;
  WeightView embed_;               // (vocab, hidden)
  WeightView lm_head_;             // (vocab, hidden); embed_ when tied
  std::vector<float> final_norm_;  // (hidden)
  std::vector<float> inv_freq_;    // (head_dim / 2), scaling applied
  // HALF for Hugging Face's layout; INTERLEAVED for GGUF's llama, whose q and k rows the
  // converter permuted.
  RopePairing rope_pairing_ = RopePairing::HALF;
  std::vector<LlamaLayer> layers_;
};

}  // namespace socle::engine
