// rag::Embedder over the model registry: blocking calls to an embedding model's providers
// (for the RAG worker and search), with the same provider choice, health and breaker as
// relayed requests, and failover to the next provider on a failure.
#pragma once

#include "http/client.h"
#include "providers/registry.h"
#include "rag/service.h"

namespace socle::api {

class RegistryEmbedder final : public rag::Embedder {
 public:
  RegistryEmbedder(providers::Registry& registry, http::HttpClient& client, int64_t max_attempts)
      : registry_(registry), client_(client), max_attempts_(max_attempts) {}
  Result<std::vector<std::vector<float>>> embed(const std::string& model,
                                                const std::vector<std::string>& texts) override;

 private:
  providers::Registry& registry_;
  http::HttpClient& client_;
  int64_t max_attempts_;
};

}  // namespace socle::api
