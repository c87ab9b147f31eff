// What the inference routes share, whether an upstream engine or socle's own answers:
// refusing with OpenAI's error body, and admission against the caller's limits.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "api/services.h"
#include "http/responder.h"
#include "tenancy/key_cache.h"
#include "tenancy/limits.h"

namespace socle::api {

// Answers the client with `st` and returns true if it is an error.
bool refuse(const Status& st, http::ResponderPtr& out);

// The usage record of a request by `p` on `model`, who and what filled in; the caller adds
// the outcome (status, tokens, timings, provider).
tenancy::UsageRecord usage_record(const tenancy::Principal& p, const std::string& model,
                                  const std::string& endpoint, const std::string& request_id,
                                  int64_t arrived_ms);

struct Admitted {
  http::Headers headers;  // the rate-limit state, for every answer
  // Settle it with the tokens used; null when no limit counts this request.
  std::shared_ptr<tenancy::Admission> ticket;
  // Counts the request in Services::in_flight until it goes: keep it where the usage is
  // recorded (null without Services::in_flight).
  std::shared_ptr<void> in_flight;
};

// Admits a request for `tokens` on `model` against the caller's limits. Refused: answers 403
// (a limit of 0) or 429 with Retry-After and the rate-limit headers, records the refusal's
// usage and metric, and returns nullopt.
std::optional<Admitted> admit_or_refuse(Services& s, const tenancy::Principal& p,
                                        const std::string& model, const std::string& endpoint,
                                        const std::string& request_id, int64_t arrived_ms,
                                        int64_t tokens, http::ResponderPtr& out);

}  // namespace socle::api
