// Users: an actor sees its own user; an all-tenants actor sees and changes every user.
#include "store/sqlite/stores.h"

namespace socle::store::sqlite {
namespace {

constexpr const char* USER_COLUMNS = "id, org_id, role_id, name, email, disabled, created_at";

User read_user_row(const Stmt& s) {
  return User{s.column_int(0),  s.column_int(1),      s.column_int(2), s.column_text(3),
              s.column_text(4), s.column_int(5) != 0, s.column_int(6)};
}

}  // namespace

Result<User> SqliteUserStore::create(const Actor& actor, const NewUser& u) {
  if (!actor.all_tenants) {
    return Status{StatusCode::PERMISSION_DENIED, "only an administrator can create users"};
  }
  if (u.name.empty()) return invalid_argument("a user needs a name", "name");
  User user{0, u.org_id, u.role_id, u.name, u.email, false, c_.clock.unix_seconds()};
  Status s = write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st, c_.db.prepare("INSERT INTO users (org_id, role_id, name, email, created_at) "
                               "VALUES (?, ?, ?, ?, ?)"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, u.org_id)
                              .bind(2, u.role_id)
                              .bind(3, std::string_view(u.name))
                              .bind(4, std::string_view(u.email))
                              .bind(5, user.created_at)
                              .run());
    user.id = c_.db.last_insert_id();
    return Status::ok();
  });
  if (s.code() == StatusCode::ALREADY_EXISTS) {
    // Unique name, or a foreign key to an organisation or role that does not exist.
    return Status{StatusCode::ALREADY_EXISTS, "cannot create user '" + u.name +
                                                  "': the name is taken or its organisation "
                                                  "or role does not exist (" +
                                                  s.message() + ")"};
  }
  SOCLE_RETURN_IF_ERROR(s);
  return user;
}

Result<User> SqliteUserStore::get(const Actor& actor, Id id) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + USER_COLUMNS +
                                               " FROM users WHERE id = ? AND (? OR id = ?)"));
  s.bind(1, id).bind(2, static_cast<int64_t>(actor.all_tenants)).bind(3, actor.user_id);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found("no user " + std::to_string(id));
  return read_user_row(s);
}

Result<User> SqliteUserStore::find_by_name(const Actor& actor, const std::string& name) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + USER_COLUMNS +
                                               " FROM users WHERE name = ? AND (? OR id = ?)"));
  s.bind(1, std::string_view(name))
      .bind(2, static_cast<int64_t>(actor.all_tenants))
      .bind(3, actor.user_id);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found("no user named '" + name + "'");
  return read_user_row(s);
}

Result<std::vector<User>> SqliteUserStore::list(const Actor& actor) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + USER_COLUMNS +
                                               " FROM users WHERE ? OR id = ? ORDER BY id"));
  s.bind(1, static_cast<int64_t>(actor.all_tenants)).bind(2, actor.user_id);
  std::vector<User> out;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back(read_user_row(s));
  }
  return out;
}

Status SqliteUserStore::set_disabled(const Actor& actor, Id id, bool disabled) {
  if (!actor.all_tenants) {
    return {StatusCode::PERMISSION_DENIED, "only an administrator can disable users"};
  }
  return write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare("UPDATE users SET disabled = ? WHERE id = ?"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, static_cast<int64_t>(disabled)).bind(2, id).run());
    if (c_.db.changes() == 0) return not_found("no user " + std::to_string(id));
    return Status::ok();
  });
}

}  // namespace socle::store::sqlite
