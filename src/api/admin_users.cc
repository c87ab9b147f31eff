// Users and groups under /v1/admin/, for holders of "manage_users" (their organisation's
// users and groups) and administrators (everyone's). A user manager cannot hand out more
// than it holds: it may give a user only a role whose permissions it has itself.
#include <boost/json/array.hpp>
#include <optional>
#include <string>

#include "api/auth.h"
#include "api/params.h"
#include "api/user_erasure.h"
#include "api/views.h"
#include "base/json.h"
#include "tenancy/audit.h"
#include "tenancy/permissions.h"

namespace socle::api {
namespace {

using store::Id;

constexpr size_t MAX_NAME_CHARS = 100;
constexpr size_t MAX_EMAIL_CHARS = 254;
constexpr size_t MAX_DESCRIPTION_CHARS = 1000;

store::Actor manager(const tenancy::Principal& p) {
  return p.actor_for(tenancy::PERM_MANAGE_USERS);
}

// The first permission of `role` that `p`, a user manager who is no administrator, lacks
// (admin counts as lacked); none when it holds them all.
std::optional<std::string> permission_lacked(const tenancy::Principal& p, const store::Role& role) {
  for (const auto& perm : role.permissions) {
    if (perm == tenancy::PERM_ADMIN || !p.has(perm)) return perm;
  }
  return std::nullopt;
}

// The role `role_id` if `p` may give it: administrators give any role; user managers only
// roles whose permissions they hold themselves.
Status check_role_grant(Services& s, const tenancy::Principal& p, Id role_id) {
  Result<store::Role> found = s.store.roles().get(manager(p), role_id);
  if (found.status_or_ok().code() == StatusCode::NOT_FOUND) {
    return invalid_argument(
        "no role " + std::to_string(role_id) + "; GET /v1/admin/roles lists them", "role_id");
  }
  SOCLE_ASSIGN_OR_RETURN(store::Role role, std::move(found));
  if (p.has(tenancy::PERM_ADMIN)) return Status::ok();
  if (auto perm = permission_lacked(p, role)) {
    return Status{StatusCode::PERMISSION_DENIED,
                  "the role '" + role.name + "' carries '" + *perm +
                      "', which you do not have: only an administrator can give it"};
  }
  return Status::ok();
}

}  // namespace

boost::json::array changed_personal_fields(const store::UserUpdate& update) {
  boost::json::array changed;
  if (update.name) changed.emplace_back("name");
  if (update.email) changed.emplace_back("email");
  return changed;
}

Status check_may_manage(Services& s, const tenancy::Principal& p, Id user_id) {
  store::Actor a = manager(p);
  SOCLE_ASSIGN_OR_RETURN(store::User user, s.store.users().get(a, user_id));
  if (!a.all_tenants && user.org_id != a.org_id)
    return not_found("no user " + std::to_string(user_id));
  if (p.has(tenancy::PERM_ADMIN)) return Status::ok();
  SOCLE_ASSIGN_OR_RETURN(store::Role role,
                         s.store.roles().get(store::Actor::system(), user.role_id));
  if (auto perm = permission_lacked(p, role)) {
    return Status{StatusCode::PERMISSION_DENIED,
                  "user " + std::to_string(user_id) + " has the role '" + role.name +
                      "', which carries '" + *perm +
                      "' that you do not have: only an administrator can manage this user"};
  }
  return Status::ok();
}

namespace {

Result<Id> role_by_name(Services& s, const std::string& name) {
  SOCLE_ASSIGN_OR_RETURN(store::Role role,
                         s.store.roles().find_by_name(store::Actor::system(), name));
  return role.id;
}

boost::json::array id_array(const std::vector<Id>& ids) {
  boost::json::array a;
  for (Id id : ids)
    a.emplace_back(id);
  return a;
}

Result<boost::json::object> user_with_groups(Services& s, const store::Actor& a, Id id) {
  SOCLE_ASSIGN_OR_RETURN(store::User user, s.store.users().get(a, id));
  SOCLE_ASSIGN_OR_RETURN(std::vector<Id> groups, s.store.groups().groups_of(a, id));
  boost::json::object o = user_json(user);
  o["group_ids"] = id_array(groups);
  return o;
}

// --- users -----------------------------------------------------------------------------

Result<http::Response> list_users(Services& s, const http::Request& req,
                                  const tenancy::Principal& p) {
  SOCLE_RETURN_IF_ERROR(check_param_names(req.query, {"organisation_id", "role_id", "disabled"}));
  SOCLE_ASSIGN_OR_RETURN(auto org, optional_int_param(req, "organisation_id", 1, INT64_MAX));
  SOCLE_ASSIGN_OR_RETURN(auto role, optional_int_param(req, "role_id", 1, INT64_MAX));
  SOCLE_ASSIGN_OR_RETURN(auto disabled, param(req, "disabled"));
  if (disabled && *disabled != "true" && *disabled != "false") {
    return invalid_argument("'disabled' must be true or false", "disabled");
  }
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::User> users, s.store.users().list(manager(p)));
  boost::json::array data;
  for (const auto& u : users) {
    if (org && u.org_id != *org) continue;
    if (role && u.role_id != *role) continue;
    if (disabled && u.disabled != (*disabled == "true")) continue;
    data.emplace_back(user_json(u));
  }
  return list_response(std::move(data));
}

Result<http::Response> create_user(Services& s, const http::Request& req,
                                   const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(
      json::check_keys(body, {"name", "email", "organisation_id", "role_id", "role"}));
  store::UserUpdate fields;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "name", true, &fields.name));
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "email", false, &fields.email));
  SOCLE_RETURN_IF_ERROR(check_user_fields(fields));
  std::optional<int64_t> org_id;
  std::optional<int64_t> role_id;
  std::optional<std::string> role_name;
  SOCLE_RETURN_IF_ERROR(json::get_int(body, "organisation_id", false, &org_id));
  SOCLE_RETURN_IF_ERROR(json::get_int(body, "role_id", false, &role_id));
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "role", false, &role_name));
  if (role_id && role_name) {
    return invalid_argument("give 'role_id' or 'role' (a role name), not both", "role");
  }
  if (!role_id) {
    std::string wanted = role_name.value_or(std::string(tenancy::ROLE_USER));
    auto found = role_by_name(s, wanted);
    if (!found.is_ok()) {
      return invalid_argument("no role named '" + wanted + "'; GET /v1/admin/roles lists them",
                              "role");
    }
    role_id = *found;
  }
  SOCLE_RETURN_IF_ERROR(check_role_grant(s, p, *role_id));
  store::NewUser nu{org_id.value_or(p.org_id), *role_id, *fields.name, fields.email.value_or("")};
  store::Actor a = manager(p);
  store::User user;
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a,
      [&]() -> Status {
        SOCLE_ASSIGN_OR_RETURN(user, s.store.users().create(a, nu));
        return Status::ok();
      },
      [&] {
        return tenancy::audit_event(
            "user.create", "user", user.id,
            {{"organisation_id", user.org_id}, {"role_id", user.role_id}, {"via", "api"}});
      }));
  boost::json::object o = user_json(user);
  o["group_ids"] = boost::json::array();
  return json_response(201, o);
}

Result<http::Response> patch_user(Services& s, const http::Request& req,
                                  const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "user"));
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(
      json::check_keys(body, {"name", "email", "organisation_id", "role_id", "disabled"}));
  store::UserUpdate u;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "name", false, &u.name));
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "email", false, &u.email));
  SOCLE_RETURN_IF_ERROR(json::get_int(body, "organisation_id", false, &u.org_id));
  SOCLE_RETURN_IF_ERROR(json::get_int(body, "role_id", false, &u.role_id));
  SOCLE_RETURN_IF_ERROR(json::get_bool(body, "disabled", false, &u.disabled));
  SOCLE_RETURN_IF_ERROR(check_user_fields(u));
  if (u.role_id) SOCLE_RETURN_IF_ERROR(check_role_grant(s, p, *u.role_id));
  store::Actor a = manager(p);
  // A manager cannot lock itself out; another administrator can.
  if (id == p.user_id && (u.disabled.value_or(false) || u.role_id)) {
    return Status{StatusCode::FAILED_PRECONDITION,
                  "you cannot disable yourself or change your own role"};
  }
  // Only a user manager of the user's organisation may change it, even its own profile, and
  // only if it holds every permission of the user's role.
  SOCLE_RETURN_IF_ERROR(check_may_manage(s, p, id));
  SOCLE_ASSIGN_OR_RETURN(store::User before, s.store.users().get(a, id));
  store::User user;
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a,
      [&]() -> Status {
        SOCLE_ASSIGN_OR_RETURN(user, s.store.users().update(a, id, u));
        return Status::ok();
      },
      [&] {
        boost::json::object details{{"via", "api"}};
        if (u.name || u.email) details["changed"] = changed_personal_fields(u);
        if (u.org_id) details["organisation_id"] = *u.org_id;
        if (u.role_id) details["role_id"] = *u.role_id;
        if (u.disabled) details["disabled"] = *u.disabled;
        const char* action = "user.update";
        if (u.disabled && before.disabled != *u.disabled) {
          action = *u.disabled ? "user.disable" : "user.enable";
        }
        return tenancy::audit_event(action, "user", id, std::move(details));
      }));
  SOCLE_ASSIGN_OR_RETURN(boost::json::object o, user_with_groups(s, a, id));
  return json_response(200, o);
}

// Disables the user (its keys stop at once: nothing new is made while its data goes), erases
// what it owns (user_erasure.h), then its row: keys, memberships and limit rules go with it;
// its usage records and audit entries stay. A failed erasure leaves the user disabled.
Result<http::Response> delete_user(Services& s, const http::Request& req,
                                   const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "user"));
  if (id == p.user_id) {
    // Refused before anything is erased (the store would refuse the row's deletion last).
    return Status{StatusCode::FAILED_PRECONDITION, "you cannot delete yourself"};
  }
  SOCLE_RETURN_IF_ERROR(check_may_manage(s, p, id));
  store::Actor a = manager(p);
  SOCLE_ASSIGN_OR_RETURN(store::User user, s.store.users().get(a, id));
  if (!user.disabled) {
    SOCLE_RETURN_IF_ERROR(apply_audited(
        s, a, [&] { return s.store.users().set_disabled(a, id, true); },
        [&] {
          return tenancy::audit_event("user.disable", "user", id,
                                      {{"via", "api"}, {"reason", "deletion"}});
        }));
  }
  SOCLE_ASSIGN_OR_RETURN(ErasedData erased, erase_user_data(s, user));
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a, [&] { return s.store.users().remove(a, id); },
      [&] {
        return tenancy::audit_event("user.delete", "user", id,
                                    {{"via", "api"},
                                     {"fine_tuning_jobs", erased.fine_tuning_jobs},
                                     {"collections", erased.collections},
                                     {"documents", erased.documents},
                                     {"files", erased.files}});
      }));
  return json_response(200, deleted_json(id, "user"));
}

// --- groups ----------------------------------------------------------------------------

Status check_group_fields(const std::optional<std::string>& name,
                          const std::optional<std::string>& description) {
  if (name && (name->empty() || name->size() > MAX_NAME_CHARS)) {
    return invalid_argument(
        "a group's 'name' must be 1 to " + std::to_string(MAX_NAME_CHARS) + " characters", "name");
  }
  if (description && description->size() > MAX_DESCRIPTION_CHARS) {
    return invalid_argument(
        "'description' must be at most " + std::to_string(MAX_DESCRIPTION_CHARS) + " characters",
        "description");
  }
  return Status::ok();
}

Result<http::Response> create_group(Services& s, const http::Request& req, const store::Actor& a) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(body, {"name", "description", "organisation_id"}));
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<int64_t> org_id;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "name", true, &name));
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "description", false, &description));
  SOCLE_RETURN_IF_ERROR(json::get_int(body, "organisation_id", false, &org_id));
  SOCLE_RETURN_IF_ERROR(check_group_fields(name, description));
  store::Group g;
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a,
      [&]() -> Status {
        SOCLE_ASSIGN_OR_RETURN(g, s.store.groups().create(a, org_id.value_or(a.org_id), *name,
                                                          description.value_or("")));
        return Status::ok();
      },
      [&] {
        return tenancy::audit_event(
            "group.create", "group", g.id,
            {{"name", g.name}, {"organisation_id", g.org_id}, {"via", "api"}});
      }));
  boost::json::object o = group_json(g);
  o["member_ids"] = boost::json::array();
  return json_response(201, o);
}

Result<http::Response> get_group(Services& s, const store::Actor& a, Id id) {
  SOCLE_ASSIGN_OR_RETURN(store::Group g, s.store.groups().get(a, id));
  SOCLE_ASSIGN_OR_RETURN(std::vector<Id> members, s.store.groups().members(a, id));
  boost::json::object o = group_json(g);
  o["member_ids"] = id_array(members);
  return json_response(200, o);
}

Result<http::Response> patch_group(Services& s, const http::Request& req, const store::Actor& a) {
  SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "group"));
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(body, {"name", "description"}));
  std::optional<std::string> name;
  std::optional<std::string> description;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "name", false, &name));
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "description", false, &description));
  SOCLE_RETURN_IF_ERROR(check_group_fields(name, description));
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a, [&] { return s.store.groups().update(a, id, name, description).status_or_ok(); },
      [&] {
        boost::json::object details{{"via", "api"}};
        if (name) details["name"] = *name;
        if (description) details["description"] = *description;
        return tenancy::audit_event("group.update", "group", id, std::move(details));
      }));
  return get_group(s, a, id);
}

Result<http::Response> change_member(Services& s, const http::Request& req, const store::Actor& a,
                                     bool add) {
  SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "group"));
  SOCLE_ASSIGN_OR_RETURN(Id user, path_id(req.param("user_id"), "user"));
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a,
      [&] {
        return add ? s.store.groups().add_member(a, id, user)
                   : s.store.groups().remove_member(a, id, user);
      },
      [&] {
        return tenancy::audit_event(add ? "group.add_member" : "group.remove_member", "group", id,
                                    {{"user_id", user}, {"via", "api"}});
      }));
  return get_group(s, a, id);
}

}  // namespace

Status check_user_fields(const store::UserUpdate& u) {
  if (u.name && (u.name->empty() || u.name->size() > MAX_NAME_CHARS)) {
    return invalid_argument(
        "a user's 'name' must be 1 to " + std::to_string(MAX_NAME_CHARS) + " characters", "name");
  }
  if (u.email && !u.email->empty() &&
      (u.email->size() > MAX_EMAIL_CHARS || u.email->find('@') == std::string::npos ||
       u.email->find_first_of(" \t\r\n") != std::string::npos)) {
    return invalid_argument("'email' must be an email address (name@domain) or empty", "email");
  }
  return Status::ok();
}

void register_admin_user_routes(http::Router& router, Services& s) {
  const std::string_view perm = tenancy::PERM_MANAGE_USERS;
  router.add("GET", "/v1/admin/users",
             with_key(s, perm, [&s](http::Request& req, const tenancy::Principal& p) {
               return list_users(s, req, p);
             }));
  router.add("POST", "/v1/admin/users",
             with_key(s, perm, [&s](http::Request& req, const tenancy::Principal& p) {
               return create_user(s, req, p);
             }));
  router.add("GET", "/v1/admin/users/{id}",
             admin_get_route(s, perm, "user", [&s](const store::Actor& a, Id id) {
               return user_with_groups(s, a, id);
             }));
  router.add("PATCH", "/v1/admin/users/{id}",
             with_key(s, perm, [&s](http::Request& req, const tenancy::Principal& p) {
               return patch_user(s, req, p);
             }));
  router.add("DELETE", "/v1/admin/users/{id}",
             with_key(s, perm, [&s](http::Request& req, const tenancy::Principal& p) {
               return delete_user(s, req, p);
             }));

  router.add(
      "GET", "/v1/admin/groups",
      with_actor(s, perm, [&s](http::Request&, const store::Actor& a) -> Result<http::Response> {
        SOCLE_ASSIGN_OR_RETURN(auto groups, s.store.groups().list(a));
        return list_response(groups, group_json);
      }));
  router.add("POST", "/v1/admin/groups",
             with_actor(s, perm, [&s](http::Request& req, const store::Actor& a) {
               return create_group(s, req, a);
             }));
  router.add("GET", "/v1/admin/groups/{id}",
             with_actor(s, perm,
                        [&s](http::Request& req, const store::Actor& a) -> Result<http::Response> {
                          SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "group"));
                          return get_group(s, a, id);
                        }));
  router.add("PATCH", "/v1/admin/groups/{id}",
             with_actor(s, perm, [&s](http::Request& req, const store::Actor& a) {
               return patch_group(s, req, a);
             }));
  router.add("DELETE", "/v1/admin/groups/{id}",
             admin_delete_route(s, perm, "group", "group", [&s](const store::Actor& a, Id id) {
               return s.store.groups().remove(a, id);
             }));
  router.add("PUT", "/v1/admin/groups/{id}/members/{user_id}",
             with_actor(s, perm, [&s](http::Request& req, const store::Actor& a) {
               return change_member(s, req, a, true);
             }));
  router.add("DELETE", "/v1/admin/groups/{id}/members/{user_id}",
             with_actor(s, perm, [&s](http::Request& req, const store::Actor& a) {
               return change_member(s, req, a, false);
             }));
}

}  // namespace socle::api
