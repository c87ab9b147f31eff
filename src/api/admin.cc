// Reference data for administrators: organisations, roles and limit rules, under
// /v1/admin/. Writing needs the "admin" permission; user managers may read roles (to assign
// them). Every change is audited in the transaction that makes it and reaches this node's
// caches at once.
#include <boost/json/array.hpp>

#include "api/auth.h"
#include "api/params.h"
#include "api/views.h"
#include "base/json.h"
#include "tenancy/audit.h"
#include "tenancy/permissions.h"

namespace socle::api {
namespace {

using store::Id;

constexpr size_t MAX_NAME_CHARS = 100;

Status check_name(const std::optional<std::string>& name, const char* what) {
  if (name && (name->empty() || name->size() > MAX_NAME_CHARS)) {
    return invalid_argument(std::string("a ") + what + "'s 'name' must be 1 to " +
                                std::to_string(MAX_NAME_CHARS) + " characters",
                            "name");
  }
  return Status::ok();
}

// --- organisations ---------------------------------------------------------------------

Result<http::Response> create_org(Services& s, const http::Request& req, const store::Actor& a) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(body, {"name"}));
  std::optional<std::string> name;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "name", true, &name));
  SOCLE_RETURN_IF_ERROR(check_name(name, "organisation"));
  store::Organisation org;
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a,
      [&]() -> Status {
        SOCLE_ASSIGN_OR_RETURN(org, s.store.orgs().create(a, *name));
        return Status::ok();
      },
      [&] {
        return tenancy::audit_event("organisation.create", "organisation", org.id,
                                    {{"name", org.name}, {"via", "api"}});
      }));
  return json_response(201, organisation_json(org));
}

Result<http::Response> patch_org(Services& s, const http::Request& req, const store::Actor& a) {
  SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "organisation"));
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(body, {"name"}));
  std::optional<std::string> name;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "name", true, &name));
  SOCLE_RETURN_IF_ERROR(check_name(name, "organisation"));
  store::Organisation org;
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a,
      [&]() -> Status {
        SOCLE_ASSIGN_OR_RETURN(org, s.store.orgs().rename(a, id, *name));
        return Status::ok();
      },
      [&] {
        return tenancy::audit_event("organisation.update", "organisation", id,
                                    {{"name", org.name}, {"via", "api"}});
      }));
  return json_response(200, organisation_json(org));
}

// --- roles -----------------------------------------------------------------------------

Result<std::optional<std::vector<std::string>>> permissions_field(const boost::json::object& body,
                                                                  bool required) {
  const boost::json::value* v = body.if_contains("permissions");
  if (v == nullptr) {
    if (required) return invalid_argument("'permissions' is required", "permissions");
    return std::optional<std::vector<std::string>>();
  }
  std::string known;
  for (std::string_view k : tenancy::ALL_PERMISSIONS) {
    if (!known.empty()) known += ", ";
    known += k;
  }
  if (!v->is_array()) {
    return invalid_argument("'permissions' must be an array of: " + known, "permissions");
  }
  std::vector<std::string> out;
  for (const auto& p : v->as_array()) {
    bool ok = false;
    if (p.is_string()) {
      for (std::string_view k : tenancy::ALL_PERMISSIONS)
        ok = ok || k == p.as_string();
    }
    if (!ok) {
      return invalid_argument(
          "'permissions' holds " + json::dump(p) + "; the permissions are " + known, "permissions");
    }
    std::string name(p.as_string());
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<http::Response> create_role(Services& s, const http::Request& req, const store::Actor& a) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(body, {"name", "permissions"}));
  std::optional<std::string> name;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "name", true, &name));
  SOCLE_RETURN_IF_ERROR(check_name(name, "role"));
  SOCLE_ASSIGN_OR_RETURN(auto perms, permissions_field(body, true));
  store::Role role;
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a,
      [&]() -> Status {
        SOCLE_ASSIGN_OR_RETURN(role, s.store.roles().create(a, *name, *perms));
        return Status::ok();
      },
      [&] {
        return tenancy::audit_event("role.create", "role", role.id,
                                    {{"name", role.name},
                                     {"permissions", role_json(role).at("permissions")},
                                     {"via", "api"}});
      }));
  return json_response(201, role_json(role));
}

Result<http::Response> patch_role(Services& s, const http::Request& req, const store::Actor& a) {
  SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "role"));
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(body, {"name", "permissions"}));
  std::optional<std::string> name;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "name", false, &name));
  SOCLE_RETURN_IF_ERROR(check_name(name, "role"));
  SOCLE_ASSIGN_OR_RETURN(auto perms, permissions_field(body, false));
  store::Role role;
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a,
      [&]() -> Status {
        SOCLE_ASSIGN_OR_RETURN(role, s.store.roles().update(a, id, name, perms));
        return Status::ok();
      },
      [&] {
        return tenancy::audit_event("role.update", "role", id,
                                    {{"name", role.name},
                                     {"permissions", role_json(role).at("permissions")},
                                     {"via", "api"}});
      }));
  return json_response(200, role_json(role));
}

// --- limits ----------------------------------------------------------------------------

constexpr std::string_view LIMIT_FIELDS[] = {"requests_per_minute", "requests_per_day",
                                             "tokens_per_minute", "tokens_per_day",
                                             "concurrent_requests"};

std::optional<int64_t>* limit_field(store::LimitValues& v, std::string_view name) {
  if (name == "requests_per_minute") return &v.requests_per_minute;
  if (name == "requests_per_day") return &v.requests_per_day;
  if (name == "tokens_per_minute") return &v.tokens_per_minute;
  if (name == "tokens_per_day") return &v.tokens_per_day;
  return &v.concurrent_requests;
}

// Reads the counters present in `body` into `v`: an integer >= 0 sets one, null unsets it.
Status read_limit_values(const boost::json::object& body, store::LimitValues* v) {
  for (std::string_view name : LIMIT_FIELDS) {
    const boost::json::value* f = body.if_contains(name);
    if (f == nullptr) continue;
    std::optional<int64_t>* slot = limit_field(*v, name);
    if (f->is_null()) {
      slot->reset();
    } else if (f->is_int64() && f->as_int64() >= 0) {
      *slot = f->as_int64();
    } else if (f->is_uint64()) {
      *slot = static_cast<int64_t>(std::min<uint64_t>(f->as_uint64(), INT64_MAX));
    } else {
      return invalid_argument(
          "'" + std::string(name) + "' must be an integer >= 0 (0: no access) or null (no limit)",
          std::string(name));
    }
  }
  return Status::ok();
}

Result<store::LimitScope> scope_field(const boost::json::object& body) {
  std::optional<std::string> scope;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "scope", true, &scope));
  if (*scope == "role") return store::LimitScope::ROLE;
  if (*scope == "user") return store::LimitScope::USER;
  if (*scope == "organisation") return store::LimitScope::ORGANISATION;
  return invalid_argument("'scope' must be \"role\", \"user\" or \"organisation\"", "scope");
}

Result<http::Response> put_limit(Services& s, const store::Actor& a, store::LimitScope scope,
                                 Id scope_id, const std::string& model,
                                 const store::LimitValues& values, int status) {
  store::LimitRule rule;
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a,
      [&]() -> Status {
        SOCLE_ASSIGN_OR_RETURN(rule, s.store.limits().put(a, scope, scope_id, model, values));
        return Status::ok();
      },
      [&] {
        boost::json::object details = limit_json(rule);
        details.erase("object");
        details.erase("created_at");
        details.erase("updated_at");
        details["via"] = "api";
        return tenancy::audit_event("limit.set", "limit", rule.id, std::move(details));
      }));
  return json_response(status, limit_json(rule));
}

Result<http::Response> create_limit(Services& s, const http::Request& req, const store::Actor& a) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(
      body, {"scope", "scope_id", "model", "requests_per_minute", "requests_per_day",
             "tokens_per_minute", "tokens_per_day", "concurrent_requests"}));
  SOCLE_ASSIGN_OR_RETURN(store::LimitScope scope, scope_field(body));
  std::optional<int64_t> scope_id;
  SOCLE_RETURN_IF_ERROR(json::get_int(body, "scope_id", true, &scope_id));
  std::optional<std::string> model;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "model", true, &model));
  if (model->empty()) {
    return invalid_argument("'model' must be a model name, or \"*\" for every model", "model");
  }
  store::LimitValues values;
  SOCLE_RETURN_IF_ERROR(read_limit_values(body, &values));
  return put_limit(s, a, scope, *scope_id, *model, values, 201);
}

Result<http::Response> patch_limit(Services& s, const http::Request& req, const store::Actor& a) {
  SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "limit"));
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(
      json::check_keys(body, {"requests_per_minute", "requests_per_day", "tokens_per_minute",
                              "tokens_per_day", "concurrent_requests"}));
  SOCLE_ASSIGN_OR_RETURN(store::LimitRule rule, s.store.limits().get(a, id));
  SOCLE_RETURN_IF_ERROR(read_limit_values(body, &rule.values));
  return put_limit(s, a, rule.scope, rule.scope_id, rule.model, rule.values, 200);
}

// --- routes ----------------------------------------------------------------------------

}  // namespace

http::Handler admin_get_route(
    Services& s, std::string_view permission, const char* what,
    std::function<Result<boost::json::object>(const store::Actor&, Id)> get) {
  return with_actor(s, permission,
                    [what, get = std::move(get)](http::Request& req,
                                                 const store::Actor& a) -> Result<http::Response> {
                      SOCLE_RETURN_IF_ERROR(check_param_names(req.query, {}));
                      SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), what));
                      SOCLE_ASSIGN_OR_RETURN(boost::json::object o, get(a, id));
                      return json_response(200, o);
                    });
}

http::Handler admin_delete_route(Services& s, std::string_view permission, const char* what,
                                 const char* object,
                                 std::function<Status(const store::Actor&, Id)> remove) {
  return with_actor(s, permission,
                    [&s, what, object, remove = std::move(remove)](
                        http::Request& req, const store::Actor& a) -> Result<http::Response> {
                      SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), what));
                      SOCLE_RETURN_IF_ERROR(apply_audited(
                          s, a, [&] { return remove(a, id); },
                          [&] {
                            return tenancy::audit_event(std::string(object) + ".delete", object, id,
                                                        {{"via", "api"}});
                          }));
                      return json_response(200, deleted_json(id, object));
                    });
}

void register_admin_routes(http::Router& router, Services& s) {
  const std::string_view admin = tenancy::PERM_ADMIN;
  router.add("GET", "/v1/admin/organisations",
             with_actor(s, admin,
                        [&s](http::Request& req, const store::Actor& a) -> Result<http::Response> {
                          SOCLE_RETURN_IF_ERROR(check_param_names(req.query, {}));
                          SOCLE_ASSIGN_OR_RETURN(auto orgs, s.store.orgs().list(a));
                          return list_response(orgs, organisation_json);
                        }));
  router.add("POST", "/v1/admin/organisations",
             with_actor(s, admin, [&s](http::Request& req, const store::Actor& a) {
               return create_org(s, req, a);
             }));
  router.add("GET", "/v1/admin/organisations/{id}",
             admin_get_route(s, admin, "organisation",
                             [&s](const store::Actor& a, Id id) -> Result<boost::json::object> {
                               SOCLE_ASSIGN_OR_RETURN(auto org, s.store.orgs().get(a, id));
                               return organisation_json(org);
                             }));
  router.add("PATCH", "/v1/admin/organisations/{id}",
             with_actor(s, admin, [&s](http::Request& req, const store::Actor& a) {
               return patch_org(s, req, a);
             }));
  router.add("DELETE", "/v1/admin/organisations/{id}",
             admin_delete_route(
                 s, admin, "organisation", "organisation",
                 [&s](const store::Actor& a, Id id) { return s.store.orgs().remove(a, id); }));

  const std::string_view managers = tenancy::PERM_MANAGE_USERS;
  router.add("GET", "/v1/admin/roles",
             with_actor(s, managers,
                        [&s](http::Request& req, const store::Actor& a) -> Result<http::Response> {
                          SOCLE_RETURN_IF_ERROR(check_param_names(req.query, {}));
                          SOCLE_ASSIGN_OR_RETURN(auto roles, s.store.roles().list(a));
                          return list_response(roles, role_json);
                        }));
  router.add("GET", "/v1/admin/roles/{id}",
             admin_get_route(s, managers, "role",
                             [&s](const store::Actor& a, Id id) -> Result<boost::json::object> {
                               SOCLE_ASSIGN_OR_RETURN(auto role, s.store.roles().get(a, id));
                               return role_json(role);
                             }));
  router.add("POST", "/v1/admin/roles",
             with_actor(s, admin, [&s](http::Request& req, const store::Actor& a) {
               return create_role(s, req, a);
             }));
  router.add("PATCH", "/v1/admin/roles/{id}",
             with_actor(s, admin, [&s](http::Request& req, const store::Actor& a) {
               return patch_role(s, req, a);
             }));
  router.add("DELETE", "/v1/admin/roles/{id}",
             admin_delete_route(s, admin, "role", "role", [&s](const store::Actor& a, Id id) {
               return s.store.roles().remove(a, id);
             }));

  router.add(
      "GET", "/v1/admin/limits",
      with_actor(
          s, admin, [&s](http::Request& req, const store::Actor& a) -> Result<http::Response> {
            SOCLE_RETURN_IF_ERROR(check_param_names(req.query, {"scope", "scope_id", "model"}));
            SOCLE_ASSIGN_OR_RETURN(auto scope, param(req, "scope"));
            if (scope && *scope != "role" && *scope != "user" && *scope != "organisation") {
              return invalid_argument(
                  "'scope' must be role, user or organisation, not '" + *scope + "'", "scope");
            }
            SOCLE_ASSIGN_OR_RETURN(auto scope_id,
                                   optional_int_param(req, "scope_id", 1, INT64_MAX));
            SOCLE_ASSIGN_OR_RETURN(auto model, param(req, "model"));
            SOCLE_ASSIGN_OR_RETURN(auto rules, s.store.limits().list_all(a));
            boost::json::array data;
            for (const auto& r : rules) {
              if (scope && *scope != limit_scope_name(r.scope)) continue;
              if (scope_id && *scope_id != r.scope_id) continue;
              if (model && *model != r.model) continue;
              data.emplace_back(limit_json(r));
            }
            return list_response(std::move(data));
          }));
  router.add("POST", "/v1/admin/limits",
             with_actor(s, admin, [&s](http::Request& req, const store::Actor& a) {
               return create_limit(s, req, a);
             }));
  router.add("GET", "/v1/admin/limits/{id}",
             admin_get_route(s, admin, "limit",
                             [&s](const store::Actor& a, Id id) -> Result<boost::json::object> {
                               SOCLE_ASSIGN_OR_RETURN(auto rule, s.store.limits().get(a, id));
                               return limit_json(rule);
                             }));
  router.add("PATCH", "/v1/admin/limits/{id}",
             with_actor(s, admin, [&s](http::Request& req, const store::Actor& a) {
               return patch_limit(s, req, a);
             }));
  router.add("DELETE", "/v1/admin/limits/{id}",
             admin_delete_route(s, admin, "limit", "limit", [&s](const store::Actor& a, Id id) {
               return s.store.limits().remove(a, id);
             }));
}

}  // namespace socle::api
