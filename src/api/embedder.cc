#include "api/embedder.h"

#include <boost/json/array.hpp>
#include <chrono>
#include <optional>

#include "base/json.h"
#include "providers/adapter.h"

namespace socle::api {
namespace {

Result<std::vector<std::vector<float>>> read_vectors(const std::string& body, size_t expected) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::value v, json::parse(body));
  const boost::json::value* data = v.is_object() ? v.as_object().if_contains("data") : nullptr;
  if (data == nullptr || !data->is_array() || data->as_array().size() != expected) {
    return unavailable("the embedding model answered without one vector per input");
  }
  std::vector<std::vector<float>> out(expected);
  for (const auto& item : data->as_array()) {
    const auto* obj = item.if_object();
    const boost::json::value* emb = obj ? obj->if_contains("embedding") : nullptr;
    const boost::json::value* index = obj ? obj->if_contains("index") : nullptr;
    if (emb == nullptr || !emb->is_array() || index == nullptr || !index->is_int64() ||
        index->as_int64() < 0 || static_cast<size_t>(index->as_int64()) >= expected) {
      return unavailable("the embedding model answered a malformed vector");
    }
    std::vector<float>& dst = out[static_cast<size_t>(index->as_int64())];
    for (const auto& x : emb->as_array()) {
      if (!x.is_number()) return unavailable("the embedding model answered a non-number");
      dst.push_back(static_cast<float>(x.to_number<double>()));
    }
  }
  for (const auto& v2 : out) {
    if (v2.empty() || v2.size() != out[0].size()) {
      return unavailable("the embedding model answered vectors of different sizes");
    }
  }
  return out;
}

Result<std::vector<double>> read_scores(const std::string& body, size_t expected) {
  // The rerank adapter's answer: {"results": [{"index", "relevance_score"}]}, best first.
  SOCLE_ASSIGN_OR_RETURN(boost::json::value v, json::parse(body));
  const boost::json::value* results =
      v.is_object() ? v.as_object().if_contains("results") : nullptr;
  if (results == nullptr || !results->is_array()) {
    return unavailable("the rerank model answered without results");
  }
  std::vector<std::optional<double>> got(expected);
  for (const auto& item : results->as_array()) {
    const auto* obj = item.if_object();
    const boost::json::value* index = obj ? obj->if_contains("index") : nullptr;
    const boost::json::value* score = obj ? obj->if_contains("relevance_score") : nullptr;
    if (index == nullptr || !index->is_int64() || score == nullptr || !score->is_number() ||
        index->as_int64() < 0 || static_cast<size_t>(index->as_int64()) >= expected) {
      return unavailable("the rerank model answered a malformed result");
    }
    got[static_cast<size_t>(index->as_int64())] = score->to_number<double>();
  }
  std::vector<double> out;
  out.reserve(expected);
  for (const auto& s : got) {
    if (!s) return unavailable("the rerank model did not score every document");
    out.push_back(*s);
  }
  return out;
}

}  // namespace

Result<providers::Model*> find_rerank_model(const providers::Registry& registry,
                                            const std::string& name) {
  providers::Model* m = registry.find(name);
  if (m == nullptr) {
    return Status(StatusCode::NOT_FOUND,
                  "the rerank model '" + name + "' does not exist; GET /v1/models lists the models",
                  "rerank_model", "model_not_found");
  }
  if (m->spec().kind != providers::ModelKind::RERANK) {
    return invalid_argument("'rerank_model' must name a rerank model; '" + name +
                                "' is a model of kind " +
                                providers::model_kind_name(m->spec().kind),
                            "rerank_model");
  }
  return m;
}

Result<std::string> RegistryEmbedder::call(providers::Model& m, providers::RequestAdapter& adapter,
                                           const rag::OnBehalf* who) {
  const std::string& model = m.spec().name;
  tenancy::UsageRecord u;
  if (who != nullptr && usage_ != nullptr) {
    u.time_ms = clock_->unix_ms();
    u.request_id = who->request_id;
    u.user_id = who->user_id;
    u.key_id = who->key_id;
    u.org_id = who->org_id;
    u.model = model;
    u.endpoint = who->endpoint;
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<const providers::Provider*> tried;
  Status last = unavailable("no provider of '" + model + "' can take the request now");
  Result<std::string> answer = last;
  for (int64_t attempt = 0; attempt < max_attempts_; ++attempt) {
    providers::Provider* p = m.pick(tried);
    if (p == nullptr) break;
    tried.push_back(p);
    const providers::ProviderSpec& spec = p->spec();
    http::ClientRequest req;
    req.endpoint = spec.endpoint;
    req.target = spec.endpoint.base_path + adapter.path(spec);
    req.headers = {{"content-type", adapter.content_type()}};
    if (!spec.api_key.empty()) req.headers.emplace_back("authorization", "Bearer " + spec.api_key);
    req.body = adapter.body(spec);
    req.connect_timeout_ms = spec.connect_timeout_ms;
    req.first_byte_timeout_ms = spec.first_byte_timeout_ms;
    req.total_timeout_ms = spec.total_timeout_ms;
    auto sent = std::chrono::steady_clock::now();
    Result<http::ClientReply> reply = client_.fetch(std::move(req));
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
    if (!reply.is_ok()) {
      p->release(false, seconds);
      last = reply.status();
      continue;
    }
    if (reply->status < 200 || reply->status >= 300) {
      p->release(false, seconds);
      last = unavailable("'" + model + "' answered HTTP " + std::to_string(reply->status));
      continue;
    }
    int64_t prompt = 0;
    int64_t completion = 0;
    answer = adapter.answer(spec, std::move(reply->body), &prompt, &completion);
    p->release(answer.is_ok(), seconds);
    if (!answer.is_ok()) {
      last = answer.status();
      continue;
    }
    u.provider = spec.name;
    u.prompt_tokens = prompt;
    u.completion_tokens = completion;
    break;
  }
  if (who != nullptr && usage_ != nullptr) {
    u.status = answer.is_ok() ? 200 : 502;
    u.latency_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    u.first_token_s = u.latency_s;
    u.attempts = static_cast<int>(tried.size());
    usage_->record(u);
  }
  if (!answer.is_ok()) return last;
  return answer;
}

Result<std::vector<std::vector<float>>> RegistryEmbedder::embed(
    const std::string& model, const std::vector<std::string>& texts) {
  rag::OnBehalf nobody;
  return embed_on_behalf(nobody, model, texts);
}

Result<std::vector<std::vector<float>>> RegistryEmbedder::embed_on_behalf(
    const rag::OnBehalf& who, const std::string& model, const std::vector<std::string>& texts) {
  providers::Model* m = registry_.find(model);
  if (m == nullptr || m->spec().kind != providers::ModelKind::EMBEDDING) {
    return Status{StatusCode::FAILED_PRECONDITION,
                  "the embedding model '" + model + "' is not configured any more"};
  }
  if (texts.empty()) return std::vector<std::vector<float>>{};
  if (m->local() != nullptr) return embed_locally(*m, texts, who);
  boost::json::array input;
  for (const auto& t : texts)
    input.emplace_back(t);
  auto adapter = providers::json_adapter("/embeddings",
                                         boost::json::object{{"model", model}, {"input", input}});
  Result<std::string> body = call(*m, *adapter, who.user_id != 0 ? &who : nullptr);
  if (!body.is_ok()) {
    return unavailable("the embedding model failed: " + body.status().message());
  }
  return read_vectors(*body, texts.size());
}

Result<std::vector<double>> RegistryEmbedder::rerank(const rag::OnBehalf& who,
                                                     const std::string& model,
                                                     const std::string& query,
                                                     const std::vector<std::string>& documents) {
  SOCLE_ASSIGN_OR_RETURN(providers::Model * m, find_rerank_model(registry_, model));
  if (documents.empty()) return std::vector<double>{};
  if (m->local() != nullptr) return rerank_locally(*m, query, documents, who);
  boost::json::array docs;
  for (const auto& d : documents)
    docs.emplace_back(d);
  Result<std::unique_ptr<providers::RequestAdapter>> adapter = providers::rerank_adapter(
      m->spec().name,
      boost::json::object{
          {"model", m->spec().name}, {"query", query}, {"documents", std::move(docs)}});
  if (!adapter.is_ok()) return adapter.status();
  Result<std::string> body = call(*m, **adapter, who.user_id != 0 ? &who : nullptr);
  Result<std::vector<double>> scores = body.is_ok() ? read_scores(*body, documents.size())
                                                    : Result<std::vector<double>>(body.status());
  if (!scores.is_ok()) {
    return Status(StatusCode::UNAVAILABLE,
                  "the rerank model '" + model + "' failed: " + scores.status().message(),
                  "rerank_model", "upstream_error");
  }
  return scores;
}

Result<std::vector<std::vector<float>>> RegistryEmbedder::embed_locally(
    providers::Model& m, const std::vector<std::string>& texts, const rag::OnBehalf& who) {
  auto start = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  Result<std::vector<std::vector<float>>> vectors = m.local()->embed_texts(texts, &tokens);
  record_local(m, who, vectors.is_ok(), tokens, start);
  if (!vectors.is_ok()) {
    return unavailable("the embedding model failed: " + vectors.status().message());
  }
  return vectors;
}

Result<std::vector<double>> RegistryEmbedder::rerank_locally(
    providers::Model& m, const std::string& query, const std::vector<std::string>& documents,
    const rag::OnBehalf& who) {
  auto start = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  Result<std::vector<double>> scores = m.local()->rerank_texts(query, documents, &tokens);
  record_local(m, who, scores.is_ok(), tokens, start);
  if (!scores.is_ok()) {
    return Status(StatusCode::UNAVAILABLE,
                  "the rerank model '" + m.spec().name + "' failed: " + scores.status().message(),
                  "rerank_model", "upstream_error");
  }
  return scores;
}

void RegistryEmbedder::record_local(const providers::Model& m, const rag::OnBehalf& who, bool ok,
                                    int64_t tokens, std::chrono::steady_clock::time_point start) {
  if (who.user_id == 0 || usage_ == nullptr) return;
  tenancy::UsageRecord u;
  u.time_ms = clock_->unix_ms();
  u.request_id = who.request_id;
  u.user_id = who.user_id;
  u.key_id = who.key_id;
  u.org_id = who.org_id;
  u.model = m.spec().name;
  u.provider = "local";
  u.endpoint = who.endpoint;
  u.status = ok ? 200 : 400;
  u.prompt_tokens = ok ? tokens : 0;
  u.latency_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  u.first_token_s = u.latency_s;
  u.attempts = 1;
  usage_->record(u);
}

std::string RegistryEmbedder::tokenizer_path(const std::string& model) const {
  const providers::Model* m = registry_.find(model);
  if (m == nullptr) return "";
  // A model socle runs counts in its own tokenizer unless another is configured.
  if (m->spec().tokenizer.empty() && m->spec().local) return m->spec().local->path;
  return m->spec().tokenizer;
}

}  // namespace socle::api
