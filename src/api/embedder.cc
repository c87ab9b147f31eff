#include "api/embedder.h"

#include <boost/json/array.hpp>
#include <chrono>

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

}  // namespace

Result<std::vector<std::vector<float>>> RegistryEmbedder::embed(
    const std::string& model, const std::vector<std::string>& texts) {
  providers::Model* m = registry_.find(model);
  if (m == nullptr || m->spec().kind != providers::ModelKind::EMBEDDING) {
    return Status{StatusCode::FAILED_PRECONDITION,
                  "the embedding model '" + model + "' is not configured any more"};
  }
  if (texts.empty()) return std::vector<std::vector<float>>{};
  boost::json::array input;
  for (const auto& t : texts)
    input.emplace_back(t);
  std::vector<const providers::Provider*> tried;
  Status last = unavailable("no provider of '" + model + "' can take the request now");
  for (int64_t attempt = 0; attempt < max_attempts_; ++attempt) {
    providers::Provider* p = m->pick(tried);
    if (p == nullptr) break;
    tried.push_back(p);
    const providers::ProviderSpec& spec = p->spec();
    auto adapter = providers::json_adapter("/embeddings",
                                           boost::json::object{{"model", model}, {"input", input}});
    http::ClientRequest req;
    req.endpoint = spec.endpoint;
    req.target = spec.endpoint.base_path + adapter->path(spec);
    req.headers = {{"content-type", "application/json"}};
    if (!spec.api_key.empty()) req.headers.emplace_back("authorization", "Bearer " + spec.api_key);
    req.body = adapter->body(spec);
    req.connect_timeout_ms = spec.connect_timeout_ms;
    req.first_byte_timeout_ms = spec.first_byte_timeout_ms;
    req.total_timeout_ms = spec.total_timeout_ms;
    auto start = std::chrono::steady_clock::now();
    Result<http::ClientReply> reply = client_.fetch(std::move(req));
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!reply.is_ok()) {
      p->release(false, seconds);
      last = reply.status();
      continue;
    }
    if (reply->status < 200 || reply->status >= 300) {
      p->release(false, seconds);
      last = unavailable("the embedding model answered " + std::to_string(reply->status));
      continue;
    }
    Result<std::vector<std::vector<float>>> vectors = read_vectors(reply->body, texts.size());
    p->release(vectors.is_ok(), seconds);
    if (vectors.is_ok()) return vectors;
    last = vectors.status();
  }
  return last;
}

}  // namespace socle::api
