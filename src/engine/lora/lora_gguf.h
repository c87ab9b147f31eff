// A LoRA adapter as the GGUF file llama.cpp loads next to its base model (llama-cli --lora,
// llama_adapter_lora_init): general.type "adapter", adapter.type "lora", adapter.lora.alpha,
// and per adapted projection two float32 tensors named after the base tensor,
// blk.<i>.<attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down>.weight.lora_a (ggml
// dims {in, rank}: PEFT's A) and .lora_b ({rank, out}: PEFT's B). llama.cpp scales B (A x)
// by alpha / rank, so an rsLoRA adapter's alpha is written as alpha * sqrt(rank).
// For the "llama" architecture, whose GGUF q and k rows are permuted (llama_gguf.h), the rows
// of B for q and k are permuted the same way, so that the update lands on the rows it adapts.
#pragma once

#include <string>

#include "base/status.h"
#include "engine/format/hf_config.h"
#include "engine/lora/lora_adapter.h"

namespace socle::engine {

// llama.cpp's name of the base tensor a target adapts in `layer`: "blk.3.attn_q.weight".
std::string lora_gguf_base_name(int64_t layer, LoraTarget target);

// Writes `adapter` for a base model of `base`'s shapes (a llama-family decoder) to `path`,
// atomically. INVALID_ARGUMENT if the adapter does not fit the base (lora_fits) or the base
// is not a llama-family decoder.
Status lora_write_gguf(const LoraAdapter& adapter, const HfConfig& base, const std::string& path);

}  // namespace socle::engine
