#include "engine/models/bert_gguf.h"

#include <deque>
#include <string_view>

#include "engine/format/safetensors.h"
#include "engine/models/gguf_convert.h"
#include "engine/models/gguf_requantize.h"

namespace socle::engine {
namespace {

constexpr char ARCH[] = "bert";
constexpr char HF_LAYER_PREFIX[] = "encoder.layer.";
constexpr char GGUF_LAYER_PREFIX[] = "blk.";
constexpr const char* TASK_PREFIXES[] = {"bert.", "roberta.", "model."};

// (Hugging Face stem, GGUF stem); ".weight" and ".bias" follow both.
constexpr std::pair<const char*, const char*> GLOBAL_NAMES[] = {
    {"embeddings.word_embeddings", "token_embd"},
    {"embeddings.position_embeddings", "position_embd"},
    {"embeddings.token_type_embeddings", "token_types"},
    {"embeddings.LayerNorm", "token_embd_norm"},
};
constexpr std::pair<const char*, const char*> LAYER_NAMES[] = {
    {"attention.self.query", "attn_q"},
    {"attention.self.key", "attn_k"},
    {"attention.self.value", "attn_v"},
    {"attention.output.dense", "attn_output"},
    {"attention.output.LayerNorm", "attn_output_norm"},
    {"intermediate.dense", "ffn_up"},
    {"output.dense", "ffn_down"},
    {"output.LayerNorm", "layer_output_norm"},
};
constexpr char GGUF_CLS[] = "cls";
constexpr char GGUF_CLS_OUT[] = "cls.output";

std::string key(const char* suffix) {
  return std::string(ARCH) + "." + suffix;
}

// "<stem>.weight" -> ("<stem>", ".weight"); nullopt without a .weight or .bias suffix.
std::optional<std::pair<std::string, std::string>> split_suffix(const std::string& name) {
  for (std::string_view suffix : {std::string_view(".weight"), std::string_view(".bias")}) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return std::pair{name.substr(0, name.size() - suffix.size()), std::string(suffix)};
    }
  }
  return std::nullopt;
}

// "<from>N.<stem>" -> "<to>N.<mapped stem>" through LAYER_NAMES.
std::optional<std::string> map_layer(const std::string& stem, bool to_gguf) {
  std::string from = to_gguf ? HF_LAYER_PREFIX : GGUF_LAYER_PREFIX;
  std::string to = to_gguf ? GGUF_LAYER_PREFIX : HF_LAYER_PREFIX;
  if (stem.rfind(from, 0) != 0) return std::nullopt;
  size_t dot = stem.find('.', from.size());
  if (dot == std::string::npos || dot == from.size()) return std::nullopt;
  std::string layer = stem.substr(from.size(), dot - from.size());
  for (char ch : layer) {
    if (ch < '0' || ch > '9') return std::nullopt;
  }
  std::string rest = stem.substr(dot + 1);
  for (const auto& [hf, gguf] : LAYER_NAMES) {
    if (rest == (to_gguf ? hf : gguf)) return to + layer + "." + (to_gguf ? gguf : hf);
  }
  return std::nullopt;
}

Status tensor_error(const std::string& dir, const std::string& name, const std::string& what) {
  return invalid_argument(dir + ": tensor '" + name + "' " + what);
}

GgufPooling gguf_pooling(Pooling pooling) {
  switch (pooling) {
    case Pooling::CLS:
      return GgufPooling::CLS;
    case Pooling::LAST:
      return GgufPooling::LAST;
    case Pooling::MEAN:
      break;
  }
  return GgufPooling::MEAN;
}

}  // namespace

std::optional<std::string> bert_gguf_name(const std::string& hf_name, const HfConfig& config) {
  auto split = split_suffix(hf_name);
  if (!split) return std::nullopt;
  auto [stem, suffix] = *split;
  // The classifier heads sit outside the encoder's prefix.
  if (config.head == ModelHead::BERT_CLASSIFIER && stem == "classifier") {
    return GGUF_CLS_OUT + suffix;
  }
  if (config.head == ModelHead::XLM_ROBERTA_CLASSIFIER) {
    if (stem == "classifier.dense") return GGUF_CLS + suffix;
    if (stem == "classifier.out_proj") return GGUF_CLS_OUT + suffix;
  }
  for (const char* prefix : TASK_PREFIXES) {
    if (stem.rfind(prefix, 0) == 0) {
      stem = stem.substr(std::string_view(prefix).size());
      break;
    }
  }
  if (stem == "pooler.dense") {
    // bert's classifier reads the pooler; an encoder's embeddings never do.
    if (config.head == ModelHead::BERT_CLASSIFIER) return GGUF_CLS + suffix;
    return std::nullopt;
  }
  for (const auto& [hf, gguf] : GLOBAL_NAMES) {
    if (stem == hf) return gguf + suffix;
  }
  auto layer = map_layer(stem, true);
  if (!layer) return std::nullopt;
  return *layer + suffix;
}

std::optional<std::string> bert_hf_name(const std::string& gguf_name) {
  auto split = split_suffix(gguf_name);
  if (!split) return std::nullopt;
  const auto& [stem, suffix] = *split;
  if (stem == GGUF_CLS) return "pooler.dense" + suffix;
  if (stem == GGUF_CLS_OUT) return "classifier" + suffix;
  for (const auto& [hf, gguf] : GLOBAL_NAMES) {
    if (stem == gguf) return hf + suffix;
  }
  auto layer = map_layer(stem, false);
  if (!layer) return std::nullopt;
  return *layer + suffix;
}

Result<HfConfig> bert_config_from_gguf(const GgufFile& file) {
  auto bad = [&](const std::string& what) { return invalid_argument(file.origin() + ": " + what); };
  const GgufValue* arch = file.value("general.architecture");
  if (arch == nullptr || arch->type != GgufType::STRING) {
    return bad("general.architecture is missing or not a string");
  }
  if (arch->s != ARCH) return bad("architecture '" + arch->s + "' is not bert");
  auto count = [&](const std::string& name, int64_t fallback) -> Result<int64_t> {
    const GgufValue* v = file.value(name);
    if (v == nullptr) {
      if (fallback >= 0) return fallback;
      return bad(name + " is missing");
    }
    auto n = v->as_count();
    if (!n || *n == 0 || *n > (1ull << 40)) return bad(name + " is not a positive count");
    return static_cast<int64_t>(*n);
  };
  HfConfig c;
  c.family = ModelFamily::BERT;
  c.model_type = ARCH;
  c.activation = Activation::GELU;
  SOCLE_ASSIGN_OR_RETURN(c.hidden_size, count(key("embedding_length"), -1));
  SOCLE_ASSIGN_OR_RETURN(c.intermediate_size, count(key("feed_forward_length"), -1));
  SOCLE_ASSIGN_OR_RETURN(c.num_layers, count(key("block_count"), -1));
  SOCLE_ASSIGN_OR_RETURN(c.num_heads, count(key("attention.head_count"), -1));
  SOCLE_ASSIGN_OR_RETURN(c.max_position_embeddings, count(key("context_length"), -1));
  SOCLE_ASSIGN_OR_RETURN(c.type_vocab_size, count("tokenizer.ggml.token_type_count", 2));
  if (c.hidden_size % c.num_heads != 0) {
    return bad(key("embedding_length") + " " + std::to_string(c.hidden_size) +
               " is not a multiple of " + key("attention.head_count") + " " +
               std::to_string(c.num_heads));
  }
  c.num_kv_heads = c.num_heads;
  c.head_dim = c.hidden_size / c.num_heads;
  const GgufValue* eps = file.value(key("attention.layer_norm_epsilon"));
  if (eps == nullptr || !eps->as_number()) {
    return bad(key("attention.layer_norm_epsilon") + " is missing or not a number");
  }
  c.norm_eps = *eps->as_number();
  if (const GgufValue* causal = file.value(key("attention.causal"));
      causal != nullptr && causal->type == GgufType::BOOL && causal->b) {
    return bad(key("attention.causal") + " is true; socle's bert encoders are bidirectional");
  }
  const GgufTensor* embd = file.find("token_embd.weight");
  if (embd == nullptr || embd->dims.size() != 2) {
    return bad("tensor token_embd.weight is missing or not a matrix");
  }
  c.vocab_size = embd->dims[1];
  if (const GgufTensor* out = file.find("cls.output.weight"); out != nullptr) {
    if (out->dims.size() != 2) return bad("tensor cls.output.weight is not a matrix");
    if (file.find("cls.weight") == nullptr)
      return bad("tensor cls.output.weight has no cls.weight");
    c.head = ModelHead::BERT_CLASSIFIER;
    c.num_labels = out->dims[1];
  } else {
    c.head = ModelHead::ENCODER;
  }
  return c;
}

Result<EmbeddingSettings> bert_embedding_settings_from_gguf(const GgufFile& file) {
  EmbeddingSettings s;
  s.normalize = true;
  const GgufValue* v = file.value(key("pooling_type"));
  if (v == nullptr) return s;
  auto n = v->as_count();
  if (!n) return invalid_argument(file.origin() + ": " + key("pooling_type") + " is not a count");
  switch (static_cast<GgufPooling>(*n)) {
    case GgufPooling::MEAN:
    case GgufPooling::RANK:
      s.pooling = Pooling::MEAN;
      return s;
    case GgufPooling::CLS:
      s.pooling = Pooling::CLS;
      return s;
    case GgufPooling::LAST:
      s.pooling = Pooling::LAST;
      return s;
    case GgufPooling::NONE:
      break;
  }
  return invalid_argument(file.origin() + ": " + key("pooling_type") + " " + std::to_string(*n) +
                          " is not a pooling socle computes (1 mean, 2 cls, 3 last, 4 rank)");
}

Status bert_convert_to_gguf(const std::string& dir, const std::string& out, DType type,
                            const std::vector<std::pair<std::string, GgufValue>>& tokenizer_keys) {
  SOCLE_ASSIGN_OR_RETURN(HfConfig c, hf_config_read(dir));
  if (model_family_is_decoder(c.family)) {
    return invalid_argument(dir + " holds a " + model_family_name(c.family) +
                            " model, not a bert-family encoder");
  }
  if (c.activation != Activation::GELU) {
    return invalid_argument(dir +
                            ": llama.cpp's bert computes GELU; this model's activation differs");
  }
  if (!tokenizer_keys.empty()) {
    Status s = gguf_check_tokenizer_keys(tokenizer_keys, c.vocab_size);
    if (!s.is_ok()) return invalid_argument(dir + ": " + s.message());
  }
  // XLM-RoBERTa's first real position is pad_token_id + 1: the rows before it go.
  int64_t skip_positions = c.family == ModelFamily::XLM_ROBERTA ? c.pad_token_id + 1 : 0;
  if (skip_positions < 0 || skip_positions >= c.max_position_embeddings) {
    return invalid_argument(dir + ": pad_token_id leaves no position embeddings");
  }
  GgufPooling pooling = GgufPooling::RANK;
  if (c.head == ModelHead::ENCODER) {
    SOCLE_ASSIGN_OR_RETURN(std::optional<EmbeddingSettings> st, sentence_transformers_read(dir));
    pooling = gguf_pooling(st ? st->pooling : Pooling::MEAN);
  }
  SOCLE_ASSIGN_OR_RETURN(SafetensorsModel model, SafetensorsModel::open_dir(dir));
  std::vector<std::pair<std::string, GgufValue>> meta = {
      {"general.architecture", GgufValue::str(ARCH)},
      {"general.file_type", GgufValue::u32(gguf_file_type_of(type))},
      {key("context_length"),
       GgufValue::u32(static_cast<uint32_t>(c.max_position_embeddings - skip_positions))},
      {key("embedding_length"), GgufValue::u32(static_cast<uint32_t>(c.hidden_size))},
      {key("feed_forward_length"), GgufValue::u32(static_cast<uint32_t>(c.intermediate_size))},
      {key("block_count"), GgufValue::u32(static_cast<uint32_t>(c.num_layers))},
      {key("attention.head_count"), GgufValue::u32(static_cast<uint32_t>(c.num_heads))},
      {key("attention.layer_norm_epsilon"), GgufValue::f32(static_cast<float>(c.norm_eps))},
      {key("attention.causal"), GgufValue::boolean(false)},
      {key("pooling_type"), GgufValue::u32(static_cast<uint32_t>(pooling))},
      {"tokenizer.ggml.token_type_count", GgufValue::u32(static_cast<uint32_t>(c.type_vocab_size))},
  };
  for (const auto& kv : tokenizer_keys) {
    if (kv.first != "tokenizer.ggml.token_type_count") meta.push_back(kv);
  }
  std::deque<std::string> storage;
  std::vector<GgufTensorData> tensors;
  for (const std::string& name : model.names()) {
    auto gguf_name = bert_gguf_name(name, c);
    if (!gguf_name) {
      // Position ids buffers and an encoder's pooler are not weights llama.cpp reads.
      if (name.find("position_ids") != std::string::npos ||
          name.find("pooler.") != std::string::npos) {
        continue;
      }
      return tensor_error(dir, name, "has no GGUF name");
    }
    const TensorView* t = model.find(name);
    int64_t rows = 0;
    int64_t cols = 0;
    SOCLE_ASSIGN_OR_RETURN(std::vector<float> x, gguf_tensor_floats(dir, name, *t, &rows, &cols));
    if (*gguf_name == "position_embd.weight" && skip_positions > 0) {
      x.erase(x.begin(), x.begin() + skip_positions * cols);
      rows -= skip_positions;
    }
    tensors.push_back(
        gguf_tensor_encode(*gguf_name, x, rows, cols, t->shape.size() == 2, type, &storage));
  }
  return gguf_write(out, meta, tensors);
}

}  // namespace socle::engine
