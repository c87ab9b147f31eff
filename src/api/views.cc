#include "api/views.h"

#include <boost/json/array.hpp>

namespace socle::api {
namespace {

boost::json::value opt(const std::optional<int64_t>& v) {
  if (v) return *v;
  return nullptr;
}

}  // namespace

boost::json::object organisation_json(const store::Organisation& o) {
  return {{"id", o.id}, {"object", "organisation"}, {"name", o.name}, {"created_at", o.created_at}};
}

boost::json::object role_json(const store::Role& r) {
  boost::json::array perms;
  for (const auto& p : r.permissions)
    perms.emplace_back(p);
  return {{"id", r.id},
          {"object", "role"},
          {"name", r.name},
          {"permissions", std::move(perms)},
          {"created_at", r.created_at}};
}

boost::json::object user_json(const store::User& u) {
  return {{"id", u.id},
          {"object", "user"},
          {"name", u.name},
          {"email", u.email},
          {"organisation_id", u.org_id},
          {"role_id", u.role_id},
          {"disabled", u.disabled},
          {"created_at", u.created_at}};
}

boost::json::object group_json(const store::Group& g) {
  return {{"id", g.id},
          {"object", "group"},
          {"organisation_id", g.org_id},
          {"name", g.name},
          {"description", g.description},
          {"created_at", g.created_at}};
}

boost::json::object key_json(const store::ApiKey& k) {
  return {{"id", k.id},
          {"object", "api_key"},
          {"user_id", k.user_id},
          {"name", k.name},
          {"prefix", k.prefix},
          {"created_at", k.created_at},
          {"expires_at", opt(k.expires_at)},
          {"revoked_at", opt(k.revoked_at)}};
}

const char* limit_scope_name(store::LimitScope scope) {
  switch (scope) {
    case store::LimitScope::ROLE:
      return "role";
    case store::LimitScope::USER:
      return "user";
    case store::LimitScope::ORGANISATION:
      return "organisation";
  }
  return "role";
}

boost::json::object limit_json(const store::LimitRule& r) {
  return {{"id", r.id},
          {"object", "limit"},
          {"scope", limit_scope_name(r.scope)},
          {"scope_id", r.scope_id},
          {"model", r.model},
          {"requests_per_minute", opt(r.values.requests_per_minute)},
          {"requests_per_day", opt(r.values.requests_per_day)},
          {"tokens_per_minute", opt(r.values.tokens_per_minute)},
          {"tokens_per_day", opt(r.values.tokens_per_day)},
          {"concurrent_requests", opt(r.values.concurrent_requests)},
          {"created_at", r.created_at},
          {"updated_at", r.updated_at}};
}

boost::json::object deleted_json(store::Id id, const char* object) {
  return {{"id", id}, {"object", object}, {"deleted", true}};
}

}  // namespace socle::api
