// How one client request is put to one provider and how the provider's answer becomes the
// client's: the path under the provider's base URL, the body with the provider's model
// name, and the treatment of a non-streamed answer. The relay (relay.h) stays the same for
// every route and provider kind; what differs lives here.
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "http/multipart.h"
#include "providers/model_spec.h"

namespace socle::providers {

class RequestAdapter {
 public:
  virtual ~RequestAdapter() = default;

  // Whether the client asked for a stream of server-sent events.
  virtual bool stream() const { return false; }
  // Whether the client asked for the usage chunk in a stream.
  virtual bool client_wants_usage() const { return false; }
  virtual std::string content_type() const = 0;
  // The path under the provider's base URL ("/chat/completions").
  virtual std::string path(const ProviderSpec& provider) const = 0;
  // The body for `provider`, with its model name.
  virtual std::string body(const ProviderSpec& provider) = 0;
  // A non-streamed 2xx answer as the client gets it, with the tokens it reports. An error
  // means the answer is malformed: the upstream is at fault and the next one is tried.
  virtual Result<std::string> answer(const ProviderSpec& provider, std::string upstream_body,
                                     int64_t* prompt_tokens, int64_t* completion_tokens) = 0;
};

// OpenAI JSON routes (chat, completions, embeddings, and rerank on openai/albert providers):
// the body passes through with "model" replaced; streams ask for include_usage.
// `route` is the OpenAI path under /v1: "/chat/completions".
std::unique_ptr<RequestAdapter> json_adapter(std::string route, boost::json::object body);

// POST /v1/rerank. Takes {"query"|"prompt", "documents"|"input", "top_n"?}; answers
// {"object":"list","model","results":[{"index","relevance_score"}],"data":[{"object":
// "rerank","index","score"}],"usage"} sorted by score, for every provider kind (TEI's /rerank
// is translated). INVALID_ARGUMENT for a malformed request.
Result<std::unique_ptr<RequestAdapter>> rerank_adapter(std::string public_model,
                                                       boost::json::object body);

// Multipart routes (/audio/transcriptions, /ocr): the form passes through with its "model"
// field replaced; the answer passes through as is (it may be text).
std::unique_ptr<RequestAdapter> multipart_adapter(std::string route, http::MultipartForm form);

}  // namespace socle::providers
