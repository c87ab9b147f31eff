#include "providers/model_spec.h"

#include <cstdlib>
#include <filesystem>
#include <set>

#include "base/file.h"
#include "base/json.h"

namespace socle::providers {
namespace {

template <typename E, size_t N>
bool parse_enum(const std::string& text, const std::pair<const char*, E> (&table)[N], E* out) {
  for (const auto& [name, value] : table) {
    if (text == name) {
      *out = value;
      return true;
    }
  }
  return false;
}

constexpr std::pair<const char*, ModelKind> MODEL_KINDS[] = {
    {"chat", ModelKind::CHAT},
    {"completion", ModelKind::COMPLETION},
    {"embedding", ModelKind::EMBEDDING},
    {"rerank", ModelKind::RERANK},
    {"transcription", ModelKind::TRANSCRIPTION},
    {"ocr", ModelKind::OCR}};
constexpr std::pair<const char*, ProviderKind> PROVIDER_KINDS[] = {
    {"openai", ProviderKind::OPENAI}, {"tei", ProviderKind::TEI}, {"albert", ProviderKind::ALBERT}};
constexpr std::pair<const char*, Strategy> STRATEGIES[] = {
    {"round_robin", Strategy::ROUND_ROBIN},
    {"weighted", Strategy::WEIGHTED},
    {"least_in_flight", Strategy::LEAST_IN_FLIGHT},
    {"lowest_latency", Strategy::LOWEST_LATENCY}};

template <typename E, size_t N>
const char* enum_name(E value, const std::pair<const char*, E> (&table)[N]) {
  for (const auto& [name, v] : table) {
    if (v == value) return name;
  }
  return "?";
}

// Prefixes a field error with where it is.
Status at(const std::string& where, Status s) {
  if (s.is_ok()) return s;
  return invalid_argument(where + ": " + s.message());
}

Status get_positive(const boost::json::object& o, std::string_view key, int64_t* out) {
  std::optional<int64_t> v;
  SOCLE_RETURN_IF_ERROR(json::get_int(o, key, false, &v));
  if (!v) return Status::ok();
  if (*v <= 0) return invalid_argument("'" + std::string(key) + "' must be positive");
  *out = *v;
  return Status::ok();
}

Result<ProviderSpec> parse_provider(const boost::json::value& v, const ModelSpec& model,
                                    size_t index) {
  std::string where = "models '" + model.name + "' provider " + std::to_string(index);
  if (!v.is_object()) return invalid_argument(where + ": must be a table");
  const auto& o = v.as_object();
  SOCLE_RETURN_IF_ERROR(at(
      where, json::check_keys(o, {"kind", "url", "model", "api_key_env", "api_key_file", "weight",
                                  "max_in_flight", "connect_timeout_ms", "first_byte_timeout_ms",
                                  "total_timeout_ms", "country", "health_path", "ca_file"})));
  ProviderSpec p;
  std::optional<std::string> s;
  SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "kind", false, &s)));
  if (s && !parse_enum(*s, PROVIDER_KINDS, &p.kind)) {
    return invalid_argument(where + ": kind '" + *s + "' is not openai, tei or albert");
  }
  SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "url", true, &s)));
  p.url = *s;
  Result<http::Endpoint> endpoint = http::parse_base_url(p.url);
  if (!endpoint.is_ok()) return invalid_argument(where + ": " + endpoint.status().message());
  p.endpoint = *endpoint;
  SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "ca_file", false, &s)));
  if (s) p.endpoint.ca_file = *s;
  SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "model", false, &s)));
  p.upstream_model = s ? *s : model.name;

  std::optional<std::string> key_env;
  std::optional<std::string> key_file;
  SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "api_key_env", false, &key_env)));
  SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "api_key_file", false, &key_file)));
  if (key_env && key_file) {
    return invalid_argument(where + ": give api_key_env or api_key_file, not both");
  }
  if (key_env) {
    const char* value = std::getenv(key_env->c_str());
    if (value == nullptr || *value == '\0') {
      return invalid_argument(where + ": the environment variable " + *key_env +
                              " (api_key_env) is not set");
    }
    p.api_key = value;
  }
  if (key_file) {
    Result<std::string> text = read_file(*key_file);
    if (!text.is_ok())
      return invalid_argument(where + ": api_key_file: " + text.status().message());
    p.api_key = *text;
    while (!p.api_key.empty() && (p.api_key.back() == '\n' || p.api_key.back() == '\r')) {
      p.api_key.pop_back();
    }
  }
  SOCLE_RETURN_IF_ERROR(at(where, get_positive(o, "weight", &p.weight)));
  SOCLE_RETURN_IF_ERROR(at(where, get_positive(o, "max_in_flight", &p.max_in_flight)));
  SOCLE_RETURN_IF_ERROR(at(where, get_positive(o, "connect_timeout_ms", &p.connect_timeout_ms)));
  SOCLE_RETURN_IF_ERROR(
      at(where, get_positive(o, "first_byte_timeout_ms", &p.first_byte_timeout_ms)));
  SOCLE_RETURN_IF_ERROR(at(where, get_positive(o, "total_timeout_ms", &p.total_timeout_ms)));
  SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "country", false, &s)));
  if (s) p.country = *s;
  p.health_path = p.kind == ProviderKind::TEI ? "/health" : "/models";
  SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "health_path", false, &s)));
  if (s) p.health_path = *s;
  p.name = model.name + "#" + std::to_string(index) + " " + p.endpoint.authority();
  return p;
}

Status get_number(const boost::json::object& o, std::string_view key, double* out) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr) return Status::ok();
  if (!v->is_number()) return invalid_argument("'" + std::string(key) + "' must be a number");
  *out = v->to_number<double>();
  return Status::ok();
}

Result<engine::sampling::SamplingParams> parse_sampling(const boost::json::value& v) {
  if (!v.is_object()) return invalid_argument("sampling must be a table");
  const auto& o = v.as_object();
  SOCLE_RETURN_IF_ERROR(
      json::check_keys(o, {"temperature", "top_p", "top_k", "min_p", "presence_penalty",
                           "frequency_penalty", "repetition_penalty"}));
  engine::sampling::SamplingParams p;
  SOCLE_RETURN_IF_ERROR(get_number(o, "temperature", &p.temperature));
  SOCLE_RETURN_IF_ERROR(get_number(o, "top_p", &p.top_p));
  SOCLE_RETURN_IF_ERROR(get_number(o, "min_p", &p.min_p));
  SOCLE_RETURN_IF_ERROR(get_number(o, "presence_penalty", &p.presence_penalty));
  SOCLE_RETURN_IF_ERROR(get_number(o, "frequency_penalty", &p.frequency_penalty));
  SOCLE_RETURN_IF_ERROR(get_number(o, "repetition_penalty", &p.repetition_penalty));
  std::optional<int64_t> top_k;
  SOCLE_RETURN_IF_ERROR(json::get_int(o, "top_k", false, &top_k));
  if (top_k) {
    if (*top_k < 0 || *top_k > INT32_MAX) return invalid_argument("'top_k' must be >= 0");
    p.top_k = static_cast<int32_t>(*top_k);
  }
  // The vocabulary is not known yet; logit_bias is never set here, so any size will do.
  SOCLE_RETURN_IF_ERROR(engine::sampling::validate(p, 1));
  return p;
}

// The fields of a model on socle's own engine.
Result<LocalSpec> parse_local(const boost::json::object& o, const ModelSpec& m) {
  LocalSpec l;
  std::optional<std::string> s;
  SOCLE_RETURN_IF_ERROR(json::get_string(o, "path", true, &s));
  std::error_code ec;
  if (s->empty() || !std::filesystem::exists(*s, ec)) {
    return invalid_argument("path '" + *s +
                            "' does not exist; give a Hugging Face model folder or a GGUF file");
  }
  l.path = *s;
  SOCLE_RETURN_IF_ERROR(json::get_string(o, "chat_template", false, &s));
  if (s) {
    if (m.kind != ModelKind::CHAT) {
      return invalid_argument("chat_template is read for chat models only");
    }
    l.chat_template = *s;
  }
  SOCLE_RETURN_IF_ERROR(get_positive(o, "kv_memory_mb", &l.kv_memory_mb));
  SOCLE_RETURN_IF_ERROR(get_positive(o, "threads", &l.threads));
  SOCLE_RETURN_IF_ERROR(get_positive(o, "max_sequences", &l.max_sequences));
  SOCLE_RETURN_IF_ERROR(get_positive(o, "max_batch_tokens", &l.max_batch_tokens));
  SOCLE_RETURN_IF_ERROR(get_positive(o, "block_tokens", &l.block_tokens));
  if (l.max_sequences > 4096) return invalid_argument("'max_sequences' must be <= 4096");
  if (l.max_batch_tokens < l.max_sequences) {
    return invalid_argument(
        "'max_batch_tokens' must be at least 'max_sequences': each running sequence reads one "
        "token per step");
  }
  if (l.block_tokens > 1024) return invalid_argument("'block_tokens' must be <= 1024");
  SOCLE_RETURN_IF_ERROR(json::get_string(o, "quantize", false, &s));
  if (s) {
    constexpr std::pair<const char*, engine::DType> TYPES[] = {{"q8_0", engine::DType::Q8_0},
                                                               {"q4_0", engine::DType::Q4_0},
                                                               {"q4_k", engine::DType::Q4_K},
                                                               {"q6_k", engine::DType::Q6_K}};
    engine::DType type{};
    if (!parse_enum(*s, TYPES, &type)) {
      return invalid_argument("quantize '" + *s + "' is not q8_0, q4_0, q4_k or q6_k");
    }
    if (m.kind != ModelKind::CHAT && m.kind != ModelKind::COMPLETION) {
      return invalid_argument("quantize applies to chat and completion models (llama family)");
    }
    l.quantize = type;
  }
  SOCLE_RETURN_IF_ERROR(json::get_string(o, "kv_type", false, &s));
  if (s) {
    constexpr std::pair<const char*, engine::DType> KV_TYPES[] = {{"f32", engine::DType::F32},
                                                                  {"f16", engine::DType::F16}};
    if (!parse_enum(*s, KV_TYPES, &l.kv_type)) {
      return invalid_argument("kv_type '" + *s + "' is not f32 or f16");
    }
    if (m.kind != ModelKind::CHAT && m.kind != ModelKind::COMPLETION) {
      return invalid_argument("kv_type applies to chat and completion models (llama family)");
    }
  }
  if (const auto* sampling = o.if_contains("sampling")) {
    Result<engine::sampling::SamplingParams> p = parse_sampling(*sampling);
    if (!p.is_ok()) return invalid_argument("sampling: " + p.status().message());
    l.sampling = *p;
  }
  return l;
}

}  // namespace

const char* model_kind_name(ModelKind kind) {
  return enum_name(kind, MODEL_KINDS);
}
const char* provider_kind_name(ProviderKind kind) {
  return enum_name(kind, PROVIDER_KINDS);
}
const char* strategy_name(Strategy strategy) {
  return enum_name(strategy, STRATEGIES);
}

namespace {

// The index in `specs` of the model named `name`; specs.size() if none.
size_t local_index(const std::vector<ModelSpec>& specs, const std::string& name) {
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].name == name) return i;
    for (const std::string& a : specs[i].aliases) {
      if (a == name) return i;
    }
  }
  return specs.size();
}

// A base-plus-adapter model's two fields; `earlier` holds the models before it.
Result<AdapterSpec> parse_adapter(const std::string& where, const boost::json::object& o,
                                  const std::vector<ModelSpec>& earlier) {
  for (const auto& [key, value] : o) {
    if (key != "name" && key != "base" && key != "adapter") {
      return invalid_argument(where + ": '" + std::string(key) +
                              "' does not apply to a base-plus-adapter model (name, base and "
                              "adapter only: it runs on its base's settings)");
    }
  }
  AdapterSpec a;
  std::optional<std::string> s;
  SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "base", true, &s)));
  a.base = *s;
  SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "adapter", true, &s)));
  a.path = *s;
  size_t i = local_index(earlier, a.base);
  if (i == earlier.size() || !earlier[i].local || earlier[i].adapter) {
    return invalid_argument(where + ": base '" + a.base +
                            "' is not a model socle runs named earlier in [[models]]; give the "
                            "name of a local chat or completion model (one with a path) above "
                            "this one");
  }
  if (earlier[i].kind != ModelKind::CHAT && earlier[i].kind != ModelKind::COMPLETION) {
    return invalid_argument(where + ": base '" + a.base + "' is of kind " +
                            model_kind_name(earlier[i].kind) +
                            "; LoRA adapters apply to chat and completion models");
  }
  std::error_code ec;
  if (a.path.empty() || !std::filesystem::is_directory(a.path, ec)) {
    return invalid_argument(where + ": adapter '" + a.path +
                            "' is not a folder; give a PEFT adapter's folder (holding "
                            "adapter_config.json and adapter_model.safetensors)");
  }
  return a;
}

}  // namespace

Result<std::vector<ModelSpec>> parse_model_specs(const boost::json::array& models) {
  std::vector<ModelSpec> out;
  std::set<std::string> names;
  for (size_t i = 0; i < models.size(); ++i) {
    std::string where = "models[" + std::to_string(i) + "]";
    if (!models[i].is_object()) return invalid_argument(where + ": must be a table");
    const auto& o = models[i].as_object();
    SOCLE_RETURN_IF_ERROR(at(where, json::check_keys(o, {"name",
                                                         "aliases",
                                                         "kind",
                                                         "strategy",
                                                         "context_length",
                                                         "default_max_tokens",
                                                         "parameters_billions",
                                                         "tokenizer",
                                                         "providers",
                                                         "path",
                                                         "chat_template",
                                                         "kv_memory_mb",
                                                         "kv_type",
                                                         "threads",
                                                         "max_sequences",
                                                         "max_batch_tokens",
                                                         "block_tokens",
                                                         "quantize",
                                                         "sampling",
                                                         "base",
                                                         "adapter"})));
    ModelSpec m;
    std::optional<std::string> s;
    SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "name", true, &s)));
    m.name = *s;
    where = "models '" + m.name + "'";
    if (m.name.empty()) return invalid_argument(where + ": the name is empty");
    if (o.contains("base") || o.contains("adapter")) {
      SOCLE_ASSIGN_OR_RETURN(AdapterSpec a, parse_adapter(where, o, out));
      m.kind = out[local_index(out, a.base)].kind;
      m.adapter = std::move(a);
      if (!names.insert(m.name).second) {
        return invalid_argument(where + ": the name or alias '" + m.name + "' is used twice");
      }
      out.push_back(std::move(m));
      continue;
    }
    SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "kind", false, &s)));
    if (s && !parse_enum(*s, MODEL_KINDS, &m.kind)) {
      return invalid_argument(where + ": kind '" + *s +
                              "' is not chat, completion, embedding, rerank, transcription or ocr");
    }
    SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "strategy", false, &s)));
    if (s && !parse_enum(*s, STRATEGIES, &m.strategy)) {
      return invalid_argument(where + ": strategy '" + *s +
                              "' is not round_robin, weighted, least_in_flight or lowest_latency");
    }
    SOCLE_RETURN_IF_ERROR(at(where, get_positive(o, "context_length", &m.context_length)));
    SOCLE_RETURN_IF_ERROR(at(where, get_positive(o, "default_max_tokens", &m.default_max_tokens)));
    if (const auto* params = o.if_contains("parameters_billions")) {
      if (!params->is_number() || params->to_number<double>() <= 0) {
        return invalid_argument(where +
                                ": parameters_billions must be a positive number (e.g. 8 or 0.5)");
      }
      m.parameters_billions = params->to_number<double>();
    }
    SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "tokenizer", false, &s)));
    if (s) {
      // Loaded by RAG when a document is chunked; checked here so that a typo stops the start.
      if (m.kind != ModelKind::EMBEDDING && !o.contains("path")) {
        return invalid_argument(where +
                                ": tokenizer is read for embedding models only (RAG chunk "
                                "sizes); remove it or set kind = \"embedding\"");
      }
      std::error_code ec;
      if (s->empty() || !std::filesystem::exists(*s, ec)) {
        return invalid_argument(where + ": tokenizer '" + *s +
                                "' does not exist; give the path of a tokenizer.json, a GGUF "
                                "file or a folder holding one");
      }
      m.tokenizer = *s;
    }
    if (const auto* aliases = o.if_contains("aliases")) {
      if (!aliases->is_array()) return invalid_argument(where + ": aliases must be a list");
      for (const auto& a : aliases->as_array()) {
        if (!a.is_string() || a.as_string().empty()) {
          return invalid_argument(where + ": aliases must be non-empty strings");
        }
        m.aliases.emplace_back(a.as_string());
      }
    }
    const auto* providers = o.if_contains("providers");
    if (o.contains("path")) {
      if (providers != nullptr) {
        return invalid_argument(where +
                                ": give a path (a model socle runs) or [[models.providers]] (an "
                                "upstream engine), not both");
      }
      if (m.kind != ModelKind::CHAT && m.kind != ModelKind::COMPLETION &&
          m.kind != ModelKind::EMBEDDING && m.kind != ModelKind::RERANK) {
        return invalid_argument(where +
                                ": socle's engine runs chat, completion, embedding and "
                                "rerank models, not " +
                                model_kind_name(m.kind) + " models");
      }
      Result<LocalSpec> local = parse_local(o, m);
      if (!local.is_ok()) return invalid_argument(where + ": " + local.status().message());
      m.local = std::move(local).value();
    } else if (providers == nullptr || !providers->is_array() || providers->as_array().empty()) {
      return invalid_argument(where + ": needs at least one [[models.providers]], or a path");
    } else if (o.contains("chat_template") || o.contains("kv_memory_mb") || o.contains("kv_type") ||
               o.contains("threads") || o.contains("max_sequences") ||
               o.contains("max_batch_tokens") || o.contains("block_tokens") ||
               o.contains("quantize") || o.contains("sampling")) {
      return invalid_argument(
          where +
          ": chat_template, kv_memory_mb, kv_type, threads, max_sequences, "
          "max_batch_tokens, block_tokens, quantize and sampling are for models "
          "with a path (socle's engine)");
    }
    for (size_t j = 0; providers != nullptr && j < providers->as_array().size(); ++j) {
      SOCLE_ASSIGN_OR_RETURN(ProviderSpec p, parse_provider(providers->as_array()[j], m, j));
      m.providers.push_back(std::move(p));
    }
    for (const std::string& n : [&] {
           std::vector<std::string> all{m.name};
           all.insert(all.end(), m.aliases.begin(), m.aliases.end());
           return all;
         }()) {
      if (!names.insert(n).second) {
        return invalid_argument(where + ": the name or alias '" + n + "' is used twice");
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace socle::providers
