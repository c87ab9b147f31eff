// The inference routes on models that socle runs on its own engine (providers::LocalModel):
// the request is read and checked here, tokenised, admitted against the caller's limits with
// its exact prompt size, and run; the answer is built in OpenAI's shapes, streamed as
// server-sent events when asked, and its usage recorded with the exact token counts.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>

#include "api/generation.h"
#include "api/services.h"
#include "http/responder.h"
#include "http/router.h"
#include "tenancy/key_cache.h"

namespace socle::api {

// The prompt of a chat: the messages through the model's chat template, tokenised. 400 when
// the model has no template or the template refuses the messages.
Result<std::vector<int32_t>> chat_prompt_ids(const providers::LocalModel& local,
                                             const std::vector<ChatMessage>& messages);

// What a local generation carries besides the request body.
struct LocalGenerationExtras {
  // The request names this base-plus-adapter model (the `model` argument is its base): the
  // answer and the usage carry its name and the adapter applies to the request's sequences.
  std::shared_ptr<const providers::AdapterModel> adapter;
  // Chat with documents: the retrieved sources, returned as `search_results` (in the answer,
  // or in a first chunk with no choices when streaming), as the relay does.
  std::optional<boost::json::array> search_results;
};

// POST /v1/chat/completions and /v1/completions.
void serve_local_generation(Services& s, GenerationEndpoint endpoint, const std::string& request_id,
                            const tenancy::Principal& p, providers::Model* model,
                            const boost::json::object& body, http::ResponderPtr out,
                            LocalGenerationExtras extras = {});

// POST /v1/embeddings.
void serve_local_embeddings(Services& s, const http::Request& req, const tenancy::Principal& p,
                            providers::Model* model, const boost::json::object& body,
                            http::ResponderPtr out);

// POST /v1/rerank.
void serve_local_rerank(Services& s, const http::Request& req, const tenancy::Principal& p,
                        providers::Model* model, const boost::json::object& body,
                        http::ResponderPtr out);

// POST /v1/tokenize and /v1/detokenize, on any model socle runs.
void register_tokenize_routes(http::Router& router, Services& s);

}  // namespace socle::api
