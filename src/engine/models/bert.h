// The bert family of encoders (BERT, XLM-RoBERTa) from a Hugging Face folder or GGUF file: absolute
// position and token-type embeddings, post-norm blocks of bidirectional attention and a GELU
// feed-forward, LayerNorm throughout; with the pooler and the sequence-classification heads
// that cross-encoder rerankers use.
//
// Each call encodes one sequence without padding: a padded batch's masked-in positions
// equal the unpadded sequence's, so padding is the caller's concern, and a sequence's
// result never depends on what else is in a batch.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/format/hf_config.h"
#include "engine/format/sentence_transformers.h"
#include "engine/kernels/weight.h"
#include "engine/models/weight_loader.h"

namespace socle::engine {

// The pooling and normalisation of the encoder at `path`: a folder's sentence-transformers
// settings (nullopt when it has none), or a GGUF file's (bert_embedding_settings_from_gguf).
Result<std::optional<EmbeddingSettings>> bert_embedding_settings(const std::string& path);

class BertModel {
 public:
  // Reads `dir`/config.json and the safetensors weights next to it (tensor names may carry
  // the "bert." or "roberta." prefix that task models add), or, when `dir` is a file, a
  // "bert" GGUF file as llama.cpp writes it (engine/models/bert_gguf.h).
  static Result<BertModel> load(const std::string& dir);

  const HfConfig& config() const { return config_; }

  // The last hidden states of one sequence.
  // hidden: resized to (ids.size(), hidden_size)
  // token_types: (ids.size()) segment ids, or empty for all zeros
  // INVALID_ARGUMENT for an empty input, ids or types out of range, or a sequence longer
  // than the position embeddings allow.
  Status encode(std::span<const int32_t> ids, std::span<const int32_t> token_types,
                std::vector<float>* hidden) const;

  // The classification head's raw scores (no sigmoid or softmax) for one sequence, e.g. a
  // reranker's relevance of a (query, document) pair.
  // scores: resized to (num_labels)
  // FAILED_PRECONDITION if the model has no classification head.
  Status classify(std::span<const int32_t> ids, std::span<const int32_t> token_types,
                  std::vector<float>* scores) const;

 private:
  struct Dense {
    WeightView w;          // (out, in)
    std::vector<float> b;  // (out)
  };
  struct Norm {
    std::vector<float> w;  // (hidden)
    std::vector<float> b;  // (hidden)
  };
  struct Layer {
    Dense query, key, value;  // (hidden, hidden)
    Dense attn_out;           // (hidden, hidden)
    Norm attn_norm;
    Dense intermediate;  // (intermediate, hidden)
    Dense output;        // (hidden, intermediate)
    Norm out_norm;
  };

  BertModel(HfConfig config, WeightLoader weights)
      : config_(std::move(config)), weights_(std::move(weights)) {}
  Status load_tensors();
  Result<Dense> load_dense(const std::string& name, int64_t out, int64_t in);
  Result<Norm> load_norm(const std::string& name);
  // One head's output: dense on the first token, then tanh.
  void dense_tanh(const Dense& d, const float* x, float* out) const;

  HfConfig config_;
  WeightLoader weights_;
  WeightView word_embeddings_;        // (vocab, hidden)
  WeightView position_embeddings_;    // (max_position_embeddings, hidden)
  WeightView token_type_embeddings_;  // (type_vocab_size, hidden)
  Norm embed_norm_;
  std::vector<Layer> layers_;
  bool has_pooler_ = false;
  Dense pooler_;            // (hidden, hidden): bert's pooler, and BERT_CLASSIFIER's
  Dense classifier_;        // (num_labels, hidden): BERT_CLASSIFIER's linear, XLM-R's out_proj
  Dense classifier_dense_;  // (hidden, hidden): XLM_ROBERTA_CLASSIFIER's dense
};

}  // namespace socle::engine
