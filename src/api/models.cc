// GET /v1/models: the models of the registry in OpenAI's list shape, with socle's additive
// fields (kind, context_length, aliases, hosting countries), then the base-plus-adapter
// models the caller may use (fine-tuned or loaded by an administrator), with "parent" and
// "root" naming their base as vLLM lists LoRA modules. GET /health/models: each
// model's and provider's state and counters.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <set>
#include <string>
#include <unordered_map>

#include "api/adapter_access.h"
#include "api/auth.h"
#include "api/params.h"
#include "tenancy/permissions.h"

namespace socle::api {
namespace {

// The owner's user name, "socle" for a model loaded for everyone (or an owner since gone).
std::string adapter_owner(Services& s, const providers::AdapterModel& m,
                          std::unordered_map<int64_t, std::string>* names) {
  if (m.owner_user == 0) return "socle";
  auto it = names->find(m.owner_user);
  if (it != names->end()) return it->second;
  Result<store::User> user = s.store.users().get(store::Actor::system(), m.owner_user);
  std::string name = user.is_ok() ? user->name : "socle";
  names->emplace(m.owner_user, name);
  return name;
}

Result<http::Response> list_models(Services& s, const tenancy::Principal& caller) {
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
  std::unordered_map<int64_t, std::string> owners;
  for (const auto& a : s.registry.adapters().list()) {
    providers::Model* base = s.registry.find(a->base);
    if (base == nullptr || base->local() == nullptr || !may_use_adapter(s, caller, *a)) continue;
    int64_t context = base->local()->context_length();
    boost::json::array groups;  // the groups its owner shares it with
    for (int64_t g : a->groups)
      groups.emplace_back(g);
    data.emplace_back(boost::json::object{{"id", a->name},
                                          {"object", "model"},
                                          {"created", a->created_at},
                                          {"owned_by", adapter_owner(s, *a, &owners)},
                                          {"parent", a->base},
                                          {"root", a->base},
                                          {"kind", providers::model_kind_name(base->spec().kind)},
                                          {"aliases", boost::json::array()},
                                          {"hosting_countries", boost::json::array()},
                                          {"context_length", context},
                                          {"max_model_len", context},
                                          {"shared_with_groups", std::move(groups)},
                                          {"engine", "socle"}});
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
  router.add(
      "GET", "/v1/models",
      with_key(s, "",
               [&s](http::Request& req, const tenancy::Principal& p) -> Result<http::Response> {
                 SOCLE_RETURN_IF_ERROR(check_param_names(req.query, {}));
                 return list_models(s, p);
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
