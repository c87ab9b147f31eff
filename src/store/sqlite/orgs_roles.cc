// Organisations and roles: reference data that every tenant reads and only an all-tenants
// actor writes.
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "base/json.h"
#include "store/sqlite/stores.h"

namespace socle::store::sqlite {
namespace {

Status need_all_tenants(const Actor& actor, const char* what) {
  if (actor.all_tenants) return Status::ok();
  return {StatusCode::PERMISSION_DENIED, std::string("only an administrator can ") + what};
}

Result<Organisation> read_org(Stmt& s, const std::string& what) {
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found("no organisation " + what);
  return Organisation{s.column_int(0), s.column_text(1), s.column_int(2)};
}

std::string permissions_json(const std::vector<std::string>& permissions) {
  boost::json::array a;
  for (const auto& p : permissions)
    a.emplace_back(p);
  return boost::json::serialize(a);
}

Result<Role> read_role(Stmt& s, const std::string& what) {
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found("no role " + what);
  Role r{s.column_int(0), s.column_text(1), {}, s.column_int(3)};
  SOCLE_ASSIGN_OR_RETURN(boost::json::value v, json::parse(s.column_text(2)));
  if (!v.is_array()) return internal_error("role " + r.name + " has corrupt permissions");
  for (const auto& p : v.as_array()) {
    if (p.is_string()) r.permissions.emplace_back(p.as_string());
  }
  return r;
}

// Fails with FAILED_PRECONDITION if any user has `column` = id.
Status no_users_with(Connection& c, const char* column, Id id, const std::string& what) {
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c.db.prepare(std::string("SELECT COUNT(*) FROM users WHERE ") + column + " = ?"));
  s.bind(1, id);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  int64_t n = row ? s.column_int(0) : 0;
  if (n == 0) return Status::ok();
  return {StatusCode::FAILED_PRECONDITION,
          what + " still has " + std::to_string(n) + " user(s): move or delete them first"};
}

}  // namespace

Result<Organisation> SqliteOrgStore::create(const Actor& actor, const std::string& name) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor, "create organisations"));
  Organisation org{0, name, c_.clock.unix_seconds()};
  Status s = write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st, c_.db.prepare("INSERT INTO organisations (name, created_at) VALUES (?, ?)"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, std::string_view(name)).bind(2, org.created_at).run());
    org.id = c_.db.last_insert_id();
    return Status::ok();
  });
  if (s.code() == StatusCode::ALREADY_EXISTS) {
    return Status{StatusCode::ALREADY_EXISTS, "an organisation named '" + name + "' exists"};
  }
  SOCLE_RETURN_IF_ERROR(s);
  return org;
}

Result<Organisation> SqliteOrgStore::get(const Actor& actor, Id id) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare("SELECT id, name, created_at FROM organisations "
                                               "WHERE id = ? AND (? OR id = ?)"));
  s.bind(1, id).bind(2, static_cast<int64_t>(actor.all_tenants)).bind(3, actor.org_id);
  return read_org(s, std::to_string(id));
}

Result<Organisation> SqliteOrgStore::find_by_name(const Actor& actor, const std::string& name) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare("SELECT id, name, created_at FROM organisations "
                                               "WHERE name = ? AND (? OR id = ?)"));
  s.bind(1, std::string_view(name))
      .bind(2, static_cast<int64_t>(actor.all_tenants))
      .bind(3, actor.org_id);
  return read_org(s, "'" + name + "'");
}

Result<Role> SqliteRoleStore::create(const Actor& actor, const std::string& name,
                                     const std::vector<std::string>& permissions) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor, "create roles"));
  Role role{0, name, permissions, c_.clock.unix_seconds()};
  Status s = write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st,
        c_.db.prepare("INSERT INTO roles (name, permissions, created_at) VALUES (?, ?, ?)"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, std::string_view(name))
                              .bind(2, std::string_view(permissions_json(permissions)))
                              .bind(3, role.created_at)
                              .run());
    role.id = c_.db.last_insert_id();
    return Status::ok();
  });
  if (s.code() == StatusCode::ALREADY_EXISTS) {
    return Status{StatusCode::ALREADY_EXISTS, "a role named '" + name + "' exists"};
  }
  SOCLE_RETURN_IF_ERROR(s);
  return role;
}

// Roles are not tenant data: any authenticated actor may read them.
Result<Role> SqliteRoleStore::get(const Actor& /*actor*/, Id id) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c_.db.prepare("SELECT id, name, permissions, created_at FROM roles WHERE id = ?"));
  s.bind(1, id);
  return read_role(s, std::to_string(id));
}

Result<Role> SqliteRoleStore::find_by_name(const Actor& /*actor*/, const std::string& name) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c_.db.prepare("SELECT id, name, permissions, created_at FROM roles WHERE name = ?"));
  s.bind(1, std::string_view(name));
  return read_role(s, "'" + name + "'");
}

Result<std::vector<Organisation>> SqliteOrgStore::list(const Actor& actor) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare("SELECT id, name, created_at FROM organisations "
                                               "WHERE ? OR id = ? ORDER BY id"));
  s.bind(1, static_cast<int64_t>(actor.all_tenants)).bind(2, actor.org_id);
  std::vector<Organisation> out;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back(Organisation{s.column_int(0), s.column_text(1), s.column_int(2)});
  }
  return out;
}

Result<Organisation> SqliteOrgStore::rename(const Actor& actor, Id id, const std::string& name) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor, "rename organisations"));
  if (name.empty()) return invalid_argument("an organisation needs a name", "name");
  Status s = write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(Stmt st,
                           c_.db.prepare("UPDATE organisations SET name = ? WHERE id = ?"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, std::string_view(name)).bind(2, id).run());
    if (c_.db.changes() == 0) return not_found("no organisation " + std::to_string(id));
    return Status::ok();
  });
  if (s.code() == StatusCode::ALREADY_EXISTS) {
    return Status{StatusCode::ALREADY_EXISTS, "an organisation named '" + name + "' exists"};
  }
  SOCLE_RETURN_IF_ERROR(s);
  return get(actor, id);
}

Status SqliteOrgStore::remove(const Actor& actor, Id id) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor, "delete organisations"));
  return write_in_savepoint(c_, [&]() -> Status {
    SOCLE_RETURN_IF_ERROR(get(actor, id).status_or_ok());
    SOCLE_RETURN_IF_ERROR(no_users_with(c_, "org_id", id, "organisation " + std::to_string(id)));
    SOCLE_ASSIGN_OR_RETURN(Stmt g, c_.db.prepare("DELETE FROM groups WHERE org_id = ?"));
    SOCLE_RETURN_IF_ERROR(g.bind(1, id).run());
    SOCLE_RETURN_IF_ERROR(remove_limit_rules(c_, LimitScope::ORGANISATION, id));
    SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare("DELETE FROM organisations WHERE id = ?"));
    return st.bind(1, id).run();
  });
}

Result<std::vector<Role>> SqliteRoleStore::list(const Actor& /*actor*/) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare("SELECT id FROM roles ORDER BY id"));
  std::vector<Id> ids;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    ids.push_back(s.column_int(0));
  }
  std::vector<Role> out;
  for (Id id : ids) {
    SOCLE_ASSIGN_OR_RETURN(Role r, get(Actor::system(), id));
    out.push_back(std::move(r));
  }
  return out;
}

Result<Role> SqliteRoleStore::update(const Actor& actor, Id id,
                                     const std::optional<std::string>& name,
                                     const std::optional<std::vector<std::string>>& permissions) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor, "change roles"));
  if (name && name->empty()) return invalid_argument("a role needs a name", "name");
  Role role;
  Status s = write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(role, get(actor, id));
    if (name) role.name = *name;
    if (permissions) role.permissions = *permissions;
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st, c_.db.prepare("UPDATE roles SET name = ?, permissions = ? WHERE id = ?"));
    return st.bind(1, std::string_view(role.name))
        .bind(2, std::string_view(permissions_json(role.permissions)))
        .bind(3, id)
        .run();
  });
  if (s.code() == StatusCode::ALREADY_EXISTS) {
    return Status{StatusCode::ALREADY_EXISTS, "a role named '" + role.name + "' exists"};
  }
  SOCLE_RETURN_IF_ERROR(s);
  return role;
}

Status SqliteRoleStore::remove(const Actor& actor, Id id) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor, "delete roles"));
  return write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(Role role, get(actor, id));
    SOCLE_RETURN_IF_ERROR(no_users_with(c_, "role_id", id, "role '" + role.name + "'"));
    SOCLE_RETURN_IF_ERROR(remove_limit_rules(c_, LimitScope::ROLE, id));
    SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare("DELETE FROM roles WHERE id = ?"));
    return st.bind(1, id).run();
  });
}

}  // namespace socle::store::sqlite
