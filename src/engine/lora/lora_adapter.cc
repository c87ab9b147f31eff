#include "engine/lora/lora_adapter.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "base/file.h"
#include "base/json.h"
#include "engine/format/safetensors.h"
#include "engine/format/safetensors_writer.h"
#include "engine/sampling/rng.h"

namespace socle::engine {
namespace {

namespace bj = boost::json;

constexpr const char* CONFIG_FILE = "adapter_config.json";
constexpr const char* WEIGHTS_FILE = "adapter_model.safetensors";
constexpr const char* NAME_PREFIX = "base_model.model.model.layers.";

const char* module_of(LoraTarget target) {
  switch (target) {
    case LoraTarget::Q_PROJ:
    case LoraTarget::K_PROJ:
    case LoraTarget::V_PROJ:
    case LoraTarget::O_PROJ:
      return "self_attn";
    default:
      return "mlp";
  }
}

size_t index_of(LoraTarget target) {
  return static_cast<size_t>(target);
}

// PEFT writes these keys with a null, false or empty value when the feature is off; any
// other value changes what the adapter computes, so the trainer refuses it rather than
// apply it wrongly.
bool is_off(const bj::value& v) {
  if (v.is_null()) return true;
  if (v.is_bool()) return !v.as_bool();
  if (v.is_object()) return v.as_object().empty();
  if (v.is_array()) return v.as_array().empty();
  return false;
}

Status config_error(const std::string& path, const std::string& field, const std::string& what) {
  return invalid_argument(path + ": field \"" + field + "\" " + what);
}

Status parse_targets(const std::string& path, const bj::value& v, std::vector<LoraTarget>* out) {
  std::vector<std::string> names;
  if (v.is_string()) {
    names.emplace_back(v.as_string());
  } else if (v.is_array()) {
    for (const bj::value& e : v.as_array()) {
      if (!e.is_string()) return config_error(path, "target_modules", "must list module names");
      names.emplace_back(e.as_string());
    }
  } else {
    return config_error(path, "target_modules", "must be a list of module names");
  }
  if (names.empty()) return config_error(path, "target_modules", "is empty");
  for (const std::string& name : names) {
    std::optional<LoraTarget> t = lora_target_from_name(name);
    if (!t) {
      return config_error(path, "target_modules",
                          "names \"" + name +
                              "\", which is not one of q_proj, k_proj, v_proj, o_proj, "
                              "gate_proj, up_proj, down_proj (regular expressions and other "
                              "modules are not supported)");
    }
    out->push_back(*t);
  }
  return Status::ok();
}

Result<LoraConfig> parse_config(const std::string& path) {
  SOCLE_ASSIGN_OR_RETURN(std::string text, read_file(path));
  auto parsed = json::parse(text);
  if (!parsed.is_ok()) return invalid_argument(path + ": " + parsed.status().message());
  if (!parsed->is_object()) return invalid_argument(path + ": not a JSON object");
  const bj::object& obj = parsed->as_object();
  LoraConfig config;

  const bj::value* peft_type = obj.if_contains("peft_type");
  if (peft_type == nullptr || !peft_type->is_string() || peft_type->as_string() != "LORA") {
    return config_error(path, "peft_type", "must be \"LORA\"");
  }
  const bj::value* r = obj.if_contains("r");
  if (r == nullptr || !r->is_int64() || r->as_int64() < 1) {
    return config_error(path, "r", "must be an integer of at least 1");
  }
  config.rank = r->as_int64();
  const bj::value* alpha = obj.if_contains("lora_alpha");
  if (alpha == nullptr || !(alpha->is_number())) {
    return config_error(path, "lora_alpha", "must be a number");
  }
  config.alpha = alpha->to_number<double>();
  if (!std::isfinite(config.alpha)) return config_error(path, "lora_alpha", "must be finite");
  const bj::value* targets = obj.if_contains("target_modules");
  if (targets == nullptr) return config_error(path, "target_modules", "is missing");
  SOCLE_RETURN_IF_ERROR(parse_targets(path, *targets, &config.targets));
  if (const bj::value* rs = obj.if_contains("use_rslora"); rs != nullptr && !rs->is_null()) {
    if (!rs->is_bool()) return config_error(path, "use_rslora", "must be true or false");
    config.use_rslora = rs->as_bool();
  }
  if (const bj::value* bias = obj.if_contains("bias"); bias != nullptr && !bias->is_null()) {
    if (!bias->is_string() || bias->as_string() != "none") {
      return config_error(path, "bias", "must be \"none\": trained biases are not supported");
    }
  }
  for (const char* key :
       {"use_dora", "fan_in_fan_out", "lora_bias", "rank_pattern", "alpha_pattern",
        "layers_to_transform", "modules_to_save", "target_parameters", "trainable_token_indices",
        "layer_replication", "use_qalora"}) {
    const bj::value* v = obj.if_contains(key);
    if (v != nullptr && !is_off(*v)) {
      return config_error(path, key, "is set, which socle's LoRA does not support; leave it unset");
    }
  }
  return config;
}

// Parses base_model.model.model.layers.<i>.<module>.<target>.lora_<A|B>.weight.
bool parse_tensor_name(std::string_view name, int64_t* layer, LoraTarget* target, bool* is_b) {
  std::string_view prefix = NAME_PREFIX;
  if (!name.starts_with(prefix)) return false;
  name.remove_prefix(prefix.size());
  size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot > 9) return false;
  int64_t value = 0;
  for (char c : name.substr(0, dot)) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  name.remove_prefix(dot + 1);
  for (LoraTarget t : LORA_ALL_TARGETS) {
    for (bool b : {false, true}) {
      std::string rest = std::string(module_of(t)) + "." + lora_target_name(t) +
                         (b ? ".lora_B.weight" : ".lora_A.weight");
      if (name == rest) {
        *layer = value;
        *target = t;
        *is_b = b;
        return true;
      }
    }
  }
  return false;
}

Status read_tensor(const std::string& path, const TensorView& t, const std::vector<int64_t>& shape,
                   std::vector<float>* out) {
  if (t.shape != shape) {
    auto dims = [](const std::vector<int64_t>& s) {
      std::string text = "[";
      for (size_t i = 0; i < s.size(); ++i)
        text += (i ? ", " : "") + std::to_string(s[i]);
      return text + "]";
    };
    return invalid_argument(path + ": tensor " + t.name + " has shape " + dims(t.shape) +
                            ", expected " + dims(shape) + " for this model and rank");
  }
  auto n = static_cast<size_t>(t.numel());
  out->resize(n);
  switch (t.dtype) {
    case DType::F32:
      std::memcpy(out->data(), t.data, n * sizeof(float));
      return Status::ok();
    case DType::F16:
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t bits = 0;
        std::memcpy(&bits, t.data + i * 2, 2);
        (*out)[i] = t.dtype == DType::F16 ? f16_to_f32(bits) : bf16_to_f32(bits);
      }
      return Status::ok();
    default:
      return invalid_argument(path + ": tensor " + t.name + " is " + dtype_name(t.dtype) +
                              "; LoRA weights must be F32, F16 or BF16");
  }
}

std::string config_json(const LoraConfig& config, const std::string& base_model_name) {
  bj::object obj;
  if (base_model_name.empty()) {
    obj["base_model_name_or_path"] = nullptr;
  } else {
    obj["base_model_name_or_path"] = base_model_name;
  }
  obj["bias"] = "none";
  obj["fan_in_fan_out"] = false;
  obj["inference_mode"] = true;
  obj["init_lora_weights"] = true;
  obj["layers_to_transform"] = nullptr;
  double integral = 0;
  if (std::modf(config.alpha, &integral) == 0.0 && std::fabs(config.alpha) < 1e15) {
    obj["lora_alpha"] = static_cast<int64_t>(config.alpha);
  } else {
    obj["lora_alpha"] = config.alpha;
  }
  obj["lora_dropout"] = 0.0;
  obj["modules_to_save"] = nullptr;
  obj["peft_type"] = "LORA";
  obj["r"] = config.rank;
  obj["rank_pattern"] = bj::object();
  obj["alpha_pattern"] = bj::object();
  bj::array targets;
  for (LoraTarget t : config.targets)
    targets.emplace_back(lora_target_name(t));
  obj["target_modules"] = std::move(targets);
  obj["task_type"] = "CAUSAL_LM";
  obj["use_dora"] = false;
  obj["use_rslora"] = config.use_rslora;
  return bj::serialize(obj) + "\n";
}

}  // namespace

const char* lora_target_name(LoraTarget target) {
  switch (target) {
    case LoraTarget::Q_PROJ:
      return "q_proj";
    case LoraTarget::K_PROJ:
      return "k_proj";
    case LoraTarget::V_PROJ:
      return "v_proj";
    case LoraTarget::O_PROJ:
      return "o_proj";
    case LoraTarget::GATE_PROJ:
      return "gate_proj";
    case LoraTarget::UP_PROJ:
      return "up_proj";
    case LoraTarget::DOWN_PROJ:
      return "down_proj";
  }
  return "?";
}

std::optional<LoraTarget> lora_target_from_name(std::string_view name) {
  for (LoraTarget t : LORA_ALL_TARGETS) {
    if (name == lora_target_name(t)) return t;
  }
  return std::nullopt;
}

LoraShape lora_target_shape(const HfConfig& c, LoraTarget target) {
  int64_t q_dim = c.num_heads * c.head_dim;
  int64_t kv_dim = c.num_kv_heads * c.head_dim;
  switch (target) {
    case LoraTarget::Q_PROJ:
      return {c.hidden_size, q_dim};
    case LoraTarget::K_PROJ:
    case LoraTarget::V_PROJ:
      return {c.hidden_size, kv_dim};
    case LoraTarget::O_PROJ:
      return {q_dim, c.hidden_size};
    case LoraTarget::GATE_PROJ:
    case LoraTarget::UP_PROJ:
      return {c.hidden_size, c.intermediate_size};
    case LoraTarget::DOWN_PROJ:
      return {c.intermediate_size, c.hidden_size};
  }
  return {};
}

double LoraConfig::scaling() const {
  auto r = static_cast<double>(rank);
  return use_rslora ? alpha / std::sqrt(r) : alpha / r;
}

void LoraAdapter::allocate(const HfConfig& model) {
  num_layers_ = model.num_layers;
  slot_.fill(-1);
  for (size_t i = 0; i < config_.targets.size(); ++i)
    slot_[index_of(config_.targets[i])] = static_cast<int64_t>(i);
  for (LoraTarget t : LORA_ALL_TARGETS)
    shapes_[index_of(t)] = lora_target_shape(model, t);
  pairs_.clear();
  for (int64_t l = 0; l < num_layers_; ++l) {
    for (LoraTarget t : config_.targets) {
      LoraShape s = shape(t);
      LoraPair p;
      p.a.assign(static_cast<size_t>(config_.rank * s.in), 0.0f);
      p.b.assign(static_cast<size_t>(s.out * config_.rank), 0.0f);
      pairs_.push_back(std::move(p));
    }
  }
}

Result<LoraAdapter> LoraAdapter::init(const HfConfig& model, LoraConfig config, uint64_t seed) {
  if (config.rank < 1) return invalid_argument("the LoRA rank must be at least 1", "rank");
  if (config.targets.empty()) {
    return invalid_argument("name at least one target module to adapt", "target_modules");
  }
  std::array<bool, LORA_TARGET_COUNT> seen{};
  for (LoraTarget t : config.targets) {
    if (seen[index_of(t)]) {
      return invalid_argument(
          std::string("target module ") + lora_target_name(t) + " is named twice",
          "target_modules");
    }
    seen[index_of(t)] = true;
    // Also what keeps a hostile rank from allocating without bound.
    LoraShape shape = lora_target_shape(model, t);
    int64_t limit = std::min(shape.in, shape.out);
    if (config.rank > limit) {
      return invalid_argument("a rank of " + std::to_string(config.rank) + " exceeds " +
                                  lora_target_name(t) + "'s smaller side (" +
                                  std::to_string(limit) + "), where it can add nothing",
                              "rank");
    }
  }
  LoraAdapter adapter;
  adapter.config_ = std::move(config);
  adapter.allocate(model);
  sampling::Rng rng(seed);
  for (int64_t l = 0; l < adapter.num_layers_; ++l) {
    for (LoraTarget t : adapter.config_.targets) {
      // kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / fan_in)
      // = 1 / sqrt(fan_in).
      double bound = 1.0 / std::sqrt(static_cast<double>(adapter.shape(t).in));
      for (float& v : adapter.find(l, t)->a)
        v = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
    }
  }
  return adapter;
}

LoraAdapter LoraAdapter::zeros_like() const {
  LoraAdapter z = *this;
  for (LoraPair& p : z.pairs_) {
    std::fill(p.a.begin(), p.a.end(), 0.0f);
    std::fill(p.b.begin(), p.b.end(), 0.0f);
  }
  return z;
}

int64_t LoraAdapter::pair_index(int64_t layer, LoraTarget target) const {
  int64_t s = slot_[index_of(target)];
  if (s < 0 || layer < 0 || layer >= num_layers_) return -1;
  return layer * static_cast<int64_t>(config_.targets.size()) + s;
}

LoraPair* LoraAdapter::find(int64_t layer, LoraTarget target) {
  int64_t i = pair_index(layer, target);
  return i < 0 ? nullptr : &pairs_[static_cast<size_t>(i)];
}

const LoraPair* LoraAdapter::find(int64_t layer, LoraTarget target) const {
  int64_t i = pair_index(layer, target);
  return i < 0 ? nullptr : &pairs_[static_cast<size_t>(i)];
}

std::vector<std::span<float>> LoraAdapter::tensors() {
  std::vector<std::span<float>> out;
  for (int64_t l = 0; l < num_layers_; ++l) {
    for (LoraTarget t : LORA_ALL_TARGETS) {
      LoraPair* p = find(l, t);
      if (p == nullptr) continue;
      out.emplace_back(p->a);
      out.emplace_back(p->b);
    }
  }
  return out;
}

std::vector<std::span<const float>> LoraAdapter::tensors() const {
  std::vector<std::span<const float>> out;
  for (int64_t l = 0; l < num_layers_; ++l) {
    for (LoraTarget t : LORA_ALL_TARGETS) {
      const LoraPair* p = find(l, t);
      if (p == nullptr) continue;
      out.emplace_back(p->a);
      out.emplace_back(p->b);
    }
  }
  return out;
}

std::vector<std::string> LoraAdapter::tensor_names() const {
  std::vector<std::string> out;
  for (int64_t l = 0; l < num_layers_; ++l) {
    for (LoraTarget t : LORA_ALL_TARGETS) {
      if (find(l, t) == nullptr) continue;
      out.push_back(tensor_name(l, t, false));
      out.push_back(tensor_name(l, t, true));
    }
  }
  return out;
}

std::string LoraAdapter::tensor_name(int64_t layer, LoraTarget target, bool is_b) {
  return std::string(NAME_PREFIX) + std::to_string(layer) + "." + module_of(target) + "." +
         lora_target_name(target) + (is_b ? ".lora_B.weight" : ".lora_A.weight");
}

Result<LoraAdapter> LoraAdapter::load_peft(const std::string& dir, const HfConfig& model) {
  std::string config_path = dir + "/" + CONFIG_FILE;
  SOCLE_ASSIGN_OR_RETURN(LoraConfig config, parse_config(config_path));
  auto adapter = init(model, std::move(config), 0);
  if (!adapter.is_ok()) {
    return invalid_argument(config_path + ": " + adapter.status().message(),
                            adapter.status().param());
  }
  std::string path = dir + "/" + WEIGHTS_FILE;
  SOCLE_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::open(path));
  const int64_t rank = adapter->config_.rank;
  std::map<std::string, bool> seen;
  for (const TensorView& t : file.tensors()) {
    int64_t layer = 0;
    LoraTarget target = LoraTarget::Q_PROJ;
    bool is_b = false;
    if (!parse_tensor_name(t.name, &layer, &target, &is_b)) {
      return invalid_argument(path + ": tensor " + t.name +
                              " is not a LoRA A or B weight of a llama decoder layer");
    }
    LoraPair* pair = adapter->find(layer, target);
    if (pair == nullptr) {
      return invalid_argument(
          path + ": tensor " + t.name + " is for " +
          (layer >= model.num_layers
               ? "layer " + std::to_string(layer) + ", beyond the model's " +
                     std::to_string(model.num_layers)
               : std::string("a module not in target_modules of ") + CONFIG_FILE));
    }
    LoraShape s = adapter->shape(target);
    SOCLE_RETURN_IF_ERROR(is_b ? read_tensor(path, t, {s.out, rank}, &pair->b)
                               : read_tensor(path, t, {rank, s.in}, &pair->a));
    seen[t.name] = true;
  }
  for (int64_t l = 0; l < model.num_layers; ++l) {
    for (LoraTarget t : adapter->config_.targets) {
      for (bool b : {false, true}) {
        std::string name = tensor_name(l, t, b);
        if (!seen.contains(name))
          return invalid_argument(path + ": tensor " + name + " is missing");
      }
    }
  }
  return adapter;
}

Status LoraAdapter::save_peft(const std::string& dir, const std::string& base_model_name) const {
  SOCLE_RETURN_IF_ERROR(make_dirs(dir));
  std::vector<std::string> names;
  std::vector<TensorData> data;
  for (int64_t l = 0; l < num_layers_; ++l) {
    for (LoraTarget t : LORA_ALL_TARGETS) {
      const LoraPair* p = find(l, t);
      if (p == nullptr) continue;
      LoraShape s = shape(t);
      for (bool b : {false, true}) {
        const std::vector<float>& v = b ? p->b : p->a;
        TensorData d;
        d.name = tensor_name(l, t, b);
        d.dtype = DType::F32;
        d.shape = b ? std::vector<int64_t>{s.out, config_.rank}
                    : std::vector<int64_t>{config_.rank, s.in};
        d.bytes = std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * 4);
        data.push_back(std::move(d));
      }
    }
  }
  SOCLE_RETURN_IF_ERROR(safetensors_write(dir + "/" + WEIGHTS_FILE, data, {{"format", "pt"}}));
  return write_file_atomic(dir + "/" + CONFIG_FILE, config_json(config_, base_model_name));
}

}  // namespace socle::engine
