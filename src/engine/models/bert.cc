#include "engine/models/bert.h"

#include <cmath>
#include <filesystem>

#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/norm.h"
#include "engine/models/bert_gguf.h"

namespace socle::engine {
namespace {

// Task models wrap the encoder under one of these names; a bare encoder has none.
constexpr const char* ENCODER_PREFIXES[] = {"", "bert.", "roberta.", "model."};

void add_in_place(float* x, const float* y, size_t n) {
  for (size_t i = 0; i < n; ++i)
    x[i] += y[i];
}

}  // namespace

Result<std::optional<EmbeddingSettings>> bert_embedding_settings(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return sentence_transformers_read(path);
  SOCLE_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(path));
  SOCLE_ASSIGN_OR_RETURN(EmbeddingSettings s, bert_embedding_settings_from_gguf(file));
  return std::optional<EmbeddingSettings>(s);
}

Result<BertModel> BertModel::load(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(dir, ec)) {
    SOCLE_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(dir));
    SOCLE_ASSIGN_OR_RETURN(HfConfig config, bert_config_from_gguf(file));
    BertModel model(std::move(config), WeightLoader(std::move(file), bert_hf_name));
    SOCLE_RETURN_IF_ERROR(model.load_tensors());
    return model;
  }
  SOCLE_ASSIGN_OR_RETURN(HfConfig config, hf_config_read(dir));
  if (model_family_is_decoder(config.family)) {
    return invalid_argument(dir + " holds a " + model_family_name(config.family) +
                            " model, not a bert-family encoder");
  }
  SOCLE_ASSIGN_OR_RETURN(SafetensorsModel tensors, SafetensorsModel::open_dir(dir));
  BertModel model(std::move(config), WeightLoader(std::move(tensors)));
  SOCLE_RETURN_IF_ERROR(model.load_tensors());
  return model;
}

Result<BertModel::Dense> BertModel::load_dense(const std::string& name, int64_t out, int64_t in) {
  Dense d;
  SOCLE_ASSIGN_OR_RETURN(d.w, weights_.matrix(name + ".weight", out, in));
  weights_.pack_for_matmul(&d.w);
  SOCLE_ASSIGN_OR_RETURN(d.b, weights_.vector(name + ".bias", out));
  return d;
}

Result<BertModel::Norm> BertModel::load_norm(const std::string& name) {
  Norm n;
  SOCLE_ASSIGN_OR_RETURN(n.w, weights_.vector(name + ".weight", config_.hidden_size));
  SOCLE_ASSIGN_OR_RETURN(n.b, weights_.vector(name + ".bias", config_.hidden_size));
  return n;
}

Status BertModel::load_tensors() {
  const HfConfig& c = config_;
  std::string p;
  bool found = false;
  for (const char* prefix : ENCODER_PREFIXES) {
    if (weights_.has(std::string(prefix) + "embeddings.word_embeddings.weight")) {
      p = prefix;
      found = true;
      break;
    }
  }
  if (!found) return not_found("the model has no tensor 'embeddings.word_embeddings.weight'");
  int64_t hidden = c.hidden_size;
  SOCLE_ASSIGN_OR_RETURN(word_embeddings_, weights_.matrix(p + "embeddings.word_embeddings.weight",
                                                           c.vocab_size, hidden));
  SOCLE_ASSIGN_OR_RETURN(position_embeddings_,
                         weights_.matrix(p + "embeddings.position_embeddings.weight",
                                         c.max_position_embeddings, hidden));
  SOCLE_ASSIGN_OR_RETURN(
      token_type_embeddings_,
      weights_.matrix(p + "embeddings.token_type_embeddings.weight", c.type_vocab_size, hidden));
  SOCLE_ASSIGN_OR_RETURN(embed_norm_, load_norm(p + "embeddings.LayerNorm"));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    std::string l = p + "encoder.layer." + std::to_string(i) + ".";
    Layer layer;
    SOCLE_ASSIGN_OR_RETURN(layer.query, load_dense(l + "attention.self.query", hidden, hidden));
    SOCLE_ASSIGN_OR_RETURN(layer.key, load_dense(l + "attention.self.key", hidden, hidden));
    SOCLE_ASSIGN_OR_RETURN(layer.value, load_dense(l + "attention.self.value", hidden, hidden));
    SOCLE_ASSIGN_OR_RETURN(layer.attn_out,
                           load_dense(l + "attention.output.dense", hidden, hidden));
    SOCLE_ASSIGN_OR_RETURN(layer.attn_norm, load_norm(l + "attention.output.LayerNorm"));
    SOCLE_ASSIGN_OR_RETURN(layer.intermediate,
                           load_dense(l + "intermediate.dense", c.intermediate_size, hidden));
    SOCLE_ASSIGN_OR_RETURN(layer.output,
                           load_dense(l + "output.dense", hidden, c.intermediate_size));
    SOCLE_ASSIGN_OR_RETURN(layer.out_norm, load_norm(l + "output.LayerNorm"));
    layers_.push_back(std::move(layer));
  }
  // Sentence-embedding checkpoints often drop the pooler; only bert's classifier needs it.
  has_pooler_ = weights_.has(p + "pooler.dense.weight");
  if (has_pooler_) {
    SOCLE_ASSIGN_OR_RETURN(pooler_, load_dense(p + "pooler.dense", hidden, hidden));
  }
  if (c.head == ModelHead::BERT_CLASSIFIER) {
    if (!has_pooler_) return not_found("the model has no tensor '" + p + "pooler.dense.weight'");
    SOCLE_ASSIGN_OR_RETURN(classifier_, load_dense("classifier", c.num_labels, hidden));
  } else if (c.head == ModelHead::XLM_ROBERTA_CLASSIFIER) {
    SOCLE_ASSIGN_OR_RETURN(classifier_dense_, load_dense("classifier.dense", hidden, hidden));
    SOCLE_ASSIGN_OR_RETURN(classifier_, load_dense("classifier.out_proj", c.num_labels, hidden));
  }
  return Status::ok();
}

Status BertModel::encode(std::span<const int32_t> ids, std::span<const int32_t> token_types,
                         std::vector<float>* hidden) const {
  const HfConfig& c = config_;
  auto n = static_cast<int64_t>(ids.size());
  if (n == 0) return invalid_argument("no tokens to encode", "input");
  if (!token_types.empty() && token_types.size() != ids.size()) {
    return invalid_argument("token types (" + std::to_string(token_types.size()) +
                                ") and tokens (" + std::to_string(ids.size()) +
                                ") differ in number",
                            "token_type_ids");
  }
  // Positions: bert counts from 0; XLM-RoBERTa counts non-padding tokens from
  // pad_token_id + 1 and puts padding at pad_token_id, as transformers'
  // create_position_ids_from_input_ids does.
  std::vector<int64_t> positions(static_cast<size_t>(n));
  int64_t counted = 0;
  for (int64_t t = 0; t < n; ++t) {
    int32_t id = ids[static_cast<size_t>(t)];
    if (id < 0 || id >= c.vocab_size) {
      return invalid_argument("token " + std::to_string(t) + " is " + std::to_string(id) +
                                  ", outside the vocabulary of " + std::to_string(c.vocab_size),
                              "input");
    }
    int64_t pos = t;
    if (c.family == ModelFamily::XLM_ROBERTA) {
      pos = id == c.pad_token_id ? c.pad_token_id : c.pad_token_id + ++counted;
    }
    if (pos >= c.max_position_embeddings) {
      return invalid_argument(
          "the input has " + std::to_string(n) + " tokens, more than the model's positions allow",
          "input");
    }
    positions[static_cast<size_t>(t)] = pos;
    if (!token_types.empty() && (token_types[static_cast<size_t>(t)] < 0 ||
                                 token_types[static_cast<size_t>(t)] >= c.type_vocab_size)) {
      return invalid_argument("token type " + std::to_string(t) + " is " +
                                  std::to_string(token_types[static_cast<size_t>(t)]) +
                                  ", outside [0, " + std::to_string(c.type_vocab_size) + ")",
                              "token_type_ids");
    }
  }

  int64_t dim = c.hidden_size;
  auto size = [](int64_t a, int64_t b) { return static_cast<size_t>(a * b); };
  std::vector<float>& x = *hidden;  // the residual stream
  x.assign(size(n, dim), 0.0f);
  std::vector<float> row(static_cast<size_t>(dim));
  for (int64_t t = 0; t < n; ++t) {
    float* xt = &x[size(t, dim)];
    weight_row_to_f32(word_embeddings_, ids[static_cast<size_t>(t)], xt);
    weight_row_to_f32(position_embeddings_, positions[static_cast<size_t>(t)], row.data());
    add_in_place(xt, row.data(), row.size());
    int32_t type = token_types.empty() ? 0 : token_types[static_cast<size_t>(t)];
    weight_row_to_f32(token_type_embeddings_, type, row.data());
    add_in_place(xt, row.data(), row.size());
  }
  auto eps = static_cast<float>(c.norm_eps);
  layernorm(x.data(), x.data(), embed_norm_.w.data(), embed_norm_.b.data(), n, dim, eps);

  std::vector<float> q(size(n, dim)), k(size(n, dim)), v(size(n, dim));
  std::vector<float> att(size(n, dim)), proj(size(n, dim));
  std::vector<float> inter(size(n, c.intermediate_size));
  AttentionParams ap;
  ap.n_heads = c.num_heads;
  ap.n_kv_heads = c.num_heads;
  ap.head_dim = c.head_dim;
  ap.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  ap.causal = false;
  for (const Layer& l : layers_) {
    matmul(q.data(), x.data(), l.query.w, l.query.b.data(), n);
    matmul(k.data(), x.data(), l.key.w, l.key.b.data(), n);
    matmul(v.data(), x.data(), l.value.w, l.value.b.data(), n);
    attention(att.data(), q.data(), k.data(), v.data(), n, n, ap);
    matmul(proj.data(), att.data(), l.attn_out.w, l.attn_out.b.data(), n);
    // Post-norm: the residual sum is normalised, unlike llama's pre-norm blocks.
    add_in_place(x.data(), proj.data(), x.size());
    layernorm(x.data(), x.data(), l.attn_norm.w.data(), l.attn_norm.b.data(), n, dim, eps);
    matmul(inter.data(), x.data(), l.intermediate.w, l.intermediate.b.data(), n);
    switch (c.activation) {
      case Activation::GELU:
        gelu(inter.data(), static_cast<int64_t>(inter.size()));
        break;
      case Activation::GELU_TANH:
        gelu_tanh(inter.data(), static_cast<int64_t>(inter.size()));
        break;
      case Activation::SILU:
        silu(inter.data(), static_cast<int64_t>(inter.size()));
        break;
    }
    matmul(proj.data(), inter.data(), l.output.w, l.output.b.data(), n);
    add_in_place(x.data(), proj.data(), x.size());
    layernorm(x.data(), x.data(), l.out_norm.w.data(), l.out_norm.b.data(), n, dim, eps);
  }
  return Status::ok();
}

void BertModel::dense_tanh(const Dense& d, const float* x, float* out) const {
  matmul(out, x, d.w, d.b.data(), 1);
  for (int64_t i = 0; i < d.w.rows; ++i)
    out[i] = std::tanh(out[i]);
}

Status BertModel::classify(std::span<const int32_t> ids, std::span<const int32_t> token_types,
                           std::vector<float>* scores) const {
  const HfConfig& c = config_;
  if (c.head != ModelHead::BERT_CLASSIFIER && c.head != ModelHead::XLM_ROBERTA_CLASSIFIER) {
    return Status(StatusCode::FAILED_PRECONDITION,
                  "the model (" + c.architecture + ") has no classification head", "model");
  }
  std::vector<float> hidden;
  SOCLE_RETURN_IF_ERROR(encode(ids, token_types, &hidden));
  // Both heads read the first token ([CLS] or <s>) through a dense layer and tanh: bert's
  // pooler, or XLM-RoBERTa's classifier.dense.
  std::vector<float> first(static_cast<size_t>(c.hidden_size));
  dense_tanh(c.head == ModelHead::BERT_CLASSIFIER ? pooler_ : classifier_dense_, hidden.data(),
             first.data());
  scores->resize(static_cast<size_t>(c.num_labels));
  matmul(scores->data(), first.data(), classifier_.w, classifier_.b.data(), 1);
  return Status::ok();
}

}  // namespace socle::engine
