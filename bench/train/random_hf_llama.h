// A random llama written as a Hugging Face folder (config.json and a float32
// model.safetensors, named as transformers names LlamaForCausalLM's tensors), so that socle and
// the PyTorch side of the training benchmark read the same weights.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace socle::train::bench {

struct RandomLlamaShape {
  int64_t hidden = 768;
  int64_t layers = 12;
  int64_t intermediate = 2048;
  int64_t heads = 12;
  int64_t kv_heads = 4;
  int64_t vocab = 32000;
  int64_t context = 2048;
};

// Every weight of `shape`: embeddings, the blocks' projections and norms, the final norm and
// an untied output head.
int64_t random_llama_parameters(const RandomLlamaShape& shape);

// Writes `dir`/config.json and `dir`/model.safetensors: matrices uniform with variance
// 1/columns (unit-variance outputs), the embedding table uniform on [-1, 1), norm weights
// uniform on [0.8, 1.2), drawn from `seed`.
Status random_llama_write(const std::string& dir, const RandomLlamaShape& shape, uint64_t seed);

}  // namespace socle::train::bench
