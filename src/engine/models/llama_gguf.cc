#include "engine/models/llama_gguf.h"

#include <cstring>
#include <deque>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/format/safetensors.h"
#include "engine/kernels/quant.h"
#include "engine/kernels/rope.h"
#include "engine/models/gguf_convert.h"
#include "engine/models/gguf_requantize.h"

namespace socle::engine {
namespace {

constexpr char HF_LAYER_PREFIX[] = "model.layers.";
constexpr char GGUF_LAYER_PREFIX[] = "blk.";

// (Hugging Face suffix, GGUF suffix) inside one layer.
constexpr std::pair<const char*, const char*> LAYER_NAMES[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"mlp.gate_proj.bias", "ffn_gate.bias"},
    {"mlp.up_proj.bias", "ffn_up.bias"},
    {"mlp.down_proj.bias", "ffn_down.bias"},
};

constexpr std::pair<const char*, const char*> GLOBAL_NAMES[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
    {LLAMA_ROPE_FREQS, LLAMA_ROPE_FREQS},
};

// Maps "<from_prefix>N.<suffix>" to "<to_prefix>N.<mapped suffix>" through `table`.
std::optional<std::string> map_name(const std::string& name, bool to_gguf) {
  for (const auto& [hf, gguf] : GLOBAL_NAMES) {
    if (name == (to_gguf ? hf : gguf)) return std::string(to_gguf ? gguf : hf);
  }
  std::string from = to_gguf ? HF_LAYER_PREFIX : GGUF_LAYER_PREFIX;
  std::string to = to_gguf ? GGUF_LAYER_PREFIX : HF_LAYER_PREFIX;
  if (name.rfind(from, 0) != 0) return std::nullopt;
  size_t dot = name.find('.', from.size());
  if (dot == std::string::npos || dot == from.size()) return std::nullopt;
  std::string layer = name.substr(from.size(), dot - from.size());
  for (char ch : layer) {
    if (ch < '0' || ch > '9') return std::nullopt;
  }
  std::string suffix = name.substr(dot + 1);
  for (const auto& [hf, gguf] : LAYER_NAMES) {
    if (suffix == (to_gguf ? hf : gguf)) return to + layer + "." + (to_gguf ? gguf : hf);
  }
  return std::nullopt;
}

std::string key(const std::string& arch, const char* suffix) {
  return arch + "." + suffix;
}

Status tensor_error(const std::string& dir, const std::string& name, const std::string& what) {
  return invalid_argument(dir + ": tensor '" + name + "' " + what);
}

}  // namespace

void llama_gguf_permute_qk(std::vector<float>& w, int64_t n_heads, int64_t rows, int64_t cols) {
  int64_t head_dim = rows / n_heads;
  int64_t half = head_dim / 2;
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t j = 0; j < 2; ++j) {
      for (int64_t i = 0; i < half; ++i) {
        const float* src = w.data() + (h * head_dim + j * half + i) * cols;
        std::memcpy(out.data() + (h * head_dim + 2 * i + j) * cols, src,
                    static_cast<size_t>(cols) * sizeof(float));
      }
    }
  }
  w = std::move(out);
}

std::optional<std::string> llama_gguf_name(const std::string& hf_name) {
  return map_name(hf_name, true);
}

std::optional<std::string> llama_hf_name(const std::string& gguf_name) {
  return map_name(gguf_name, false);
}

const char* llama_gguf_arch(ModelFamily family) {
  switch (family) {
    case ModelFamily::QWEN2:
      return "qwen2";
    case ModelFamily::QWEN3:
      return "qwen3";
    default:
      return "llama";
  }
}

Result<HfConfig> llama_config_from_gguf(const GgufFile& file) {
  auto bad = [&](const std::string& what) { return invalid_argument(file.origin() + ": " + what); };
  const GgufValue* arch_v = file.value("general.architecture");
  if (arch_v == nullptr || arch_v->type != GgufType::STRING) {
    return bad("general.architecture is missing or not a string");
  }
  const std::string& arch = arch_v->s;
  HfConfig c;
  if (arch == "llama") {
    c.family = ModelFamily::LLAMA;
  } else if (arch == "qwen2") {
    c.family = ModelFamily::QWEN2;
  } else if (arch == "qwen3") {
    c.family = ModelFamily::QWEN3;
  } else {
    return bad("architecture '" + arch + "' is not a llama-family decoder (llama, qwen2, qwen3)");
  }
  c.model_type = arch;
  c.head = ModelHead::CAUSAL_LM;
  c.activation = Activation::SILU;
  auto count = [&](const char* suffix, int64_t fallback) -> Result<int64_t> {
    const GgufValue* v = file.value(key(arch, suffix));
    if (v == nullptr) {
      if (fallback >= 0) return fallback;
      return bad(key(arch, suffix) + " is missing");
    }
    auto n = v->as_count();
    if (!n || *n == 0 || *n > (1ull << 40))
      return bad(key(arch, suffix) + " is not a positive count");
    return static_cast<int64_t>(*n);
  };
  auto number = [&](const char* suffix, double fallback) -> Result<double> {
    const GgufValue* v = file.value(key(arch, suffix));
    if (v == nullptr) return fallback;
    auto x = v->as_number();
    if (!x) return bad(key(arch, suffix) + " is not a number");
    return *x;
  };
  SOCLE_ASSIGN_OR_RETURN(c.hidden_size, count("embedding_length", -1));
  SOCLE_ASSIGN_OR_RETURN(c.intermediate_size, count("feed_forward_length", -1));
  SOCLE_ASSIGN_OR_RETURN(c.num_layers, count("block_count", -1));
  SOCLE_ASSIGN_OR_RETURN(c.num_heads, count("attention.head_count", -1));
  SOCLE_ASSIGN_OR_RETURN(c.num_kv_heads, count("attention.head_count_kv", c.num_heads));
  SOCLE_ASSIGN_OR_RETURN(c.head_dim, count("attention.key_length", c.hidden_size / c.num_heads));
  SOCLE_ASSIGN_OR_RETURN(c.max_position_embeddings, count("context_length", -1));
  SOCLE_ASSIGN_OR_RETURN(c.norm_eps, number("attention.layer_norm_rms_epsilon", 1e-6));
  SOCLE_ASSIGN_OR_RETURN(c.rope.theta, number("rope.freq_base", 10000.0));
  if (c.num_heads % c.num_kv_heads != 0) {
    return bad("head_count " + std::to_string(c.num_heads) +
               " is not a multiple of head_count_kv " + std::to_string(c.num_kv_heads));
  }
  if (const GgufValue* s = file.value(key(arch, "rope.scaling.type")); s != nullptr) {
    if (s->type != GgufType::STRING || (s->s != "linear" && s->s != "none")) {
      return bad(key(arch, "rope.scaling.type") + " is not 'linear' or 'none'");
    }
    if (s->s == "linear") {
      c.rope.type = RopeType::LINEAR;
      SOCLE_ASSIGN_OR_RETURN(c.rope.factor, number("rope.scaling.factor", 1.0));
    }
  }
  const GgufTensor* embed = file.find("token_embd.weight");
  if (embed == nullptr || embed->dims.size() != 2)
    return bad("token_embd.weight is missing or not 2-D");
  c.vocab_size = embed->dims[1];
  c.tie_word_embeddings = file.find("output.weight") == nullptr;
  c.attention_bias = file.find("blk.0.attn_q.bias") != nullptr;
  c.attention_out_bias = file.find("blk.0.attn_output.bias") != nullptr;
  c.mlp_bias = file.find("blk.0.ffn_gate.bias") != nullptr;
  c.qk_norm = file.find("blk.0.attn_q_norm.weight") != nullptr;
  c.pad_token_id = -1;
  return c;
}

Status llama_convert_to_gguf(const std::string& dir, const std::string& out, DType type,
                             const std::vector<std::pair<std::string, GgufValue>>& tokenizer_keys) {
  SOCLE_ASSIGN_OR_RETURN(HfConfig c, hf_config_read(dir));
  if (!model_family_is_decoder(c.family)) {
    return invalid_argument(dir + " holds a " + model_family_name(c.family) +
                            " model, not a llama-family decoder");
  }
  if (!tokenizer_keys.empty()) {
    Status s = gguf_check_tokenizer_keys(tokenizer_keys, c.vocab_size);
    if (!s.is_ok()) return invalid_argument(dir + ": " + s.message());
  }
  if (c.sliding_window > 0) {
    return invalid_argument(dir + ": llama.cpp's llama architecture has no sliding window");
  }
  SOCLE_ASSIGN_OR_RETURN(SafetensorsModel model, SafetensorsModel::open_dir(dir));
  std::string arch = llama_gguf_arch(c.family);
  bool permute = arch == "llama";
  std::vector<std::pair<std::string, GgufValue>> meta = {
      {"general.architecture", GgufValue::str(arch)},
      {"general.file_type", GgufValue::u32(gguf_file_type_of(type))},
      {key(arch, "vocab_size"), GgufValue::u32(static_cast<uint32_t>(c.vocab_size))},
      {key(arch, "context_length"),
       GgufValue::u32(static_cast<uint32_t>(c.max_position_embeddings))},
      {key(arch, "embedding_length"), GgufValue::u32(static_cast<uint32_t>(c.hidden_size))},
      {key(arch, "feed_forward_length"),
       GgufValue::u32(static_cast<uint32_t>(c.intermediate_size))},
      {key(arch, "block_count"), GgufValue::u32(static_cast<uint32_t>(c.num_layers))},
      {key(arch, "attention.head_count"), GgufValue::u32(static_cast<uint32_t>(c.num_heads))},
      {key(arch, "attention.head_count_kv"), GgufValue::u32(static_cast<uint32_t>(c.num_kv_heads))},
      {key(arch, "attention.key_length"), GgufValue::u32(static_cast<uint32_t>(c.head_dim))},
      {key(arch, "attention.value_length"), GgufValue::u32(static_cast<uint32_t>(c.head_dim))},
      {key(arch, "attention.layer_norm_rms_epsilon"),
       GgufValue::f32(static_cast<float>(c.norm_eps))},
      {key(arch, "rope.freq_base"), GgufValue::f32(static_cast<float>(c.rope.theta))},
      {key(arch, "rope.dimension_count"), GgufValue::u32(static_cast<uint32_t>(c.head_dim))},
  };
  if (c.rope.type == RopeType::LINEAR) {
    meta.emplace_back(key(arch, "rope.scaling.type"), GgufValue::str("linear"));
    meta.emplace_back(key(arch, "rope.scaling.factor"),
                      GgufValue::f32(static_cast<float>(c.rope.factor)));
  }
  meta.insert(meta.end(), tokenizer_keys.begin(), tokenizer_keys.end());
  std::deque<std::string> storage;  // the bytes `tensors` views; a deque never moves them
  std::vector<GgufTensorData> tensors;
  for (const std::string& name : model.names()) {
    auto gguf_name = llama_gguf_name(name);
    if (!gguf_name) return tensor_error(dir, name, "has no GGUF name");
    if (c.tie_word_embeddings && name == "lm_head.weight") continue;
    const TensorView* t = model.find(name);
    int64_t rows = 0;
    int64_t cols = 0;
    SOCLE_ASSIGN_OR_RETURN(std::vector<float> x, gguf_tensor_floats(dir, name, *t, &rows, &cols));
    bool is_q = name.find("q_proj") != std::string::npos;
    bool is_k = name.find("k_proj") != std::string::npos;
    if (permute && (is_q || is_k)) {
      // Biases permute as a column of one value per row.
      int64_t heads = is_q ? c.num_heads : c.num_kv_heads;
      if (t->shape.size() == 1) {
        llama_gguf_permute_qk(x, heads, cols, 1);
      } else {
        llama_gguf_permute_qk(x, heads, rows, cols);
      }
    }
    tensors.push_back(
        gguf_tensor_encode(*gguf_name, x, rows, cols, t->shape.size() == 2, type, &storage));
  }
  if (c.rope.type == RopeType::LLAMA3) {
    // convert_hf_to_gguf.py writes llama 3.1's scaling as one divisor per frequency.
    int64_t n = c.head_dim / 2;
    std::vector<float> base(static_cast<size_t>(n));
    rope_inv_freq(base.data(), c.head_dim, c.rope.theta);
    std::vector<float> scaled = base;
    rope_scale_llama3(scaled.data(), n, c.rope.factor, c.rope.low_freq_factor,
                      c.rope.high_freq_factor,
                      static_cast<double>(c.rope.original_max_position_embeddings));
    std::vector<float> factors(static_cast<size_t>(n));
    for (size_t i = 0; i < factors.size(); ++i)
      factors[i] = base[i] / scaled[i];
    storage.emplace_back(reinterpret_cast<const char*>(factors.data()),
                         factors.size() * sizeof(float));
    tensors.push_back({LLAMA_ROPE_FREQS, DType::F32, {n}, storage.back()});
  }
  return gguf_write(out, meta, tensors);
}

}  // namespace socle::engine
