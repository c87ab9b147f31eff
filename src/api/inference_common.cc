#include "api/inference_common.h"

#include "api/errors.h"
#include "api/metrics.h"
#include "api/requests_in_flight.h"
#include "base/check.h"

namespace socle::api {
namespace {

// A refused admission as the client sees it: 403 when the model is closed to the caller
// (a limit of 0), 429 otherwise, with Retry-After and the rate-limit headers.
http::Response refusal_response(const tenancy::Verdict& v) {
  bool closed = v.refusal == tenancy::Refusal::NO_ACCESS;
  http::Response r = error_response(Status{
      closed ? StatusCode::PERMISSION_DENIED : StatusCode::RESOURCE_EXHAUSTED, v.message, "",
      closed ? "model_access_denied"
             : (v.refusal == tenancy::Refusal::RESERVATION_TOO_LARGE ? "request_too_large"
                                                                     : "rate_limit_exceeded")});
  for (const auto& [k, val] : v.headers)
    r.set_header(k, val);
  return r;
}

// The reason label of socle_admission_refusals_total.
std::string_view refusal_reason(tenancy::Refusal refusal) {
  switch (refusal) {
    case tenancy::Refusal::NO_ACCESS:
      return ADMISSION_REASON_NO_ACCESS;
    case tenancy::Refusal::RESERVATION_TOO_LARGE:
      return ADMISSION_REASON_TOO_LARGE;
    case tenancy::Refusal::LIMIT_REACHED:
      return ADMISSION_REASON_RATE_LIMITED;
    case tenancy::Refusal::NONE:
      break;
  }
  SOCLE_CHECK(false, "a refused verdict names why it was refused");
  return ADMISSION_REASON_RATE_LIMITED;
}

}  // namespace

bool refuse(const Status& st, http::ResponderPtr& out) {
  if (st.is_ok()) return false;
  out->send(error_response(st));
  return true;
}

tenancy::UsageRecord usage_record(const tenancy::Principal& p, const std::string& model,
                                  const std::string& endpoint, const std::string& request_id,
                                  int64_t arrived_ms) {
  tenancy::UsageRecord u;
  u.time_ms = arrived_ms;
  u.request_id = request_id;
  u.user_id = p.user_id;
  u.key_id = p.key_id;
  u.org_id = p.org_id;
  u.model = model;
  u.endpoint = endpoint;
  return u;
}

std::optional<Admitted> admit_or_refuse(Services& s, const tenancy::Principal& p,
                                        const std::string& model, const std::string& endpoint,
                                        const std::string& request_id, int64_t arrived_ms,
                                        int64_t tokens, http::ResponderPtr& out) {
  tenancy::Verdict v =
      s.limiter.admit(tenancy::AdmissionRequest{p.user_id, p.org_id, p.role_id, model, tokens});
  if (!v.admitted) {
    http::Response refused = refusal_response(v);
    s.metrics.observe_refusal(model, refusal_reason(v.refusal));
    tenancy::UsageRecord u = usage_record(p, model, endpoint, request_id, arrived_ms);
    u.status = refused.status;
    s.usage.record(u);
    out->send(std::move(refused));
    return std::nullopt;
  }
  Admitted a;
  a.headers = std::move(v.headers);
  if (s.in_flight != nullptr) a.in_flight = s.in_flight->hold();
  if (v.ticket.holds_counters())
    a.ticket = std::make_shared<tenancy::Admission>(std::move(v.ticket));
  return a;
}

}  // namespace socle::api
