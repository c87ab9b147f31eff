#include "providers/local_model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <thread>

#include "base/file.h"
#include "base/json.h"
#include "engine/format/gguf.h"
#include "engine/models/pooling.h"
#include "engine/tokenizer/token_texts.h"

namespace socle::providers {
namespace {

namespace fs = std::filesystem;

bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// Adds `id` to `ids` once.
void add_id(std::vector<int32_t>& ids, int64_t id, int64_t vocab) {
  if (id < 0 || id >= vocab) return;
  auto v = static_cast<int32_t>(id);
  if (std::find(ids.begin(), ids.end(), v) == ids.end()) ids.push_back(v);
}

// generation_config.json's eos_token_id (a number or a list of them), when the folder has one.
Status read_generation_eos(const std::string& dir, int64_t vocab, std::vector<int32_t>& ids) {
  std::string path = (fs::path(dir) / "generation_config.json").string();
  if (!is_file(path)) return Status::ok();
  SOCLE_ASSIGN_OR_RETURN(std::string text, read_file(path));
  Result<boost::json::value> v = json::parse(text);
  if (!v.is_ok() || !v->is_object()) return invalid_argument(path + " is not a JSON object");
  const boost::json::value* eos = v->as_object().if_contains("eos_token_id");
  if (eos == nullptr) return Status::ok();
  if (eos->is_int64()) add_id(ids, eos->as_int64(), vocab);
  if (eos->is_array()) {
    for (const auto& e : eos->as_array()) {
      if (e.is_int64()) add_id(ids, e.as_int64(), vocab);
    }
  }
  return Status::ok();
}

// The chat template a GGUF file carries (tokenizer.chat_template), if any.
Result<std::optional<std::string>> gguf_chat_template(const std::string& path) {
  SOCLE_ASSIGN_OR_RETURN(engine::GgufFile file, engine::GgufFile::open(path));
  auto it = file.metadata().find("tokenizer.chat_template");
  if (it == file.metadata().end() || it->second.type != engine::GgufType::STRING) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(it->second.s);
}

}  // namespace

std::shared_ptr<const engine::sampling::TokenTexts> LocalModel::token_texts() const {
  std::call_once(token_texts_once_, [&] {
    token_texts_ = std::make_shared<const engine::sampling::TokenTexts>(
        engine::tokenizer::token_texts(*tokenizer_));
  });
  return token_texts_;
}

int64_t LocalModel::vocab_size() const {
  if (llama_) return llama_->config().vocab_size;
  return bert_->config().vocab_size;
}

Result<std::unique_ptr<LocalModel>> LocalModel::load(const ModelSpec& spec) {
  const LocalSpec& l = *spec.local;
  std::string where = "models '" + spec.name + "'";
  auto fail = [&where](const Status& s) { return invalid_argument(where + ": " + s.message()); };
  std::unique_ptr<LocalModel> m(new LocalModel());
  m->kind_ = spec.kind;
  m->settings_ = l;
  bool decoder = spec.kind == ModelKind::CHAT || spec.kind == ModelKind::COMPLETION;
  std::string tokenizer_path = spec.tokenizer.empty() ? l.path : spec.tokenizer;
  Result<engine::tokenizer::Tokenizer> tok = engine::tokenizer::Tokenizer::load(tokenizer_path);
  if (!tok.is_ok()) {
    return invalid_argument(where + ": its tokenizer (" + tokenizer_path +
                            ") does not load: " + tok.status().message() +
                            "; give tokenizer = PATH of a tokenizer.json or GGUF file");
  }
  m->tokenizer_ = std::move(tok).value();
  int64_t positions = 0;
  if (decoder) {
    Result<engine::LlamaModel> model = engine::LlamaModel::load(l.path, l.quantize);
    if (!model.is_ok()) return fail(model.status());
    m->llama_ = std::move(model).value();
    positions = m->llama_->config().max_position_embeddings;
  } else {
    Result<engine::BertModel> model = engine::BertModel::load(l.path);
    if (!model.is_ok()) return fail(model.status());
    m->bert_ = std::move(model).value();
    positions = m->bert_->config().max_position_embeddings;
    bool reranker = m->bert_->config().head != engine::ModelHead::ENCODER;
    if (spec.kind == ModelKind::RERANK && !reranker) {
      return invalid_argument(where + ": " + l.path +
                              " has no classification head; a rerank model is a cross-encoder "
                              "(*ForSequenceClassification)");
    }
    if (spec.kind == ModelKind::EMBEDDING) {
      Result<std::optional<engine::EmbeddingSettings>> st = engine::bert_embedding_settings(l.path);
      if (!st.is_ok()) return fail(st.status());
      m->embedding_ = st->value_or(engine::EmbeddingSettings{});
    }
  }
  if (m->tokenizer_->vocab_size() > static_cast<size_t>(m->vocab_size())) {
    return invalid_argument(
        where + ": its tokenizer has " + std::to_string(m->tokenizer_->vocab_size()) +
        " tokens, more than the model's vocabulary of " + std::to_string(m->vocab_size()));
  }
  m->context_length_ = spec.context_length > 0 ? spec.context_length : positions;
  if (m->context_length_ <= 0) m->context_length_ = 2048;
  if (positions > 0 && m->context_length_ > positions && !decoder) {
    return invalid_argument(where + ": context_length " + std::to_string(m->context_length_) +
                            " exceeds the model's " + std::to_string(positions) + " positions");
  }

  if (!decoder) {
    m->worker_ = std::thread([raw = m.get()] { raw->encoder_loop(); });
    return m;
  }

  // The chat template and the tokens that end a generation.
  std::optional<std::string> source;
  std::string config_json;
  if (!l.chat_template.empty()) {
    Result<std::string> text = read_file(l.chat_template);
    if (!text.is_ok()) return fail(text.status());
    source = *text;
  } else if (is_file(l.path)) {
    Result<std::optional<std::string>> t = gguf_chat_template(l.path);
    if (!t.is_ok()) return fail(t.status());
    source = *t;
  } else {
    std::string path = (fs::path(l.path) / "tokenizer_config.json").string();
    if (is_file(path)) {
      Result<std::string> text = read_file(path);
      if (!text.is_ok()) return fail(text.status());
      config_json = *text;
    }
  }
  if (source) {
    Result<engine::jinja::ChatTemplate> t = engine::jinja::ChatTemplate::parse(*source);
    if (!t.is_ok()) return invalid_argument(where + ": chat template: " + t.status().message());
    m->chat_template_ = std::move(t).value();
  } else if (!config_json.empty()) {
    Result<boost::json::value> cfg = json::parse(config_json);
    if (cfg.is_ok() && cfg->is_object() && cfg->as_object().contains("chat_template")) {
      Result<engine::jinja::ChatTemplate> t =
          engine::jinja::ChatTemplate::from_tokenizer_config(config_json);
      if (!t.is_ok()) return invalid_argument(where + ": chat template: " + t.status().message());
      m->chat_template_ = std::move(t).value();
    }
  }
  if (spec.kind == ModelKind::CHAT && !m->chat_template_) {
    return invalid_argument(where + ": " + l.path +
                            " has no chat template; give chat_template = FILE (a Jinja template) "
                            "or declare kind = \"completion\"");
  }
  const engine::tokenizer::Tokenizer& t = *m->tokenizer_;
  if (m->chat_template_) {
    m->bos_token_ = m->chat_template_->bos_token();
    m->eos_token_ = m->chat_template_->eos_token();
  }
  if (m->bos_token_.empty() && t.bos_id()) m->bos_token_ = t.id_to_token(*t.bos_id()).value_or("");
  if (m->eos_token_.empty() && t.eos_id()) m->eos_token_ = t.id_to_token(*t.eos_id()).value_or("");
  int64_t vocab = m->vocab_size();
  if (t.eos_id()) add_id(m->stop_ids_, *t.eos_id(), vocab);
  if (auto id = t.token_to_id(m->eos_token_); id && !m->eos_token_.empty()) {
    add_id(m->stop_ids_, *id, vocab);
  }
  if (!is_file(l.path)) {
    Status st = read_generation_eos(l.path, vocab, m->stop_ids_);
    if (!st.is_ok()) return fail(st);
  }

  engine::scheduler::RunnerOptions ro;
  ro.kv_bytes = l.kv_memory_mb << 20;
  ro.kv_type = l.kv_type;
  ro.block_tokens = static_cast<int32_t>(l.block_tokens);
  ro.max_batch_tokens = l.max_batch_tokens;
  ro.max_sequences = static_cast<int32_t>(l.max_sequences);
  ro.threads = l.threads > 0 ? static_cast<int>(l.threads)
                             : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  Result<std::unique_ptr<engine::scheduler::Runner>> runner =
      engine::scheduler::Runner::start(*m->llama_, ro);
  if (!runner.is_ok()) return fail(runner.status());
  m->runner_ = std::move(runner).value();
  if (m->runner_->capacity_tokens() < m->context_length_) {
    if (spec.context_length > 0) {
      return invalid_argument(
          where + ": kv_memory_mb = " + std::to_string(l.kv_memory_mb) + " holds " +
          std::to_string(m->runner_->capacity_tokens()) +
          " positions, fewer than context_length = " + std::to_string(spec.context_length) +
          "; raise kv_memory_mb or lower context_length");
    }
    m->context_length_ = m->runner_->capacity_tokens();
  }
  return m;
}

LocalModel::~LocalModel() {
  stop();
  runner_.reset();
}

void LocalModel::stop() {
  if (runner_) runner_->stop();
  if (worker_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }
}

Result<std::vector<float>> LocalModel::embed_ids(std::span<const int32_t> ids) const {
  if (!bert_) return invalid_argument("this model does not embed texts", "model");
  std::vector<float> hidden;
  SOCLE_RETURN_IF_ERROR(bert_->encode(ids, {}, &hidden));
  int64_t dim = bert_->config().hidden_size;
  std::vector<float> v(static_cast<size_t>(dim));
  engine::pool_ref(v.data(), hidden.data(), static_cast<int64_t>(ids.size()), dim,
                   embedding_.pooling);
  if (embedding_.normalize) engine::l2_normalize_ref(v.data(), dim);
  return v;
}

Result<std::vector<std::vector<float>>> LocalModel::embed_texts(
    const std::vector<std::string>& texts, int64_t* tokens) const {
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < texts.size(); ++i) {
    SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer_->encode(texts[i], true));
    if (ids.empty() || static_cast<int64_t>(ids.size()) > context_length_) {
      return invalid_argument("text " + std::to_string(i) + " has " + std::to_string(ids.size()) +
                              " tokens; this model reads 1 to " + std::to_string(context_length_));
    }
    *tokens += static_cast<int64_t>(ids.size());
    SOCLE_ASSIGN_OR_RETURN(std::vector<float> v, embed_ids(ids));
    out.push_back(std::move(v));
  }
  return out;
}

Result<double> LocalModel::score_pair(std::span<const int32_t> ids, bool raw) const {
  if (!bert_ || bert_->config().head == engine::ModelHead::ENCODER) {
    return invalid_argument("this model does not score pairs", "model");
  }
  std::vector<int32_t> types;
  std::optional<int32_t> sep = tokenizer_->token_to_id("[SEP]");
  if (bert_->config().type_vocab_size > 1 && sep) {
    types.assign(ids.size(), 0);
    auto first = std::find(ids.begin(), ids.end(), *sep);
    for (auto it = first == ids.end() ? first : first + 1; it != ids.end(); ++it)
      types[static_cast<size_t>(it - ids.begin())] = 1;
  }
  std::vector<float> scores;
  SOCLE_RETURN_IF_ERROR(bert_->classify(ids, types, &scores));
  double score = scores[0];
  if (scores.size() == 1 && !raw) score = 1.0 / (1.0 + std::exp(-score));
  return score;
}

Result<std::vector<double>> LocalModel::rerank_texts(const std::string& query,
                                                     const std::vector<std::string>& documents,
                                                     int64_t* tokens) const {
  std::vector<double> out;
  for (size_t i = 0; i < documents.size(); ++i) {
    SOCLE_ASSIGN_OR_RETURN(std::vector<int32_t> ids,
                           tokenizer_->encode_pair(query, documents[i], true));
    if (ids.empty() || static_cast<int64_t>(ids.size()) > context_length_) {
      return invalid_argument("document " + std::to_string(i) + " with the query has " +
                              std::to_string(ids.size()) + " tokens; this model reads 1 to " +
                              std::to_string(context_length_));
    }
    *tokens += static_cast<int64_t>(ids.size());
    SOCLE_ASSIGN_OR_RETURN(double score, score_pair(ids, false));
    out.push_back(score);
  }
  return out;
}

void LocalModel::post(std::function<void()> work) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(work));
  }
  wake_.notify_one();
}

void LocalModel::encoder_loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left to answer
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace socle::providers
