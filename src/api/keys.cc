// API keys: a user's own under /v1/me/keys, and any user's under /v1/admin/users/{id}/keys
// for user managers (their organisation's users whose role carries no permission the manager
// lacks: check_may_manage) and administrators. Creating shows the
// secret once; revoking takes effect on this node at once.
#include <boost/json/array.hpp>

#include "api/auth.h"
#include "api/params.h"
#include "api/views.h"
#include "base/json.h"
#include "base/log.h"
#include "tenancy/api_key.h"
#include "tenancy/permissions.h"

namespace socle::api {
namespace {

// A key name is for people reading a list: short and printable.
constexpr size_t MAX_KEY_NAME_CHARS = 100;

Result<http::Response> list_keys(Services& s, const store::Actor& actor, store::Id user_id) {
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::ApiKey> keys, s.store.keys().list(actor, user_id));
  return list_response(keys, key_json);
}

Result<http::Response> create_key(Services& s, const http::Request& req, const store::Actor& actor,
                                  store::Id user_id) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(body, {"name", "expires_at"}));
  std::optional<std::string> name;
  std::optional<int64_t> expires_at;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "name", true, &name));
  SOCLE_RETURN_IF_ERROR(json::get_int(body, "expires_at", false, &expires_at));
  if (name->empty() || name->size() > MAX_KEY_NAME_CHARS) {
    return invalid_argument(
        "'name' must be 1 to " + std::to_string(MAX_KEY_NAME_CHARS) + " characters", "name");
  }
  for (char c : *name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return invalid_argument("'name' must not hold control characters (tabs, line breaks...)",
                              "name");
    }
  }
  if (expires_at && *expires_at <= s.clock.unix_seconds()) {
    return invalid_argument("'expires_at' must be a Unix time in the future", "expires_at");
  }
  std::string secret = tenancy::generate_key_secret();
  store::NewKey nk{user_id, *name, tenancy::hash_key_secret(secret),
                   tenancy::key_display_prefix(secret), expires_at};
  store::ApiKey key;
  SOCLE_RETURN_IF_ERROR(s.store.transaction([&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(key, s.store.keys().create(actor, nk));
    return s.audit
        .append(
            actor,
            tenancy::audit_event(
                "key.create", "api_key", key.id,
                {{"user_id", user_id}, {"name", key.name}, {"prefix", key.prefix}, {"via", "api"}}))
        .status_or_ok();
  }));
  // The new key works on this node at once; other nodes see it within one poll.
  reload_caches(s);
  boost::json::object o = key_json(key);
  o["key"] = secret;  // shown this once
  log::info("api key created", {{"key_id", key.id}, {"user_id", user_id}});
  return json_response(201, o);
}

Result<http::Response> revoke_key(Services& s, const store::Actor& actor, store::Id key_id,
                                  std::optional<store::Id> user_id) {
  Status changed = s.store.transaction([&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(store::ApiKey key, s.store.keys().get(actor, key_id));
    // Under /v1/admin/users/{id}/keys the key must be that user's.
    if (user_id && key.user_id != *user_id) {
      return not_found("user " + std::to_string(*user_id) + " has no API key " +
                       std::to_string(key_id));
    }
    SOCLE_RETURN_IF_ERROR(s.store.keys().revoke(actor, key_id, s.clock.unix_seconds()));
    return s.audit
        .append(actor, tenancy::audit_event("key.revoke", "api_key", key_id,
                                            {{"user_id", key.user_id}, {"via", "api"}}))
        .status_or_ok();
  });
  SOCLE_RETURN_IF_ERROR(changed);
  // At once on this node; the reload then makes the table agree with the store's counter, so
  // that a poller's reload that started before the revocation cannot bring the key back.
  s.keys.forget_key(key_id);
  reload_caches(s);
  log::info("api key revoked", {{"key_id", key_id}});
  return json_response(200, deleted_json(key_id, "api_key"));
}

store::Actor manager(const tenancy::Principal& p) {
  return p.actor_for(tenancy::PERM_MANAGE_USERS);
}

}  // namespace

void register_key_routes(http::Router& router, Services& s) {
  router.add("GET", "/v1/me/keys",
             with_key(s, "", [&s](http::Request&, const tenancy::Principal& p) {
               return list_keys(s, self(p), p.user_id);
             }));
  router.add("POST", "/v1/me/keys",
             with_key(s, "", [&s](http::Request& req, const tenancy::Principal& p) {
               return create_key(s, req, self(p), p.user_id);
             }));
  router.add(
      "DELETE", "/v1/me/keys/{key_id}",
      with_key(s, "",
               [&s](http::Request& req, const tenancy::Principal& p) -> Result<http::Response> {
                 SOCLE_ASSIGN_OR_RETURN(store::Id id, path_id(req.param("key_id"), "API key"));
                 return revoke_key(s, self(p), id, p.user_id);
               }));
  const std::string_view perm = tenancy::PERM_MANAGE_USERS;
  router.add(
      "GET", "/v1/admin/users/{user_id}/keys",
      with_key(s, perm,
               [&s](http::Request& req, const tenancy::Principal& p) -> Result<http::Response> {
                 SOCLE_ASSIGN_OR_RETURN(store::Id user, path_id(req.param("user_id"), "user"));
                 SOCLE_RETURN_IF_ERROR(check_may_manage(s, p, user));
                 return list_keys(s, manager(p), user);
               }));
  router.add(
      "POST", "/v1/admin/users/{user_id}/keys",
      with_key(s, perm,
               [&s](http::Request& req, const tenancy::Principal& p) -> Result<http::Response> {
                 SOCLE_ASSIGN_OR_RETURN(store::Id user, path_id(req.param("user_id"), "user"));
                 SOCLE_RETURN_IF_ERROR(check_may_manage(s, p, user));
                 return create_key(s, req, manager(p), user);
               }));
  router.add(
      "DELETE", "/v1/admin/users/{user_id}/keys/{key_id}",
      with_key(s, perm,
               [&s](http::Request& req, const tenancy::Principal& p) -> Result<http::Response> {
                 SOCLE_ASSIGN_OR_RETURN(store::Id user, path_id(req.param("user_id"), "user"));
                 SOCLE_ASSIGN_OR_RETURN(store::Id id, path_id(req.param("key_id"), "API key"));
                 SOCLE_RETURN_IF_ERROR(check_may_manage(s, p, user));
                 return revoke_key(s, manager(p), id, user);
               }));
}

}  // namespace socle::api
