// Relays one OpenAI-style request to a model's providers and the answer back to the client,
// streaming or not. Failover: a provider that cannot be reached, times out before its first
// byte, answers 429 or 5xx, or (non-streaming) sends malformed JSON is marked failed and the
// next one is tried, up to max_attempts, as long as nothing has reached the client. Once a
// stream has started, an upstream failure becomes an SSE error event and the stream closes.
// Token usage comes from the upstream's `usage` (streams ask for it with
// stream_options.include_usage and drop the usage-only chunk if the client did not ask).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/clock.h"
#include "http/client.h"
#include "http/responder.h"
#include "providers/adapter.h"
#include "providers/registry.h"
#include "tenancy/usage.h"

namespace socle::providers {

struct RelayRequest {
  Model* model = nullptr;
  std::unique_ptr<RequestAdapter> adapter;  // the route's and the provider kinds' specifics
  std::string endpoint;                     // as the client called it: "/v1/chat/completions"
  std::string request_id;
  int64_t user_id = 0;
  int64_t key_id = 0;
  int64_t org_id = 0;
  int64_t arrived_ms = 0;          // Unix ms when the request arrived
  http::Headers response_headers;  // added to every answer (rate-limit state, ...)
  // Called once with the request's usage record, on the client's threads, before the
  // usage sink gets it (the admission's settlement).
  std::function<void(const tenancy::UsageRecord&)> on_record;
  // For answers socle adds to (chat with documents): an SSE event sent first in a stream,
  // and a rewrite of a 2xx non-streaming body. Empty: the upstream's answer as it is.
  std::string first_event;
  std::function<std::string(std::string)> rewrite_body;
};

struct RelayContext {
  http::HttpClient& client;
  tenancy::UsageSink& usage;
  const Clock& clock;
  int64_t max_attempts = 3;
};

// Starts the relay; the answer goes to `responder` from the client's threads.
void start_relay(RelayRequest request, const RelayContext& context, http::ResponderPtr responder);

// An SSE event longer than this is passed on without being read (no usage is that long).
inline constexpr size_t MAX_SSE_EVENT_BYTES = size_t{1} << 20;

// Scans a chunk of an SSE stream. Complete events are appended to *forward (minus
// usage-only chunks when `keep_usage_chunk` is false) and usage found in them is stored.
// Incomplete tails stay in the parser for the next chunk, up to MAX_SSE_EVENT_BYTES.
class SseUsageParser {
 public:
  explicit SseUsageParser(bool keep_usage_chunk) : keep_usage_chunk_(keep_usage_chunk) {}
  void feed(std::string_view chunk, std::string* forward);
  // The stream ended: a last event without its blank line is read too (its [DONE], its
  // usage); take_rest() still passes it on.
  void close();
  // What is left when the stream ends (an event without its blank line).
  std::string take_rest();
  int64_t prompt_tokens() const { return prompt_tokens_; }
  int64_t completion_tokens() const { return completion_tokens_; }
  bool saw_done() const { return saw_done_; }

 private:
  void event(std::string_view text, std::string* forward);
  // Reads an event's [DONE] or usage; true for a usage-only chunk.
  bool inspect(std::string_view text);
  bool keep_usage_chunk_;
  std::string pending_;
  int64_t prompt_tokens_ = 0;
  int64_t completion_tokens_ = 0;
  bool saw_done_ = false;
  bool oversized_ = false;  // the pending event outgrew MAX_SSE_EVENT_BYTES: passed on unread
};

// The most tokens an upstream may report for one count (2^40); a larger or negative count is
// taken as not reported, so that it can neither overflow a sum nor make a request free.
inline constexpr int64_t MAX_REPORTED_TOKENS = int64_t{1} << 40;
bool plausible_token_count(int64_t n);

// Reads usage.prompt_tokens and usage.completion_tokens from an OpenAI response object
// (left as they are when absent or implausible; either pointer may be null). Embeddings count
// prompt tokens only.
void read_usage(const boost::json::object& response, int64_t* prompt, int64_t* completion);

}  // namespace socle::providers
