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

}  // namespace socle::store::sqlite
