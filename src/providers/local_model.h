// A model that socle runs on its own engine, loaded at start from a `[[models]]` entry with a
// `path`: the weights, the tokenizer, the chat template and the stop tokens, plus what runs
// them. A decoder (chat, completion) gets a scheduler::Runner (continuous batching on its own
// thread); an encoder (embedding, rerank) gets one worker thread that runs its requests in
// order.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "engine/format/sentence_transformers.h"
#include "engine/models/bert.h"
#include "engine/models/llama.h"
#include "engine/scheduler/runner.h"
#include "engine/template/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "providers/model_spec.h"

namespace socle::providers {

class LocalModel {
 public:
  // Loads `spec.local`: the model (a Hugging Face folder or a GGUF file), its tokenizer (the
  // folder's tokenizer.json, or the one the GGUF file carries), for chat models the chat
  // template (`chat_template` if given, else tokenizer_config.json's or the GGUF file's), and
  // starts the runner or the encoder thread. INVALID_ARGUMENT naming the model and what is
  // missing or wrong.
  static Result<std::unique_ptr<LocalModel>> load(const ModelSpec& spec);
  ~LocalModel();
  // Stops the runner (its sequences end CANCELLED) and the encoder thread, ahead of the
  // destructor; later calls do nothing.
  void stop();
  LocalModel(const LocalModel&) = delete;
  LocalModel& operator=(const LocalModel&) = delete;

  ModelKind kind() const { return kind_; }
  const engine::tokenizer::Tokenizer& tokenizer() const { return *tokenizer_; }
  int64_t vocab_size() const;
  // The most positions (prompt and output) a request may use.
  int64_t context_length() const { return context_length_; }
  const LocalSpec& settings() const { return settings_; }

  // Decoders.
  const engine::jinja::ChatTemplate* chat_template() const {
    return chat_template_ ? &*chat_template_ : nullptr;
  }
  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }
  const std::vector<int32_t>& stop_token_ids() const { return stop_ids_; }
  // The decoder's weights (shared, read-only, with the runner): what fine-tuning trains on.
  const engine::LlamaModel* decoder() const { return llama_ ? &*llama_ : nullptr; }
  // The bytes each token adds mid-text, for output constrained to JSON: computed on first
  // use (one decode per vocabulary entry), then shared.
  std::shared_ptr<const engine::sampling::TokenTexts> token_texts() const;
  engine::scheduler::Runner* runner() { return runner_.get(); }
  const engine::scheduler::Runner* runner() const { return runner_.get(); }

  // Encoders: `work` runs on the model's thread, after the work posted before it.
  const engine::BertModel* encoder() const { return bert_ ? &*bert_ : nullptr; }
  const engine::EmbeddingSettings& embedding_settings() const { return embedding_; }
  void post(std::function<void()> work);
  // The pooled embedding of `ids` (the model's pooling and normalisation), on the calling
  // thread; INVALID_ARGUMENT for ids the model cannot read.
  Result<std::vector<float>> embed_ids(std::span<const int32_t> ids) const;
  // Each text tokenised with its special tokens, then embed_ids: for RAG's workers. Adds the
  // tokens read to *tokens. INVALID_ARGUMENT naming the text that is longer than the context.
  Result<std::vector<std::vector<float>>> embed_texts(const std::vector<std::string>& texts,
                                                      int64_t* tokens) const;
  // A cross-encoder's score of one tokenised (query, document) pair, on the calling thread:
  // the sigmoid of a one-label head's score (its raw score when `raw`), else the first
  // label's. Token types: 0 up to the first [SEP], 1 after, where the model has two.
  Result<double> score_pair(std::span<const int32_t> ids, bool raw) const;
  // Each document scored against `query` with score_pair, for search's reranking. Adds the
  // tokens read to *tokens.
  Result<std::vector<double>> rerank_texts(const std::string& query,
                                           const std::vector<std::string>& documents,
                                           int64_t* tokens) const;

 private:
  LocalModel() = default;
  void encoder_loop();

  ModelKind kind_ = ModelKind::CHAT;
  LocalSpec settings_;
  std::optional<engine::tokenizer::Tokenizer> tokenizer_;
  int64_t context_length_ = 0;
  std::optional<engine::LlamaModel> llama_;
  std::optional<engine::jinja::ChatTemplate> chat_template_;
  std::string bos_token_;
  std::string eos_token_;
  std::vector<int32_t> stop_ids_;
  std::unique_ptr<engine::scheduler::Runner> runner_;
  mutable std::once_flag token_texts_once_;
  mutable std::shared_ptr<const engine::sampling::TokenTexts> token_texts_;

  std::optional<engine::BertModel> bert_;
  engine::EmbeddingSettings embedding_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool stop_ = false;                       // guarded by mu_
  std::thread worker_;
};

}  // namespace socle::providers
