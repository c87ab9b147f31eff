#include "api/usage_log.h"

#include "api/metrics.h"
#include "base/log.h"

namespace socle::api {

void UsageLog::record(const tenancy::UsageRecord& u) {
  metrics_.observe_model(u.model, u.provider, u.status, u.prompt_tokens, u.completion_tokens,
                         u.latency_s, u.first_token_s);
  log::info("usage", {{"request_id", u.request_id},
                      {"user_id", u.user_id},
                      {"model", u.model},
                      {"provider", u.provider},
                      {"endpoint", u.endpoint},
                      {"status", u.status},
                      {"prompt_tokens", u.prompt_tokens},
                      {"completion_tokens", u.completion_tokens},
                      {"latency_ms", u.latency_s * 1000.0},
                      {"first_token_ms", u.first_token_s * 1000.0},
                      {"attempts", u.attempts}});
}

}  // namespace socle::api
