// The forward pass of a llama-family decoder with a LoRA adapter, for training: the same
// computation as LlamaModel::forward from position 0 (on the engine's kernels), with
// y = W x + scaling * B (A x) on every adapted projection, keeping what lora_backward needs.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "engine/kernels/thread_pool.h"
#include "engine/lora/lora_adapter.h"
#include "engine/models/llama.h"
#include "train/grad_rope.h"

namespace socle::train {

// What one decoder block keeps for its backward. n is the sequence's length.
struct LoraLayerActivations {
  std::vector<float> x_in;          // (n, hidden): the residual stream entering the block
  std::vector<float> h_attn;        // (n, hidden): rmsnorm(x_in), the q/k/v projections' input
  std::vector<float> q_raw, k_raw;  // (n, q_dim), (n, kv_dim): before the per-head norm (qwen3)
  std::vector<float> q, k, v;       // (n, q_dim), (n, kv_dim) x 2: q and k rotated
  std::vector<float> att;           // (n, q_dim): attention's output, o_proj's input
  std::vector<float> x_mid;         // (n, hidden): the residual after attention
  std::vector<float> h_ffn;         // (n, hidden): rmsnorm(x_mid)
  std::vector<float> gate, up;      // (n, intermediate): the projections, before gating
  std::vector<float> act;           // (n, intermediate): silu(gate) * up, down_proj's input
  // (n, rank): A x of each adapted projection (empty for the others), indexed by
  // engine::LoraTarget.
  std::array<std::vector<float>, engine::LORA_TARGET_COUNT> lora_u;
};

struct LoraActivations {
  int64_t n = 0;
  std::vector<LoraLayerActivations> layers;
  std::vector<float> x_final;  // (n, hidden): the residual stream before the final norm
  std::vector<float> h_final;  // (n, hidden): lm_head's input
  RopeTable rope;              // positions 0 .. n - 1
};

// Runs `tokens` (positions 0 .. n - 1) through `model` with `adapter` applied.
// logits: resized to (n, vocab); acts: filled for lora_backward.
// INVALID_ARGUMENT for no tokens, a token outside the vocabulary, or an adapter made for
// other shapes.
// The matmuls and attention split their output rows over `pool` (bitwise the same result for
// any thread count); without it, over the engine's default pool.
Status lora_forward(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                    std::span<const int32_t> tokens, LoraActivations* acts,
                    std::vector<float>* logits, engine::ThreadPool& pool);
Status lora_forward(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                    std::span<const int32_t> tokens, LoraActivations* acts,
                    std::vector<float>* logits);

// The same up to the output head: acts filled (h_final included), no logits, so that a
// caller can run the head on the rows it needs (the trainer: trained positions only). Each
// row of the engine's matmul is computed alone, so those rows' logits are the bits
// lora_forward gives.
Status lora_forward_hidden(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                           std::span<const int32_t> tokens, LoraActivations* acts,
                           engine::ThreadPool& pool);

// INVALID_ARGUMENT unless `adapter` fits `model` (layer count and every projection's shape).
Status lora_check_fits(const engine::LlamaModel& model, const engine::LoraAdapter& adapter);

}  // namespace socle::train
