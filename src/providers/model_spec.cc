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

Result<std::vector<ModelSpec>> parse_model_specs(const boost::json::array& models) {
  std::vector<ModelSpec> out;
  std::set<std::string> names;
  for (size_t i = 0; i < models.size(); ++i) {
    std::string where = "models[" + std::to_string(i) + "]";
    if (!models[i].is_object()) return invalid_argument(where + ": must be a table");
    const auto& o = models[i].as_object();
    SOCLE_RETURN_IF_ERROR(
        at(where, json::check_keys(
                      o, {"name", "aliases", "kind", "strategy", "context_length",
                          "default_max_tokens", "parameters_billions", "tokenizer", "providers"})));
    ModelSpec m;
    std::optional<std::string> s;
    SOCLE_RETURN_IF_ERROR(at(where, json::get_string(o, "name", true, &s)));
    m.name = *s;
    where = "models '" + m.name + "'";
    if (m.name.empty()) return invalid_argument(where + ": the name is empty");
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
      if (m.kind != ModelKind::EMBEDDING) {
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
    if (providers == nullptr || !providers->is_array() || providers->as_array().empty()) {
      return invalid_argument(where + ": needs at least one [[models.providers]]");
    }
    for (size_t j = 0; j < providers->as_array().size(); ++j) {
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
