// What an operator declares in socle.toml: public models, each served by one or more
// providers (upstream engines), with the strategy that spreads requests over them.
//
//   [[models]]
//   name = "mistral-small"          # the public name clients ask for
//   aliases = ["gpt-4o-mini"]
//   kind = "chat"                   # chat | completion | embedding | rerank | transcription | ocr
//   strategy = "round_robin"        # round_robin | weighted | least_in_flight | lowest_latency
//   context_length = 32768
//   tokenizer = "/models/bge-m3/tokenizer.json"   # embedding models: RAG chunk sizes in tokens
//   [[models.providers]]
//   kind = "openai"                 # openai | tei | albert
//   url = "http://10.0.0.5:8000/v1"
//   model = "mistralai/Mistral-Small-3.1-24B-Instruct-2503"   # the upstream's name
//   api_key_env = "VLLM_KEY"        # or api_key_file = "/run/secrets/vllm"
//   weight = 2
//   max_in_flight = 64
//   country = "FR"
#pragma once

#include <boost/json/array.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/format/dtype.h"
#include "engine/sampling/sampler.h"
#include "http/client.h"

namespace socle::providers {

enum class ModelKind { CHAT, COMPLETION, EMBEDDING, RERANK, TRANSCRIPTION, OCR };
enum class ProviderKind { OPENAI, TEI, ALBERT };
enum class Strategy { ROUND_ROBIN, WEIGHTED, LEAST_IN_FLIGHT, LOWEST_LATENCY };

const char* model_kind_name(ModelKind kind);
const char* provider_kind_name(ProviderKind kind);
const char* strategy_name(Strategy strategy);

struct ProviderSpec {
  ProviderKind kind = ProviderKind::OPENAI;
  std::string url;  // base URL, as written
  http::Endpoint endpoint;
  std::string upstream_model;  // the name the upstream knows; the public name by default
  std::string api_key;         // read from api_key_env or api_key_file; never logged
  int64_t weight = 1;
  int64_t max_in_flight = 256;
  int64_t connect_timeout_ms = 5'000;
  int64_t first_byte_timeout_ms = 60'000;
  int64_t total_timeout_ms = 600'000;
  std::string country;      // hosting country (ISO 3166 alpha-2), shown to clients
  std::string health_path;  // GET path under the base URL; "" disables active checks
  std::string name;         // "model#index host:port", for health and logs
};

// A model socle runs on its own engine (a `path` instead of providers):
//
//   [[models]]
//   name = "llama-3.2-1b"
//   kind = "chat"     # chat | completion (llama family); embedding | rerank (bert family)
//   path = "/models/Llama-3.2-1B-Instruct"   # a Hugging Face folder or a GGUF file
//   context_length = 8192           # default: the model's max_position_embeddings
//   kv_memory_mb = 2048             # the KV cache's budget
//   kv_type = "f16"                 # its values: f32 (default) | f16 (twice the positions)
//   threads = 4                     # the runner's compute threads
//   max_sequences = 64              # generating at once
//   max_batch_tokens = 512          # tokens per forward pass
//   quantize = "q8_0"               # float weights quantised at load: q8_0 | q4_0 | q4_k | q6_k
//   [models.sampling]               # defaults for requests that leave them out
//   temperature = 0.7
//   top_p = 0.9
struct LocalSpec {
  std::string path;
  std::string chat_template;  // a file with a Jinja template; "" for the model's own
  int64_t kv_memory_mb = 1024;
  int64_t threads = 0;  // 0: one per core
  int64_t max_sequences = 64;
  int64_t max_batch_tokens = 512;
  int64_t block_tokens = 16;
  engine::DType kv_type = engine::DType::F32;  // F32 or F16; llama family only
  std::optional<engine::DType> quantize;       // llama family only
  engine::sampling::SamplingParams sampling;   // seed and logit_bias never set here
};

// A base-plus-adapter model for every user: a PEFT LoRA adapter applied, per request, to a
// local chat or completion model named earlier in [[models]] (no path, no providers):
//
//   [[models]]
//   name = "llama-3.2-1b-legal"
//   base = "llama-3.2-1b"
//   adapter = "/adapters/legal"     # a PEFT folder: adapter_config.json, adapter_model.safetensors
//
// Registry::load_local_models loads it into the adapter catalog, not among the registry's
// models; its kind is its base's.
struct AdapterSpec {
  std::string base;
  std::string path;
};

struct ModelSpec {
  std::string name;
  std::vector<std::string> aliases;
  ModelKind kind = ModelKind::CHAT;
  Strategy strategy = Strategy::ROUND_ROBIN;
  int64_t context_length = 0;  // 0: unknown
  // Completion tokens reserved against token limits when a request gives no max_tokens.
  int64_t default_max_tokens = 0;  // 0: context_length minus the prompt, else the global default
  // Active parameters, for the usage records' energy estimate; 0: unknown (no estimate).
  double parameters_billions = 0;
  // Embedding models: the tokenizer (a Hugging Face tokenizer.json, a GGUF file, or a folder
  // holding one) that RAG counts chunk sizes with; "" when none is configured (chunk sizes are
  // then counted in characters).
  std::string tokenizer;
  std::vector<ProviderSpec> providers;  // empty for a local model
  std::optional<LocalSpec> local;       // set for a model on socle's engine
  std::optional<AdapterSpec> adapter;   // set for a base-plus-adapter model
};

// Validates the [[models]] tables and reads the providers' keys (api_key_env from this
// process's environment, api_key_file from disk). Every error names the model, the provider
// index and the field. A base-plus-adapter model's base must be an earlier local chat or
// completion model.
Result<std::vector<ModelSpec>> parse_model_specs(const boost::json::array& models);

}  // namespace socle::providers
