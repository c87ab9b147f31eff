#include "engine/format/hf_config.h"

#include <boost/json.hpp>
#include <filesystem>
#include <optional>

#include "base/file.h"
#include "base/json.h"

namespace socle::engine {
namespace {

// transformers' defaults where config classes differ from one family to the next.
constexpr double DEFAULT_ROPE_THETA = 10000.0;
constexpr double DECODER_DEFAULT_EPS = 1e-6;
constexpr double ENCODER_DEFAULT_EPS = 1e-12;
constexpr int64_t QWEN3_DEFAULT_HEAD_DIM = 128;
constexpr int64_t MISTRAL_DEFAULT_SLIDING_WINDOW = 4096;
constexpr int64_t CLASSIFIER_DEFAULT_LABELS = 2;
constexpr int64_t BERT_DEFAULT_TYPE_VOCAB = 2;
constexpr int64_t BERT_DEFAULT_MAX_POSITIONS = 512;
// No published model's sizes come near 2^24 (the largest vocabularies hold about 2^18 tokens,
// the longest contexts about 2^21 positions); the bound keeps every product of two sizes
// well inside 64 bits, whatever a hostile config says.
constexpr int64_t MAX_SIZE = int64_t{1} << 24;

Status bad_key(std::string_view key, const std::string& what) {
  return invalid_argument("config.json: \"" + std::string(key) + "\" " + what, std::string(key));
}

// An integer field; nullopt when missing or null.
Result<std::optional<int64_t>> get_int(const boost::json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return std::optional<int64_t>(static_cast<int64_t>(v->get_uint64()));
  }
  return bad_key(key, "must be an integer, not " + json::dump(*v));
}

Result<std::optional<double>> get_number(const boost::json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<double>();
  if (v->is_double()) return std::optional<double>(v->get_double());
  if (v->is_int64()) return std::optional<double>(static_cast<double>(v->get_int64()));
  if (v->is_uint64()) return std::optional<double>(static_cast<double>(v->get_uint64()));
  return bad_key(key, "must be a number, not " + json::dump(*v));
}

Result<std::optional<bool>> get_bool(const boost::json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<bool>();
  if (v->is_bool()) return std::optional<bool>(v->get_bool());
  return bad_key(key, "must be true or false, not " + json::dump(*v));
}

Result<std::optional<std::string>> get_string(const boost::json::object& obj,
                                              std::string_view key) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  if (v->is_string()) return std::optional<std::string>(std::string(v->get_string()));
  return bad_key(key, "must be a string, not " + json::dump(*v));
}

Result<int64_t> get_positive(const boost::json::object& obj, std::string_view key,
                             std::optional<int64_t> fallback = std::nullopt) {
  SOCLE_ASSIGN_OR_RETURN(auto v, get_int(obj, key));
  if (!v) v = fallback;
  if (!v) return bad_key(key, "is missing");
  if (*v <= 0) return bad_key(key, "must be positive, not " + std::to_string(*v));
  if (*v > MAX_SIZE) {
    return bad_key(key,
                   "is " + std::to_string(*v) + ", over the limit of " + std::to_string(MAX_SIZE));
  }
  return *v;
}

Result<ModelFamily> family_from_type(std::string_view model_type) {
  if (model_type == "llama") return ModelFamily::LLAMA;
  if (model_type == "mistral") return ModelFamily::MISTRAL;
  if (model_type == "qwen2") return ModelFamily::QWEN2;
  if (model_type == "qwen3") return ModelFamily::QWEN3;
  if (model_type == "bert") return ModelFamily::BERT;
  if (model_type == "xlm-roberta") return ModelFamily::XLM_ROBERTA;
  return bad_key("model_type", "is \"" + std::string(model_type) +
                                   "\", which socle does not run (llama, mistral, qwen2, qwen3, "
                                   "bert, xlm-roberta)");
}

Result<Activation> activation_from_name(std::string_view name) {
  if (name == "silu" || name == "swish") return Activation::SILU;
  if (name == "gelu") return Activation::GELU;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::GELU_TANH;
  return bad_key("hidden_act", "is \"" + std::string(name) +
                                   "\", which socle does not compute (silu, gelu, gelu_new, "
                                   "gelu_pytorch_tanh)");
}

// Reads rope settings from `params`, an object holding "rope_type" (or the older "type") and
// the scaling keys; the theta comes from `params` or, failing that, `theta_fallback`.
Result<RopeSettings> parse_rope(const boost::json::object* params, double theta_fallback) {
  RopeSettings rope;
  rope.theta = theta_fallback;
  if (params == nullptr) return rope;
  SOCLE_ASSIGN_OR_RETURN(auto theta, get_number(*params, "rope_theta"));
  if (theta) rope.theta = *theta;
  SOCLE_ASSIGN_OR_RETURN(auto type, get_string(*params, "rope_type"));
  if (!type) {
    SOCLE_ASSIGN_OR_RETURN(type, get_string(*params, "type"));
  }
  std::string name = type.value_or("default");
  if (name == "default") {
    rope.type = RopeType::DEFAULT;
  } else if (name == "linear") {
    rope.type = RopeType::LINEAR;
  } else if (name == "llama3") {
    rope.type = RopeType::LLAMA3;
  } else {
    return bad_key("rope_type",
                   "is \"" + name + "\", which socle does not compute (default, linear, llama3)");
  }
  if (rope.type == RopeType::DEFAULT) return rope;
  SOCLE_ASSIGN_OR_RETURN(auto factor, get_number(*params, "factor"));
  if (!factor || *factor <= 0)
    return bad_key("factor", "must be a positive number for rope type " + name);
  rope.factor = *factor;
  if (rope.type == RopeType::LINEAR) return rope;
  SOCLE_ASSIGN_OR_RETURN(auto low, get_number(*params, "low_freq_factor"));
  SOCLE_ASSIGN_OR_RETURN(auto high, get_number(*params, "high_freq_factor"));
  SOCLE_ASSIGN_OR_RETURN(auto original, get_int(*params, "original_max_position_embeddings"));
  if (!low || !high || !original) {
    return bad_key("rope_type",
                   "is llama3, which needs low_freq_factor, high_freq_factor and "
                   "original_max_position_embeddings");
  }
  if (*high <= *low || *low <= 0 || *original <= 0) {
    return bad_key("high_freq_factor",
                   "must exceed low_freq_factor, both positive, with a positive "
                   "original_max_position_embeddings");
  }
  rope.low_freq_factor = *low;
  rope.high_freq_factor = *high;
  rope.original_max_position_embeddings = *original;
  return rope;
}

Result<ModelHead> head_from_architecture(ModelFamily family, std::string_view arch) {
  bool decoder = model_family_is_decoder(family);
  if (arch.empty()) return decoder ? ModelHead::CAUSAL_LM : ModelHead::ENCODER;
  if (decoder) {
    if (arch.ends_with("ForCausalLM")) return ModelHead::CAUSAL_LM;
  } else if (arch == "BertModel" || arch == "XLMRobertaModel" || arch == "BertForMaskedLM" ||
             arch == "XLMRobertaForMaskedLM") {
    // A masked-LM checkpoint carries the encoder too; socle uses its hidden states.
    return ModelHead::ENCODER;
  } else if (arch == "BertForSequenceClassification") {
    return ModelHead::BERT_CLASSIFIER;
  } else if (arch == "XLMRobertaForSequenceClassification") {
    return ModelHead::XLM_ROBERTA_CLASSIFIER;
  }
  return bad_key("architectures", "names \"" + std::string(arch) + "\", which socle does not run");
}

Status parse_decoder(const boost::json::object& obj, HfConfig& c) {
  SOCLE_ASSIGN_OR_RETURN(c.num_kv_heads, get_positive(obj, "num_key_value_heads", c.num_heads));
  if (c.num_heads % c.num_kv_heads != 0) {
    return bad_key("num_key_value_heads", "(" + std::to_string(c.num_kv_heads) +
                                              ") must divide num_attention_heads (" +
                                              std::to_string(c.num_heads) + ")");
  }
  std::optional<int64_t> default_head_dim;
  if (c.family == ModelFamily::QWEN3) {
    default_head_dim = QWEN3_DEFAULT_HEAD_DIM;
  } else if (c.hidden_size % c.num_heads == 0) {
    default_head_dim = c.hidden_size / c.num_heads;
  }
  SOCLE_ASSIGN_OR_RETURN(c.head_dim, get_positive(obj, "head_dim", default_head_dim));
  if (c.head_dim % 2 != 0) return bad_key("head_dim", "must be even for rotary embeddings");
  SOCLE_ASSIGN_OR_RETURN(auto eps, get_number(obj, "rms_norm_eps"));
  c.norm_eps = eps.value_or(DECODER_DEFAULT_EPS);
  SOCLE_ASSIGN_OR_RETURN(auto act, get_string(obj, "hidden_act"));
  SOCLE_ASSIGN_OR_RETURN(c.activation, activation_from_name(act.value_or("silu")));
  SOCLE_ASSIGN_OR_RETURN(auto tie, get_bool(obj, "tie_word_embeddings"));
  c.tie_word_embeddings = tie.value_or(false);
  SOCLE_ASSIGN_OR_RETURN(auto attention_bias, get_bool(obj, "attention_bias"));
  SOCLE_ASSIGN_OR_RETURN(auto mlp_bias, get_bool(obj, "mlp_bias"));
  switch (c.family) {
    case ModelFamily::LLAMA:
      c.attention_bias = c.attention_out_bias = attention_bias.value_or(false);
      c.mlp_bias = mlp_bias.value_or(false);
      break;
    case ModelFamily::QWEN2:
      // Qwen2's q, k and v projections always carry a bias; its o_proj never does.
      c.attention_bias = true;
      break;
    case ModelFamily::QWEN3:
      c.attention_bias = c.attention_out_bias = attention_bias.value_or(false);
      c.qk_norm = true;
      break;
    default:
      break;
  }
  SOCLE_ASSIGN_OR_RETURN(auto use_sliding, get_bool(obj, "use_sliding_window"));
  SOCLE_ASSIGN_OR_RETURN(auto window, get_int(obj, "sliding_window"));
  if (c.family == ModelFamily::MISTRAL) {
    if (obj.if_contains("sliding_window") == nullptr) window = MISTRAL_DEFAULT_SLIDING_WINDOW;
    c.sliding_window = window.value_or(0);
  } else if (use_sliding.value_or(false)) {
    // Qwen's sliding window covers only some layers (max_window_layers, layer_types); one
    // window for every layer would compute another model, so refuse rather than guess.
    return bad_key("use_sliding_window",
                   "is true; socle runs qwen models with full attention only");
  }
  if (c.sliding_window < 0) return bad_key("sliding_window", "must not be negative");

  SOCLE_ASSIGN_OR_RETURN(auto top_theta, get_number(obj, "rope_theta"));
  double theta = top_theta.value_or(DEFAULT_ROPE_THETA);
  // transformers 5 writes "rope_parameters"; older configs, most published ones, write a
  // top-level "rope_theta" and an optional "rope_scaling".
  const auto* params = obj.if_contains("rope_parameters");
  if (params == nullptr || params->is_null()) params = obj.if_contains("rope_scaling");
  if (params != nullptr && !params->is_null() && !params->is_object()) {
    return bad_key("rope_parameters", "must be an object");
  }
  const boost::json::object* params_obj =
      params != nullptr && params->is_object() ? &params->get_object() : nullptr;
  SOCLE_ASSIGN_OR_RETURN(c.rope, parse_rope(params_obj, theta));
  if (c.rope.theta <= 0) return bad_key("rope_theta", "must be positive");
  return Status::ok();
}

Status parse_encoder(const boost::json::object& obj, HfConfig& c) {
  if (c.hidden_size % c.num_heads != 0) {
    return bad_key("num_attention_heads", "must divide hidden_size");
  }
  c.num_kv_heads = c.num_heads;
  c.head_dim = c.hidden_size / c.num_heads;
  SOCLE_ASSIGN_OR_RETURN(auto eps, get_number(obj, "layer_norm_eps"));
  c.norm_eps = eps.value_or(ENCODER_DEFAULT_EPS);
  SOCLE_ASSIGN_OR_RETURN(auto act, get_string(obj, "hidden_act"));
  SOCLE_ASSIGN_OR_RETURN(c.activation, activation_from_name(act.value_or("gelu")));
  SOCLE_ASSIGN_OR_RETURN(auto position_type, get_string(obj, "position_embedding_type"));
  if (position_type && *position_type != "absolute") {
    return bad_key("position_embedding_type",
                   "is \"" + *position_type + "\"; socle computes \"absolute\" only");
  }
  SOCLE_ASSIGN_OR_RETURN(c.type_vocab_size,
                         get_positive(obj, "type_vocab_size", BERT_DEFAULT_TYPE_VOCAB));
  SOCLE_ASSIGN_OR_RETURN(auto pad, get_int(obj, "pad_token_id"));
  c.pad_token_id = pad.value_or(c.family == ModelFamily::XLM_ROBERTA ? 1 : 0);
  if (c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size) {
    return bad_key("pad_token_id",
                   "(" + std::to_string(c.pad_token_id) + ") must be a token of the vocabulary");
  }
  c.attention_bias = c.attention_out_bias = c.mlp_bias = true;
  if (c.head == ModelHead::BERT_CLASSIFIER || c.head == ModelHead::XLM_ROBERTA_CLASSIFIER) {
    const auto* labels = obj.if_contains("id2label");
    if (labels != nullptr && labels->is_object()) {
      c.num_labels = static_cast<int64_t>(labels->get_object().size());
    } else {
      SOCLE_ASSIGN_OR_RETURN(c.num_labels,
                             get_positive(obj, "num_labels", CLASSIFIER_DEFAULT_LABELS));
    }
    if (c.num_labels <= 0) return bad_key("id2label", "must name at least one label");
  }
  return Status::ok();
}

}  // namespace

const char* model_family_name(ModelFamily family) {
  switch (family) {
    case ModelFamily::LLAMA:
      return "llama";
    case ModelFamily::MISTRAL:
      return "mistral";
    case ModelFamily::QWEN2:
      return "qwen2";
    case ModelFamily::QWEN3:
      return "qwen3";
    case ModelFamily::BERT:
      return "bert";
    case ModelFamily::XLM_ROBERTA:
      return "xlm-roberta";
  }
  return "?";
}

bool model_family_is_decoder(ModelFamily family) {
  return family != ModelFamily::BERT && family != ModelFamily::XLM_ROBERTA;
}

Result<HfConfig> hf_config_parse(std::string_view json_text) {
  auto parsed = json::parse(json_text);
  if (!parsed.is_ok()) return invalid_argument("config.json: " + parsed.status().message());
  if (!parsed->is_object()) return invalid_argument("config.json is not a JSON object");
  const auto& obj = parsed->as_object();
  HfConfig c;
  SOCLE_ASSIGN_OR_RETURN(auto model_type, get_string(obj, "model_type"));
  if (!model_type) return bad_key("model_type", "is missing");
  c.model_type = *model_type;
  SOCLE_ASSIGN_OR_RETURN(c.family, family_from_type(c.model_type));
  if (const auto* archs = obj.if_contains("architectures"); archs != nullptr && !archs->is_null()) {
    if (!archs->is_array() || (!archs->get_array().empty() && !archs->get_array()[0].is_string())) {
      return bad_key("architectures", "must be an array of strings");
    }
    if (!archs->get_array().empty()) c.architecture = archs->get_array()[0].get_string();
  }
  SOCLE_ASSIGN_OR_RETURN(c.head, head_from_architecture(c.family, c.architecture));
  SOCLE_ASSIGN_OR_RETURN(c.vocab_size, get_positive(obj, "vocab_size"));
  SOCLE_ASSIGN_OR_RETURN(c.hidden_size, get_positive(obj, "hidden_size"));
  SOCLE_ASSIGN_OR_RETURN(c.intermediate_size, get_positive(obj, "intermediate_size"));
  SOCLE_ASSIGN_OR_RETURN(c.num_layers, get_positive(obj, "num_hidden_layers"));
  SOCLE_ASSIGN_OR_RETURN(c.num_heads, get_positive(obj, "num_attention_heads"));
  bool decoder = model_family_is_decoder(c.family);
  SOCLE_ASSIGN_OR_RETURN(
      c.max_position_embeddings,
      get_positive(obj, "max_position_embeddings",
                   decoder ? std::nullopt : std::optional<int64_t>(BERT_DEFAULT_MAX_POSITIONS)));
  if (decoder) {
    SOCLE_RETURN_IF_ERROR(parse_decoder(obj, c));
  } else {
    SOCLE_RETURN_IF_ERROR(parse_encoder(obj, c));
  }
  return c;
}

Result<HfConfig> hf_config_read(const std::string& dir) {
  std::string path = (std::filesystem::path(dir) / "config.json").string();
  SOCLE_ASSIGN_OR_RETURN(std::string text, read_file(path));
  auto config = hf_config_parse(text);
  if (!config.is_ok()) {
    // The parser's messages name "config.json"; name the file itself instead.
    const Status& s = config.status();
    std::string message = s.message();
    constexpr std::string_view PARSER_PREFIX = "config.json";
    if (message.starts_with(PARSER_PREFIX)) message.erase(0, PARSER_PREFIX.size());
    return Status(s.code(), path + message, s.param());
  }
  return config;
}

}  // namespace socle::engine
