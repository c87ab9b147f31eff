// The backward pass of a llama-family decoder with a LoRA adapter: from d loss / d logits,
// through lm_head and the final RMSNorm, then each block in reverse (the SwiGLU feed-forward,
// RMSNorm, attention with grouped-query heads, RoPE, the optional per-head norm, the frozen
// projections' input gradients and the LoRA matrices), to d loss / d every A and B.
#pragma once

#include "base/status.h"
#include "engine/kernels/thread_pool.h"
#include "engine/lora/lora_adapter.h"
#include "engine/models/llama.h"
#include "train/lora_forward.h"

namespace socle::train {

// Adds d loss / d A and d loss / d B of every adapted projection into `grads` (an adapter of
// the same shapes, e.g. adapter.zeros_like()), given `acts` from lora_forward of the same
// model and adapter, and d loss / d logits.
// dlogits: (acts.n, vocab)
// The matmuls and attention split their output rows (or heads) over `pool`, bitwise the same
// result for any thread count; without it, over the engine's default pool.
void lora_backward(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                   const LoraActivations& acts, const float* dlogits, engine::LoraAdapter* grads,
                   engine::ThreadPool& pool);
void lora_backward(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                   const LoraActivations& acts, const float* dlogits, engine::LoraAdapter* grads);

// The same from d loss / d the output head's input (the caller ran the head's backward).
// dh_final: (acts.n, hidden)
void lora_backward_from_hidden(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                               const LoraActivations& acts, const float* dh_final,
                               engine::LoraAdapter* grads, engine::ThreadPool& pool);

}  // namespace socle::train
