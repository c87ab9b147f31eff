// GET /v1/models: the models of the registry in OpenAI's list shape, with socle's additive
// fields (kind, context_length, aliases, hosting countries). GET /health/models: each
// model's and provider's state and counters.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <set>

#include "api/auth.h"
#include "tenancy/permissions.h"

namespace socle::api {
namespace {

Result<http::Response> list_models(Services& s) {
  boost::json::array data;
  for (const auto& m : s.registry.models()) {
    const providers::ModelSpec& spec = m->spec();
    boost::json::array aliases;
    for (const auto& a : spec.aliases)
      aliases.emplace_back(a);
    std::set<std::string> countries;
    for (const auto& p : spec.providers) {
      if (!p.country.empty()) countries.insert(p.country);
    }
    boost::json::array hosting;
    for (const auto& c : countries)
      hosting.emplace_back(c);
    boost::json::object o{{"id", spec.name},
                          {"object", "model"},
                          {"created", 0},
                          {"owned_by", "socle"},
                          {"kind", providers::model_kind_name(spec.kind)},
                          {"aliases", std::move(aliases)},
                          {"hosting_countries", std::move(hosting)}};
    int64_t context = m->local() != nullptr ? m->local()->context_length() : spec.context_length;
    o["context_length"] = context > 0 ? boost::json::value(context) : boost::json::value(nullptr);
    // vLLM's name for it, which some clients read.
    if (m->local() != nullptr) {
      o["max_model_len"] = context;
      o["engine"] = "socle";
    }
    data.emplace_back(std::move(o));
  }
  return list_response(std::move(data));
}

Result<http::Response> health_models(Services& s) {
  boost::json::array models;
  for (const auto& m : s.registry.models()) {
    boost::json::array providers;
    bool any_available = false;
    for (const auto& p : m->providers()) {
      providers::ProviderSnapshot snap = p->snapshot();
      bool available = p->available();
      any_available = any_available || available;
      providers.emplace_back(
          boost::json::object{{"name", p->spec().name},
                              {"kind", providers::provider_kind_name(p->spec().kind)},
                              {"url", p->spec().url},
                              {"country", p->spec().country},
                              {"available", available},
                              {"healthy", snap.healthy},
                              {"health_error", snap.health_error},
                              {"breaker", providers::breaker_state_name(snap.breaker)},
                              {"in_flight", snap.in_flight},
                              {"requests", snap.requests},
                              {"errors", snap.errors},
                              {"consecutive_failures", snap.consecutive_failures},
                              {"latency_ewma_ms", snap.latency_ewma_ms}});
    }
    boost::json::object entry{{"name", m->spec().name},
                              {"kind", providers::model_kind_name(m->spec().kind)},
                              {"strategy", providers::strategy_name(m->spec().strategy)},
                              {"status", any_available ? "available" : "unavailable"},
                              {"providers", std::move(providers)}};
    if (m->local() != nullptr) {
      // Loaded at start, in this process: available while the server runs.
      entry["status"] = "available";
      entry["engine"] = "socle";
    }
    models.emplace_back(std::move(entry));
  }
  return json_response(200, boost::json::object{{"models", std::move(models)}});
}

}  // namespace

void register_model_routes(http::Router& router, Services& s) {
  router.add("GET", "/v1/models", with_key(s, "", [&s](http::Request&, const tenancy::Principal&) {
               return list_models(s);
             }));
  auto health = [&s](http::Request&) { return health_models(s); };
  if (s.config.metrics_public) {
    router.add("GET", "/health/models", without_key(health));
  } else {
    router.add(
        "GET", "/health/models",
        with_key(s, tenancy::PERM_READ_METRICS,
                 [health](http::Request& req, const tenancy::Principal&) { return health(req); }));
  }
}

}  // namespace socle::api
