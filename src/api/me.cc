// The caller's own account: GET /v1/me, and its keys under /v1/me/keys (list, create with
// the secret shown once, revoke).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <charconv>

#include "api/auth.h"
#include "api/errors.h"
#include "base/json.h"
#include "base/log.h"
#include "tenancy/api_key.h"

namespace socle::api {
namespace {

// A key name is for people reading a list: short and printable.
constexpr size_t MAX_KEY_NAME_CHARS = 100;

boost::json::object key_json(const store::ApiKey& k) {
  boost::json::object o{
      {"id", k.id},           {"object", "api_key"},        {"name", k.name},
      {"prefix", k.prefix},   {"created_at", k.created_at}, {"expires_at", nullptr},
      {"revoked_at", nullptr}};
  if (k.expires_at) o["expires_at"] = *k.expires_at;
  if (k.revoked_at) o["revoked_at"] = *k.revoked_at;
  return o;
}

Result<store::Id> parse_id(std::string_view text, const char* what) {
  store::Id id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    return not_found(std::string("no ") + what + " '" + std::string(text) + "'");
  }
  return id;
}

Result<http::Response> get_me(Services& s, const tenancy::Principal& p) {
  store::Actor actor = store::Actor::user(p.user_id, p.org_id);
  SOCLE_ASSIGN_OR_RETURN(store::User user, s.store.users().get(actor, p.user_id));
  SOCLE_ASSIGN_OR_RETURN(store::Organisation org, s.store.orgs().get(actor, p.org_id));
  boost::json::array perms;
  for (const auto& perm : p.permissions)
    perms.emplace_back(perm);
  boost::json::object me{{"id", user.id},
                         {"object", "user"},
                         {"name", user.name},
                         {"email", user.email},
                         {"organisation", {{"id", org.id}, {"name", org.name}}},
                         {"role", p.role_name},
                         {"permissions", std::move(perms)},
                         {"created_at", user.created_at},
                         {"key", {{"id", p.key_id}}}};
  return json_response(200, me);
}

Result<http::Response> list_keys(Services& s, const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::ApiKey> keys,
                         s.store.keys().list(store::Actor::user(p.user_id, p.org_id), p.user_id));
  boost::json::array data;
  for (const auto& k : keys)
    data.emplace_back(key_json(k));
  return json_response(200, boost::json::object{{"object", "list"}, {"data", std::move(data)}});
}

Result<http::Response> create_key(Services& s, const http::Request& req,
                                  const tenancy::Principal& p) {
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
  if (expires_at && *expires_at <= s.clock.unix_seconds()) {
    return invalid_argument("'expires_at' must be a Unix time in the future", "expires_at");
  }
  std::string secret = tenancy::generate_key_secret();
  store::NewKey nk{p.user_id, *name, tenancy::hash_key_secret(secret),
                   tenancy::key_display_prefix(secret), expires_at};
  store::Actor actor = store::Actor::user(p.user_id, p.org_id);
  store::ApiKey key;
  SOCLE_RETURN_IF_ERROR(s.store.transaction([&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(key, s.store.keys().create(actor, nk));
    return s.audit
        .append(actor, tenancy::audit_event("key.create", "api_key", key.id,
                                            {{"user_id", p.user_id},
                                             {"name", key.name},
                                             {"prefix", key.prefix},
                                             {"via", "api"}}))
        .status_or_ok();
  }));
  // The new key works on this node at once; other nodes see it within one poll.
  Status reloaded = s.keys.reload();
  if (!reloaded.is_ok()) log::warn("key cache reload failed", {{"error", reloaded.message()}});
  boost::json::object o = key_json(key);
  o["key"] = secret;  // shown this once
  log::info("api key created", {{"key_id", key.id}, {"user_id", p.user_id}});
  return json_response(201, o);
}

Result<http::Response> revoke_key(Services& s, const http::Request& req,
                                  const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(store::Id id, parse_id(req.param("key_id"), "API key"));
  store::Actor actor = store::Actor::user(p.user_id, p.org_id);
  Status changed = s.store.transaction([&]() -> Status {
    SOCLE_RETURN_IF_ERROR(s.store.keys().revoke(actor, id, s.clock.unix_seconds()));
    return s.audit
        .append(actor, tenancy::audit_event("key.revoke", "api_key", id,
                                            {{"user_id", p.user_id}, {"via", "api"}}))
        .status_or_ok();
  });
  SOCLE_RETURN_IF_ERROR(changed);
  // At once on this node; the reload then makes the table agree with the store's counter, so
  // that a poller's reload that started before the revocation cannot bring the key back.
  s.keys.forget_key(id);
  Status reloaded = s.keys.reload();
  if (!reloaded.is_ok()) log::warn("key cache reload failed", {{"error", reloaded.message()}});
  log::info("api key revoked", {{"key_id", id}, {"user_id", p.user_id}});
  return json_response(200,
                       boost::json::object{{"id", id}, {"object", "api_key"}, {"deleted", true}});
}

}  // namespace

void register_me_routes(http::Router& router, Services& s) {
  router.add("GET", "/v1/me", with_key(s, "", [&s](http::Request&, const tenancy::Principal& p) {
               return get_me(s, p);
             }));
  router.add("GET", "/v1/me/keys",
             with_key(s, "", [&s](http::Request&, const tenancy::Principal& p) {
               return list_keys(s, p);
             }));
  router.add("POST", "/v1/me/keys",
             with_key(s, "", [&s](http::Request& req, const tenancy::Principal& p) {
               return create_key(s, req, p);
             }));
  router.add("DELETE", "/v1/me/keys/{key_id}",
             with_key(s, "", [&s](http::Request& req, const tenancy::Principal& p) {
               return revoke_key(s, req, p);
             }));
}

}  // namespace socle::api
