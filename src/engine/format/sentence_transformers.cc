#include "engine/format/sentence_transformers.h"

#include <boost/json.hpp>
#include <filesystem>

#include "base/file.h"
#include "base/json.h"

namespace socle::engine {
namespace {

constexpr std::string_view POOLING_TYPE = "sentence_transformers.models.Pooling";
constexpr std::string_view NORMALIZE_TYPE = "sentence_transformers.models.Normalize";

struct Modules {
  std::string pooling_path;  // empty if no Pooling module
  bool normalize = false;
};

Result<Modules> parse_modules(std::string_view text) {
  auto parsed = json::parse(text);
  if (!parsed.is_ok()) return invalid_argument("modules.json: " + parsed.status().message());
  if (!parsed->is_array()) return invalid_argument("modules.json is not a JSON array");
  Modules out;
  for (const auto& m : parsed->as_array()) {
    if (!m.is_object())
      return invalid_argument("modules.json holds an entry that is not an object");
    const auto* type = m.as_object().if_contains("type");
    if (type == nullptr || !type->is_string()) {
      return invalid_argument("modules.json holds an entry without a string \"type\"");
    }
    if (type->get_string() == NORMALIZE_TYPE) out.normalize = true;
    if (type->get_string() != POOLING_TYPE) continue;
    const auto* path = m.as_object().if_contains("path");
    if (path == nullptr || !path->is_string() || path->get_string().empty()) {
      return invalid_argument("modules.json: the Pooling module has no \"path\"");
    }
    std::string p(path->get_string());
    // The module's folder sits inside the model's folder.
    if (p.find('/') != std::string::npos || p == "." || p == "..") {
      return invalid_argument("modules.json: the Pooling module's path \"" + p +
                              "\" is not a folder name inside the model");
    }
    out.pooling_path = p;
  }
  return out;
}

Result<Pooling> parse_pooling(std::string_view text) {
  auto parsed = json::parse(text);
  if (!parsed.is_ok()) return invalid_argument("pooling config.json: " + parsed.status().message());
  if (!parsed->is_object()) return invalid_argument("pooling config.json is not a JSON object");
  const auto& obj = parsed->as_object();
  // Newer releases may write the mode by name.
  if (const auto* mode = obj.if_contains("pooling_mode"); mode != nullptr && mode->is_string()) {
    std::string name(mode->get_string());
    if (name == "lasttoken") name = "last";
    auto pooling = pooling_from_name(name);
    if (!pooling) {
      return invalid_argument("pooling config.json: pooling_mode \"" + name +
                              "\" is not one socle computes (cls, mean, lasttoken)");
    }
    return *pooling;
  }
  struct Flag {
    const char* key;
    std::optional<Pooling> pooling;  // nullopt: a mode socle does not compute
  };
  const Flag flags[] = {
      {"pooling_mode_cls_token", Pooling::CLS},
      {"pooling_mode_mean_tokens", Pooling::MEAN},
      {"pooling_mode_lasttoken", Pooling::LAST},
      {"pooling_mode_max_tokens", std::nullopt},
      {"pooling_mode_mean_sqrt_len_tokens", std::nullopt},
      {"pooling_mode_weightedmean_tokens", std::nullopt},
  };
  std::optional<Pooling> chosen;
  int set = 0;
  for (const Flag& f : flags) {
    const auto* v = obj.if_contains(f.key);
    if (v == nullptr || !v->is_bool() || !v->get_bool()) continue;
    ++set;
    if (!f.pooling) {
      return invalid_argument(std::string("pooling config.json: ") + f.key +
                              " is not a mode socle computes (cls, mean, lasttoken)");
    }
    chosen = f.pooling;
  }
  // Several modes at once concatenate their vectors; no model socle serves does that.
  if (set > 1) return invalid_argument("pooling config.json: more than one pooling mode is set");
  if (!chosen) return invalid_argument("pooling config.json: no pooling mode is set");
  return *chosen;
}

}  // namespace

const char* pooling_name(Pooling pooling) {
  switch (pooling) {
    case Pooling::CLS:
      return "cls";
    case Pooling::MEAN:
      return "mean";
    case Pooling::LAST:
      return "last";
  }
  return "?";
}

std::optional<Pooling> pooling_from_name(std::string_view name) {
  if (name == "cls") return Pooling::CLS;
  if (name == "mean") return Pooling::MEAN;
  if (name == "last") return Pooling::LAST;
  return std::nullopt;
}

Result<std::string> sentence_transformers_pooling_path(std::string_view modules_json) {
  SOCLE_ASSIGN_OR_RETURN(Modules modules, parse_modules(modules_json));
  return modules.pooling_path;
}

Result<EmbeddingSettings> sentence_transformers_parse(std::string_view modules_json,
                                                      std::string_view pooling_json) {
  SOCLE_ASSIGN_OR_RETURN(Modules modules, parse_modules(modules_json));
  EmbeddingSettings settings;
  settings.normalize = modules.normalize;
  if (!modules.pooling_path.empty()) {
    SOCLE_ASSIGN_OR_RETURN(settings.pooling, parse_pooling(pooling_json));
  }
  return settings;
}

Result<std::optional<EmbeddingSettings>> sentence_transformers_read(const std::string& dir) {
  std::filesystem::path modules_path = std::filesystem::path(dir) / "modules.json";
  std::error_code ec;
  if (!std::filesystem::exists(modules_path, ec)) return std::optional<EmbeddingSettings>();
  SOCLE_ASSIGN_OR_RETURN(std::string modules, read_file(modules_path.string()));
  SOCLE_ASSIGN_OR_RETURN(std::string pooling_path, sentence_transformers_pooling_path(modules));
  std::string pooling;
  if (!pooling_path.empty()) {
    std::filesystem::path config = std::filesystem::path(dir) / pooling_path / "config.json";
    SOCLE_ASSIGN_OR_RETURN(pooling, read_file(config.string()));
  }
  auto settings = sentence_transformers_parse(modules, pooling);
  if (!settings.is_ok()) {
    return Status(settings.status().code(), dir + ": " + settings.status().message());
  }
  return std::optional<EmbeddingSettings>(*settings);
}

}  // namespace socle::engine
