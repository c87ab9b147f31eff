// A random one-layer llama written as a Hugging Face folder (config.json and F32
// model.safetensors) whose rows (256 and 512 values) fit the K-quants' 256-value
// super-blocks, so that Q4_K and Q6_K run in the model rather than their fallbacks. Weights
// have scale 1/sqrt(columns) (unit-variance outputs) and norms sit around 1.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "base/file.h"
#include "engine/format/safetensors_writer.h"
#include "unit/engine/kernels/random.h"

namespace socle::engine::testing {

struct RandomLlama {
  int64_t vocab = 64;
  uint32_t seed = 77;
  // The output head's weights are scaled by this: above 1, the next-token distribution has
  // peaks as a trained model's has.
  float logit_scale = 1.0f;
};

inline void write_random_llama(const std::string& dir, const RandomLlama& spec) {
  constexpr int64_t HIDDEN = 256, FFN = 512, HEADS = 4, KV_HEADS = 2, HEAD_DIM = 64;
  std::string config = R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "vocab_size": )" + std::to_string(spec.vocab) +
                       R"(, "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 1,
    "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128,
    "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
    "tie_word_embeddings": false})";
  ASSERT_TRUE(write_file_atomic(dir + "/config.json", config).is_ok());
  const std::pair<const char*, std::vector<int64_t>> shapes[] = {
      {"model.embed_tokens.weight", {spec.vocab, HIDDEN}},
      {"lm_head.weight", {spec.vocab, HIDDEN}},
      {"model.norm.weight", {HIDDEN}},
      {"model.layers.0.input_layernorm.weight", {HIDDEN}},
      {"model.layers.0.post_attention_layernorm.weight", {HIDDEN}},
      {"model.layers.0.self_attn.q_proj.weight", {HEADS * HEAD_DIM, HIDDEN}},
      {"model.layers.0.self_attn.k_proj.weight", {KV_HEADS * HEAD_DIM, HIDDEN}},
      {"model.layers.0.self_attn.v_proj.weight", {KV_HEADS * HEAD_DIM, HIDDEN}},
      {"model.layers.0.self_attn.o_proj.weight", {HIDDEN, HEADS * HEAD_DIM}},
      {"model.layers.0.mlp.gate_proj.weight", {FFN, HIDDEN}},
      {"model.layers.0.mlp.up_proj.weight", {FFN, HIDDEN}},
      {"model.layers.0.mlp.down_proj.weight", {HIDDEN, FFN}},
  };
  std::deque<std::vector<float>> values;
  std::vector<TensorData> tensors;
  uint32_t seed = spec.seed;
  for (const auto& [name, shape] : shapes) {
    size_t n = 1;
    for (int64_t d : shape)
      n *= static_cast<size_t>(d);
    float scale = shape.size() == 2 ? 1.0f / std::sqrt(static_cast<float>(shape[1])) : 0.1f;
    if (std::string(name) == "lm_head.weight") scale *= spec.logit_scale;
    values.push_back(random_floats(n, seed++, scale));
    if (shape.size() == 1) {
      for (float& v : values.back())
        v += 1.0f;
    }
    tensors.push_back({name,
                       DType::F32,
                       shape,
                       {reinterpret_cast<const char*>(values.back().data()), n * sizeof(float)}});
  }
  ASSERT_TRUE(safetensors_write(dir + "/model.safetensors", tensors).is_ok());
}

}  // namespace socle::engine::testing
