// What the endpoint groups share: configuration, the store, the key cache, the clock, the
// metrics and the audit log. Built once by `socle serve` and handed to each register_*_routes().
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstddef>
#include <functional>

#include "api/metrics.h"
#include "base/clock.h"
#include "base/config.h"
#include "http/client.h"
#include "http/router.h"
#include "http/server.h"
#include "providers/registry.h"
#include "rag/service.h"
#include "store/store.h"
#include "tenancy/audit.h"
#include "tenancy/key_cache.h"
#include "tenancy/limits.h"
#include "tenancy/usage.h"
#include "tenancy/usage_writer.h"

namespace socle::api {

class FineTuningWorker;
class RequestsInFlight;

struct Services {
  const Config& config;
  store::Store& store;
  tenancy::KeyCache& keys;
  const Clock& clock;
  HttpMetrics& metrics;
  providers::Registry& registry;
  http::HttpClient& client;
  tenancy::UsageSink& usage;
  // Every control-plane change appends here, in the transaction that makes it.
  tenancy::AuditLog& audit;
  // Admission against the limit rules; reload_caches() gives it new rules.
  tenancy::Limiter& limiter;
  // RAG: ingestion and search; nullptr where a server runs without it (some tests).
  rag::Rag* rag = nullptr;
  // The fine-tuning queue; nullptr where a server runs without it (some tests).
  FineTuningWorker* fine_tuning = nullptr;
  // Admitted inference requests not yet recorded; nullptr where no one waits for them (tests).
  RequestsInFlight* in_flight = nullptr;
  // Open client connections; set once the server exists.
  std::function<size_t()> open_connections = [] { return size_t{0}; };
  // The usage writer's counters, for /metrics; set with the writer.
  std::function<tenancy::UsageWriterCounters()> usage_counters = [] {
    return tenancy::UsageWriterCounters{};
  };
};

// Makes a control-plane change take effect on this node at once: reloads the key cache and
// the admission limits from the store (other nodes follow within one poll).
void reload_caches(Services& services);

// Runs `change` and the audit entry `event()` describes in one transaction, then
// reload_caches(). `event` is called after `change`, so it may describe what was made.
Status apply_audited(Services& services, const store::Actor& actor,
                     const std::function<Status()>& change,
                     const std::function<tenancy::AuditEvent()>& event);

// GET /v1/admin/<what>/{id} and DELETE ..., gated by `permission`, as the principal's actor
// for it; the deletion is audited as "<object>.delete".
http::Handler admin_get_route(
    Services& s, std::string_view permission, const char* what,
    std::function<Result<boost::json::object>(const store::Actor&, store::Id)> get);
http::Handler admin_delete_route(Services& s, std::string_view permission, const char* what,
                                 const char* object,
                                 std::function<Status(const store::Actor&, store::Id)> remove);

// Checks a user's name and email as the API accepts them (also for PATCH /v1/me).
Status check_user_fields(const store::UserUpdate& update);

// The names of the personal fields (name, email) an update sets, for its audit entry: the
// audit log, kept after a user is deleted, holds ids and never these values.
boost::json::array changed_personal_fields(const store::UserUpdate& update);

// Whether `p` may act on user `user_id` as a user manager (its keys, its profile, deleting
// it): administrators on anyone; other managers on a user of their organisation whose role
// carries no permission they lack, so that a manager cannot take over an administrator's
// account (a key made for it, its email changed). NOT_FOUND for a user the manager cannot
// see, PERMISSION_DENIED naming the permission otherwise.
Status check_may_manage(Services& s, const tenancy::Principal& p, store::Id user_id);

// Registers every route of the API.
void register_routes(http::Router& router, Services& services);

// Error bodies in OpenAI's shape, and the access log and metrics for each exchange.
http::ServerHooks server_hooks(Services& services);

// One group of endpoints per file.
void register_health_routes(http::Router& router, Services& services);
void register_model_routes(http::Router& router, Services& services);
void register_me_routes(http::Router& router, Services& services);
void register_inference_routes(http::Router& router, Services& services);
void register_audit_routes(http::Router& router, Services& services);
void register_usage_routes(http::Router& router, Services& services);
void register_key_routes(http::Router& router, Services& services);
void register_admin_routes(http::Router& router, Services& services);
void register_admin_user_routes(http::Router& router, Services& services);
void register_collection_routes(http::Router& router, Services& services);
void register_document_routes(http::Router& router, Services& services);
void register_search_routes(http::Router& router, Services& services);
void register_file_routes(http::Router& router, Services& services);
void register_fine_tuning_routes(http::Router& router, Services& services);

}  // namespace socle::api
