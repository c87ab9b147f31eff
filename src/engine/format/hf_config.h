// The architecture settings of a Hugging Face model folder's config.json, for the families
// socle runs: llama, mistral, qwen2, qwen3 (decoders) and bert, xlm-roberta (encoders).
// Missing keys take the defaults that transformers' config classes give them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace socle::engine {

enum class ModelFamily {
  LLAMA,  // llama 2 and 3.x
  MISTRAL,
  QWEN2,  // bias on the q, k and v projections
  QWEN3,  // RMSNorm per head on q and k
  BERT,
  XLM_ROBERTA,  // bert with position ids that start after the padding id
};

const char* model_family_name(ModelFamily family);
bool model_family_is_decoder(ModelFamily family);

// What sits on top of the transformer, from config.json's "architectures".
enum class ModelHead {
  CAUSAL_LM,               // *ForCausalLM: logits over the vocabulary
  ENCODER,                 // BertModel, XLMRobertaModel: hidden states (and pooler)
  BERT_CLASSIFIER,         // BertForSequenceClassification: pooler, then a linear layer
  XLM_ROBERTA_CLASSIFIER,  // XLMRobertaForSequenceClassification: dense, tanh, out_proj
};

enum class RopeType {
  DEFAULT,  // inv_freq[i] = theta^(-2i/head_dim)
  LINEAR,   // positions divided by `factor`
  LLAMA3,   // llama 3.1's frequency-dependent scaling
};

struct RopeSettings {
  RopeType type = RopeType::DEFAULT;
  double theta = 10000.0;
  double factor = 1.0;                              // LINEAR and LLAMA3
  double low_freq_factor = 1.0;                     // LLAMA3
  double high_freq_factor = 4.0;                    // LLAMA3
  int64_t original_max_position_embeddings = 8192;  // LLAMA3
};

enum class Activation {
  SILU,       // x * sigmoid(x)
  GELU,       // the exact form, x * Phi(x) with erf
  GELU_TANH,  // the tanh approximation ("gelu_new", "gelu_pytorch_tanh")
};

struct HfConfig {
  ModelFamily family = ModelFamily::LLAMA;
  ModelHead head = ModelHead::CAUSAL_LM;
  std::string model_type;    // as written: "llama", "qwen2", ...
  std::string architecture;  // the first of "architectures", empty if none

  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // the residual stream's width
  int64_t intermediate_size = 0;  // the feed-forward layer's width
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;  // == num_heads without grouped-query attention
  int64_t head_dim = 0;      // explicit in qwen3; hidden_size / num_heads otherwise
  int64_t max_position_embeddings = 0;
  double norm_eps = 1e-6;  // rms_norm_eps (decoders) or layer_norm_eps (encoders)
  Activation activation = Activation::SILU;
  bool tie_word_embeddings = false;
  bool attention_bias = false;      // bias on q, k, v (qwen2 always; llama's attention_bias)
  bool attention_out_bias = false;  // bias on o_proj (llama's attention_bias)
  bool mlp_bias = false;
  bool qk_norm = false;        // qwen3
  int64_t sliding_window = 0;  // 0: none
  RopeSettings rope;

  // Encoders.
  int64_t type_vocab_size = 0;
  // The padding token, after which XLM-RoBERTa counts positions; -1 for decoders.
  int64_t pad_token_id = -1;
  int64_t num_labels = 0;  // classifier heads
};

// Parses the text of a config.json. INVALID_ARGUMENT names the key at fault, for unknown
// model types, rope types, activations or inconsistent sizes.
Result<HfConfig> hf_config_parse(std::string_view json_text);

// Reads and parses `dir`/config.json.
Result<HfConfig> hf_config_read(const std::string& dir);

}  // namespace socle::engine
