#include "random_hf_llama.h"

#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include "engine/format/safetensors_writer.h"
#include "engine/sampling/rng.h"

namespace socle::train::bench {
namespace {

constexpr double ROPE_THETA = 10000.0;
constexpr double NORM_EPS = 1e-5;
constexpr double NORM_SPREAD = 0.2;  // norm weights in [1 - spread, 1 + spread)

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// Uniform on [center - half, center + half).
Tensor uniform(std::string name, std::vector<int64_t> shape, double center, double half,
               engine::sampling::Rng* rng) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  Tensor t{std::move(name), std::move(shape), std::vector<float>(static_cast<size_t>(n))};
  for (float& v : t.values)
    v = static_cast<float>(center + half * (2 * rng->uniform() - 1));
  return t;
}

// Uniform with variance 1/cols: half-width sqrt(3 / cols).
Tensor matrix(std::string name, int64_t rows, int64_t cols, engine::sampling::Rng* rng) {
  return uniform(std::move(name), {rows, cols}, 0.0, std::sqrt(3.0 / static_cast<double>(cols)),
                 rng);
}

std::string config_json(const RandomLlamaShape& s) {
  boost::json::object c;
  c["architectures"] = boost::json::array{"LlamaForCausalLM"};
  c["model_type"] = "llama";
  c["hidden_size"] = s.hidden;
  c["intermediate_size"] = s.intermediate;
  c["num_hidden_layers"] = s.layers;
  c["num_attention_heads"] = s.heads;
  c["num_key_value_heads"] = s.kv_heads;
  c["head_dim"] = s.hidden / s.heads;
  c["vocab_size"] = s.vocab;
  c["max_position_embeddings"] = s.context;
  c["rms_norm_eps"] = NORM_EPS;
  c["rope_theta"] = ROPE_THETA;
  c["hidden_act"] = "silu";
  c["attention_bias"] = false;
  c["mlp_bias"] = false;
  c["tie_word_embeddings"] = false;
  c["torch_dtype"] = "float32";
  return boost::json::serialize(c);
}

}  // namespace

int64_t random_llama_parameters(const RandomLlamaShape& s) {
  const int64_t head_dim = s.hidden / s.heads;
  const int64_t q = s.heads * head_dim;
  const int64_t kv = s.kv_heads * head_dim;
  const int64_t block =
      s.hidden * (q + 2 * kv) + q * s.hidden + 3 * s.hidden * s.intermediate + 2 * s.hidden;
  return 2 * s.vocab * s.hidden + s.layers * block + s.hidden;
}

Status random_llama_write(const std::string& dir, const RandomLlamaShape& s, uint64_t seed) {
  if (s.hidden % s.heads != 0 || s.heads % s.kv_heads != 0) {
    return invalid_argument("the hidden size must split into heads, and heads into KV groups");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(StatusCode::INTERNAL, "cannot create " + dir + ": " + ec.message());
  const int64_t head_dim = s.hidden / s.heads;
  engine::sampling::Rng rng(seed);
  std::vector<Tensor> tensors;
  tensors.push_back(uniform("model.embed_tokens.weight", {s.vocab, s.hidden}, 0.0, 1.0, &rng));
  for (int64_t l = 0; l < s.layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    tensors.push_back(uniform(p + "input_layernorm.weight", {s.hidden}, 1.0, NORM_SPREAD, &rng));
    tensors.push_back(matrix(p + "self_attn.q_proj.weight", s.heads * head_dim, s.hidden, &rng));
    tensors.push_back(matrix(p + "self_attn.k_proj.weight", s.kv_heads * head_dim, s.hidden, &rng));
    tensors.push_back(matrix(p + "self_attn.v_proj.weight", s.kv_heads * head_dim, s.hidden, &rng));
    tensors.push_back(matrix(p + "self_attn.o_proj.weight", s.hidden, s.heads * head_dim, &rng));
    tensors.push_back(
        uniform(p + "post_attention_layernorm.weight", {s.hidden}, 1.0, NORM_SPREAD, &rng));
    tensors.push_back(matrix(p + "mlp.gate_proj.weight", s.intermediate, s.hidden, &rng));
    tensors.push_back(matrix(p + "mlp.up_proj.weight", s.intermediate, s.hidden, &rng));
    tensors.push_back(matrix(p + "mlp.down_proj.weight", s.hidden, s.intermediate, &rng));
  }
  tensors.push_back(uniform("model.norm.weight", {s.hidden}, 1.0, NORM_SPREAD, &rng));
  tensors.push_back(matrix("lm_head.weight", s.vocab, s.hidden, &rng));

  std::vector<engine::TensorData> data;
  data.reserve(tensors.size());
  for (const Tensor& t : tensors) {
    data.push_back({t.name, engine::DType::F32, t.shape,
                    std::string_view(reinterpret_cast<const char*>(t.values.data()),
                                     t.values.size() * sizeof(float))});
  }
  SOCLE_RETURN_IF_ERROR(engine::safetensors_write(dir + "/model.safetensors", data));
  std::ofstream config(dir + "/config.json");
  config << config_json(s) << "\n";
  if (!config) return Status(StatusCode::INTERNAL, "cannot write " + dir + "/config.json");
  return Status::ok();
}

}  // namespace socle::train::bench
