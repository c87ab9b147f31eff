// The whole API surface, and the hooks that give the HTTP layer socle's error shape, access
// log and metrics.
#include "api/errors.h"
#include "api/local_inference.h"
#include "api/services.h"
#include "base/log.h"

namespace socle::api {

void register_routes(http::Router& router, Services& services) {
  register_health_routes(router, services);
  register_model_routes(router, services);
  register_me_routes(router, services);
  register_inference_routes(router, services);
  register_tokenize_routes(router, services);
  register_audit_routes(router, services);
  register_usage_routes(router, services);
  register_key_routes(router, services);
  register_admin_routes(router, services);
  register_admin_user_routes(router, services);
  register_collection_routes(router, services);
  register_document_routes(router, services);
  register_file_routes(router, services);
  register_fine_tuning_routes(router, services);
  register_search_routes(router, services);
}

Status apply_audited(Services& services, const store::Actor& actor,
                     const std::function<Status()>& change,
                     const std::function<tenancy::AuditEvent()>& event) {
  SOCLE_RETURN_IF_ERROR(services.store.transaction([&]() -> Status {
    SOCLE_RETURN_IF_ERROR(change());
    return services.audit.append(actor, event()).status_or_ok();
  }));
  reload_caches(services);
  return Status::ok();
}

void reload_caches(Services& services) {
  Status s = services.keys.reload();
  if (!s.is_ok()) log::warn("key cache reload failed", {{"error", s.message()}});
  s = tenancy::load_limit_rules(services.store, services.limiter);
  if (!s.is_ok()) log::warn("limit rules reload failed", {{"error", s.message()}});
}

http::ServerHooks server_hooks(Services& services) {
  http::ServerHooks hooks;
  hooks.error_body = [](int status, std::string_view message, std::string_view code) {
    return error_response(status, message, code);
  };
  hooks.on_complete = [&services](const http::Completion& c) {
    const http::Request* r = c.request;
    std::string_view route = r && !r->route.empty() ? std::string_view(r->route) : "unmatched";
    std::string_view method = r ? std::string_view(r->method) : "-";
    services.metrics.observe(route, method, c.status, c.seconds);
    // One line per request: never the Authorization header, never a body.
    log::info("request", {{"method", method},
                          {"route", route},
                          {"status", c.status},
                          {"latency_ms", c.seconds * 1000.0},
                          {"bytes", c.body_bytes},
                          {"user_id", r ? std::string_view(r->user_id) : std::string_view()},
                          {"remote", r ? std::string_view(r->remote) : std::string_view()}});
  };
  return hooks;
}

}  // namespace socle::api
