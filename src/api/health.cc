// GET /health (liveness), GET /health/ready (readiness), GET /metrics (Prometheus).
#include "api/auth.h"
#include "api/errors.h"
#include "tenancy/permissions.h"

namespace socle::api {

void register_health_routes(http::Router& router, Services& s) {
  router.add("GET", "/health", without_key([](http::Request&) -> Result<http::Response> {
               return http::Response::json(200, "{\"status\":\"ok\"}");
             }));

  router.add("GET", "/health/ready", without_key([&s](http::Request&) -> Result<http::Response> {
               Status ready = s.store.check_ready();
               if (!ready.is_ok())
                 return Status{StatusCode::UNAVAILABLE, "not ready: " + ready.message()};
               return http::Response::json(200, "{\"status\":\"ready\"}");
             }));

  auto metrics = [&s](http::Request&) -> Result<http::Response> {
    std::vector<RunnerScrape> runners;
    for (const auto& m : s.registry.models()) {
      if (m->local() != nullptr && m->local()->runner() != nullptr) {
        runners.push_back({m->spec().name, m->local()->runner()->stats()});
      }
    }
    return http::Response::text(200,
                                s.metrics.render(s.open_connections(), s.usage_counters(), runners),
                                "text/plain; version=0.0.4; charset=utf-8");
  };
  if (s.config.metrics_public) {
    router.add("GET", "/metrics", without_key(metrics));
  } else {
    router.add("GET", "/metrics",
               with_key(s, tenancy::PERM_READ_METRICS,
                        [metrics](http::Request& req, const tenancy::Principal&) {
                          return metrics(req);
                        }));
  }
}

}  // namespace socle::api
