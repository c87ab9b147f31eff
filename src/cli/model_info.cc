// socle model info PATH: what a model is (architecture and sizes), what its weights are
// (parameters, types, bytes) and what it needs in memory, read from a GGUF file's metadata
// and tensor table or a Hugging Face folder's config.json and safetensors headers. Nothing
// is loaded beyond those.
#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <cstdio>
#include <iterator>
#include <map>
#include <memory>
#include <string>

#include "base/json.h"
#include "cli/commands.h"
#include "cli/model_common.h"
#include "engine/format/gguf.h"
#include "engine/format/hf_config.h"
#include "engine/format/safetensors.h"
#include "engine/models/bert_gguf.h"
#include "engine/models/llama_gguf.h"

namespace socle::cli::model_cli {
namespace {

using engine::DType;
using engine::HfConfig;

constexpr int64_t KV_CACHE_TOKENS = 1024;  // the KV cache is reported per 1k tokens
constexpr int64_t KV_CACHE_BYTES_PER_VALUE = sizeof(float);  // engine/models/kv_cache.h

struct TypeStats {
  int64_t tensors = 0;
  uint64_t bytes = 0;
};

struct ModelInfo {
  std::string path;
  std::string format;        // "gguf" or "huggingface"
  std::string architecture;  // general.architecture, or config.json's first architecture
  HfConfig config;
  bool rope_freqs = false;  // a GGUF file's rope_freqs.weight (llama 3.1's scaling)
  int64_t files = 1;
  int64_t parameters = 0;
  uint64_t weight_bytes = 0;
  std::map<DType, TypeStats> by_type;
};

void add_tensor(ModelInfo& info, DType type, int64_t numel, uint64_t nbytes) {
  info.parameters += numel;
  info.weight_bytes += nbytes;
  TypeStats& s = info.by_type[type];
  ++s.tensors;
  s.bytes += nbytes;
}

Result<ModelInfo> read_gguf(const std::string& path) {
  SOCLE_ASSIGN_OR_RETURN(engine::GgufFile file, engine::GgufFile::open(path));
  ModelInfo info;
  info.path = path;
  info.format = "gguf";
  const engine::GgufValue* arch = file.value("general.architecture");
  bool bert = arch != nullptr && arch->type == engine::GgufType::STRING && arch->s == "bert";
  if (bert) {
    SOCLE_ASSIGN_OR_RETURN(info.config, engine::bert_config_from_gguf(file));
  } else {
    SOCLE_ASSIGN_OR_RETURN(info.config, engine::llama_config_from_gguf(file));
  }
  info.architecture = arch->s;
  for (const engine::GgufTensor& t : file.tensors()) {
    // rope_freqs.weight is derived from the config (a constant), not a trained parameter;
    // leaving it out makes a converted file count what its folder counts.
    if (t.name == engine::LLAMA_ROPE_FREQS) {
      info.rope_freqs = true;
      continue;
    }
    add_tensor(info, t.type, t.numel(), t.nbytes);
  }
  return info;
}

Result<ModelInfo> read_folder(const std::string& dir) {
  ModelInfo info;
  info.path = dir;
  info.format = "huggingface";
  SOCLE_ASSIGN_OR_RETURN(info.config, engine::hf_config_read(dir));
  info.architecture = info.config.architecture;
  SOCLE_ASSIGN_OR_RETURN(engine::SafetensorsModel model, engine::SafetensorsModel::open_dir(dir));
  info.files = static_cast<int64_t>(model.shard_count());
  for (const std::string& name : model.names()) {
    const engine::TensorView* t = model.find(name);
    add_tensor(info, t->dtype, t->numel(), t->nbytes);
  }
  return info;
}

const char* head_name(engine::ModelHead head) {
  switch (head) {
    case engine::ModelHead::CAUSAL_LM:
      return "causal_lm";
    case engine::ModelHead::ENCODER:
      return "encoder";
    case engine::ModelHead::BERT_CLASSIFIER:
    case engine::ModelHead::XLM_ROBERTA_CLASSIFIER:
      return "sequence_classifier";
  }
  return "unknown";
}

const char* rope_type_name(engine::RopeType type) {
  switch (type) {
    case engine::RopeType::DEFAULT:
      return "default";
    case engine::RopeType::LINEAR:
      return "linear";
    case engine::RopeType::LLAMA3:
      return "llama3";
  }
  return "unknown";
}

bool is_decoder(const ModelInfo& info) {
  return engine::model_family_is_decoder(info.config.family);
}

// Keys and values of every layer, float32, for 1k positions of one sequence.
uint64_t kv_cache_bytes_per_1k(const HfConfig& c) {
  return static_cast<uint64_t>(2 * c.num_layers * c.num_kv_heads * c.head_dim * KV_CACHE_TOKENS *
                               KV_CACHE_BYTES_PER_VALUE);
}

boost::json::object rope_json(const ModelInfo& info) {
  const engine::RopeSettings& r = info.config.rope;
  boost::json::object o;
  o["type"] = rope_type_name(r.type);
  o["theta"] = r.theta;
  if (r.type != engine::RopeType::DEFAULT) o["factor"] = r.factor;
  if (r.type == engine::RopeType::LLAMA3) {
    o["low_freq_factor"] = r.low_freq_factor;
    o["high_freq_factor"] = r.high_freq_factor;
    o["original_max_position_embeddings"] = r.original_max_position_embeddings;
  }
  if (info.rope_freqs) o["rope_freqs_tensor"] = true;
  return o;
}

std::string info_json(const ModelInfo& info) {
  const HfConfig& c = info.config;
  boost::json::object o;
  o["path"] = info.path;
  o["format"] = info.format;
  o["files"] = info.files;
  o["architecture"] = info.architecture;
  o["family"] = engine::model_family_name(c.family);
  o["head"] = head_name(c.head);
  o["layers"] = c.num_layers;
  o["hidden_size"] = c.hidden_size;
  o["intermediate_size"] = c.intermediate_size;
  o["heads"] = c.num_heads;
  o["kv_heads"] = c.num_kv_heads;
  o["head_dim"] = c.head_dim;
  o["vocab_size"] = c.vocab_size;
  o["context_length"] = c.max_position_embeddings;
  if (is_decoder(info)) {
    o["rope"] = rope_json(info);
  } else {
    o["rope"] = nullptr;  // encoders learn absolute position embeddings
  }
  if (c.num_labels > 0) o["num_labels"] = c.num_labels;
  o["parameters"] = info.parameters;
  boost::json::object types;
  for (const auto& [type, s] : info.by_type) {
    types[engine::dtype_name(type)] = {{"tensors", s.tensors}, {"bytes", s.bytes}};
  }
  o["weight_types"] = std::move(types);
  o["weight_bytes"] = info.weight_bytes;
  if (is_decoder(info)) {
    o["kv_cache_bytes_per_1k_tokens"] = kv_cache_bytes_per_1k(c);
  } else {
    o["kv_cache_bytes_per_1k_tokens"] = nullptr;
  }
  return json::dump(o);
}

std::string human_bytes(uint64_t n) {
  constexpr const char* UNITS[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  constexpr double STEP = 1024.0;
  auto x = static_cast<double>(n);
  size_t u = 0;
  while (x >= STEP && u + 1 < std::size(UNITS)) {
    x /= STEP;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", x, UNITS[u]);
  return buf;
}

std::string human_count(int64_t n) {
  constexpr std::pair<double, const char*> SCALES[] = {{1e9, "B"}, {1e6, "M"}, {1e3, "K"}};
  for (const auto& [scale, suffix] : SCALES) {
    if (static_cast<double>(n) >= scale) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%.2f %s", static_cast<double>(n) / scale, suffix);
      return buf;
    }
  }
  return std::to_string(n);
}

void print_text(const ModelInfo& info) {
  const HfConfig& c = info.config;
  std::printf("path            %s\n", info.path.c_str());
  if (info.format == "gguf") {
    std::printf("format          GGUF\n");
  } else {
    std::printf("format          Hugging Face folder (%lld safetensors file%s)\n",
                static_cast<long long>(info.files), info.files == 1 ? "" : "s");
  }
  std::printf("architecture    %s\n", info.architecture.c_str());
  std::printf("family          %s (%s)\n", engine::model_family_name(c.family), head_name(c.head));
  std::printf("layers          %lld\n", static_cast<long long>(c.num_layers));
  std::printf("hidden size     %lld (feed-forward %lld)\n", static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.intermediate_size));
  std::printf("heads           %lld (kv heads %lld, head_dim %lld)\n",
              static_cast<long long>(c.num_heads), static_cast<long long>(c.num_kv_heads),
              static_cast<long long>(c.head_dim));
  std::printf("vocabulary      %lld\n", static_cast<long long>(c.vocab_size));
  std::printf("context length  %lld\n", static_cast<long long>(c.max_position_embeddings));
  if (is_decoder(info)) {
    const engine::RopeSettings& r = c.rope;
    std::printf("rope            %s, theta %g", rope_type_name(r.type), r.theta);
    if (r.type != engine::RopeType::DEFAULT) std::printf(", factor %g", r.factor);
    if (r.type == engine::RopeType::LLAMA3) {
      std::printf(", low %g, high %g, original context %lld", r.low_freq_factor, r.high_freq_factor,
                  static_cast<long long>(r.original_max_position_embeddings));
    }
    if (info.rope_freqs) std::printf(", scaled by rope_freqs.weight");
    std::printf("\n");
  } else {
    std::printf("positions       learned, absolute\n");
  }
  std::printf("parameters      %lld (%s)\n", static_cast<long long>(info.parameters),
              human_count(info.parameters).c_str());
  for (const auto& [type, s] : info.by_type) {
    std::printf("weights %-7s %lld tensors, %s\n", engine::dtype_name(type),
                static_cast<long long>(s.tensors), human_bytes(s.bytes).c_str());
  }
  std::printf("memory          weights %s (memory-mapped)", human_bytes(info.weight_bytes).c_str());
  if (is_decoder(info)) {
    std::printf(", KV cache %s per 1k tokens (float32; half with kv_type f16)",
                human_bytes(kv_cache_bytes_per_1k(c)).c_str());
  }
  std::printf("\n");
}

int run_info(const std::string& path, bool as_json) {
  Status ok = check_model_path(path);
  if (!ok.is_ok()) return fail("info", ok);
  Result<ModelInfo> info = is_gguf_path(path) ? read_gguf(path) : read_folder(path);
  if (!info.is_ok()) return fail("info", info.status());
  if (as_json) {
    std::printf("%s\n", info_json(*info).c_str());
  } else {
    print_text(*info);
  }
  return EXIT_OK;
}

struct InfoFlags {
  std::string path;
  bool json = false;
};

}  // namespace

void add_info_command(CLI::App& model, int* exit_code) {
  auto f = std::make_shared<InfoFlags>();
  CLI::App* info = model.add_subcommand(
      "info", "Print a model's architecture, parameters, weight types and memory needs");
  info->add_option("path", f->path, "a GGUF file or a Hugging Face model folder")->required();
  info->add_flag("--json", f->json, "print one JSON object instead of text");
  info->callback([f, exit_code] { *exit_code = run_info(f->path, f->json); });
}

}  // namespace socle::cli::model_cli
