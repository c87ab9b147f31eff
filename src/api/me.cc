// The caller's own account: GET /v1/me, and PATCH /v1/me to change its name or email.
// Its keys are under /v1/me/keys (api/keys.cc).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/auth.h"
#include "api/views.h"
#include "base/json.h"
#include "tenancy/audit.h"

namespace socle::api {
namespace {

Result<http::Response> get_me(Services& s, const tenancy::Principal& p) {
  store::Actor actor = store::Actor::user(p.user_id, p.org_id);
  SOCLE_ASSIGN_OR_RETURN(store::User user, s.store.users().get(actor, p.user_id));
  SOCLE_ASSIGN_OR_RETURN(store::Organisation org, s.store.orgs().get(actor, p.org_id));
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::Id> groups,
                         s.store.groups().groups_of(actor, p.user_id));
  boost::json::array perms;
  for (const auto& perm : p.permissions)
    perms.emplace_back(perm);
  boost::json::array group_ids;
  for (store::Id g : groups)
    group_ids.emplace_back(g);
  boost::json::object me = user_json(user);
  me["organisation"] = {{"id", org.id}, {"name", org.name}};
  me["role"] = p.role_name;
  me["permissions"] = std::move(perms);
  me["group_ids"] = std::move(group_ids);
  me["key"] = {{"id", p.key_id}};
  return json_response(200, me);
}

Result<http::Response> patch_me(Services& s, const http::Request& req,
                                const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(body, {"name", "email"}));
  store::UserUpdate u;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "name", false, &u.name));
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "email", false, &u.email));
  SOCLE_RETURN_IF_ERROR(check_user_fields(u));
  store::Actor actor = store::Actor::user(p.user_id, p.org_id);
  SOCLE_RETURN_IF_ERROR(s.store.transaction([&]() -> Status {
    SOCLE_RETURN_IF_ERROR(s.store.users().update(actor, p.user_id, u).status_or_ok());
    boost::json::object details{{"via", "api"}, {"self", true}};
    if (u.name || u.email) details["changed"] = changed_personal_fields(u);
    return s.audit
        .append(actor, tenancy::audit_event("user.update", "user", p.user_id, std::move(details)))
        .status_or_ok();
  }));
  reload_caches(s);
  return get_me(s, p);
}

}  // namespace

void register_me_routes(http::Router& router, Services& s) {
  router.add("GET", "/v1/me", with_key(s, "", [&s](http::Request&, const tenancy::Principal& p) {
               return get_me(s, p);
             }));
  router.add("PATCH", "/v1/me",
             with_key(s, "", [&s](http::Request& req, const tenancy::Principal& p) {
               return patch_me(s, req, p);
             }));
}

}  // namespace socle::api
