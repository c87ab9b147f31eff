// rag::Embedder over the model registry: blocking calls to an embedding or rerank model's
// providers, or to the model itself when socle runs it (for the RAG worker and search), with the
// same provider choice, health and breaker as relayed requests, failover to the next provider on a
// failure, and one usage record per call for the user it was made for, with the tokens the upstream
// reported.
#pragma once

#include <chrono>

#include "base/clock.h"
#include "http/client.h"
#include "providers/adapter.h"
#include "providers/registry.h"
#include "rag/service.h"
#include "tenancy/usage.h"

namespace socle::api {

// The rerank model `name` for a search's rerank_model: NOT_FOUND (model_not_found) when no model
// has that name, INVALID_ARGUMENT when it is of another kind; both with param rerank_model.
Result<providers::Model*> find_rerank_model(const providers::Registry& registry,
                                            const std::string& name);

class RegistryEmbedder final : public rag::Embedder {
 public:
  // Without `usage` (the `socle index rebuild` command), calls are not recorded; `clock`
  // must be given with it.
  RegistryEmbedder(providers::Registry& registry, http::HttpClient& client, int64_t max_attempts,
                   tenancy::UsageSink* usage = nullptr, const Clock* clock = nullptr)
      : registry_(registry),
        client_(client),
        max_attempts_(max_attempts),
        usage_(usage),
        clock_(clock) {}
  Result<std::vector<std::vector<float>>> embed(const std::string& model,
                                                const std::vector<std::string>& texts) override;
  Result<std::vector<std::vector<float>>> embed_on_behalf(
      const rag::OnBehalf& who, const std::string& model,
      const std::vector<std::string>& texts) override;
  Result<std::vector<double>> rerank(const rag::OnBehalf& who, const std::string& model,
                                     const std::string& query,
                                     const std::vector<std::string>& documents) override;
  std::string tokenizer_path(const std::string& model) const override;

 private:
  // A 2xx answer as adapter->answer() gives it, from the first provider of `m` that answers
  // one; records usage for `who` when given.
  Result<std::string> call(providers::Model& m, providers::RequestAdapter& adapter,
                           const rag::OnBehalf* who);

  // The same for a model socle runs: on the calling thread, with its usage record.
  Result<std::vector<std::vector<float>>> embed_locally(providers::Model& m,
                                                        const std::vector<std::string>& texts,
                                                        const rag::OnBehalf& who);
  Result<std::vector<double>> rerank_locally(providers::Model& m, const std::string& query,
                                             const std::vector<std::string>& documents,
                                             const rag::OnBehalf& who);
  // The usage record of a call to a model socle runs, for `who` when it names a user.
  void record_local(const providers::Model& m, const rag::OnBehalf& who, bool ok, int64_t tokens,
                    std::chrono::steady_clock::time_point start);

  providers::Registry& registry_;
  http::HttpClient& client_;
  int64_t max_attempts_;
  tenancy::UsageSink* usage_;
  const Clock* clock_;
};

}  // namespace socle::api
