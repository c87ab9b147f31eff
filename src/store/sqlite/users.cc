// Users: an actor sees its own user; an org-wide actor (a user manager) sees and changes its
// organisation's users; an all-tenants actor every user.
#include "store/sqlite/stores.h"

namespace socle::store::sqlite {
namespace {

constexpr const char* USER_COLUMNS = "id, org_id, role_id, name, email, disabled, created_at";

User read_user_row(const Stmt& s) {
  return User{s.column_int(0),  s.column_int(1),      s.column_int(2), s.column_text(3),
              s.column_text(4), s.column_int(5) != 0, s.column_int(6)};
}

// The visibility condition on users' (id, org_id), with four parameters to bind.
constexpr const char* USER_VISIBLE = "(? OR id = ? OR (? AND org_id = ?))";

Stmt& bind_visible(Stmt& s, int first, const Actor& a) {
  return s.bind(first, static_cast<int64_t>(a.all_tenants))
      .bind(first + 1, a.user_id)
      .bind(first + 2, static_cast<int64_t>(a.org_wide))
      .bind(first + 3, a.org_id);
}

Status need_manager_of(const Actor& actor, Id org_id, const char* what) {
  if (actor.all_tenants || (actor.org_wide && actor.org_id == org_id)) return Status::ok();
  return {StatusCode::PERMISSION_DENIED,
          std::string("only an administrator or a user manager of its organisation can ") + what};
}

// INVALID_ARGUMENT naming `field` unless `table` has the row `id`. Checked before a write:
// SQLite reports a missing organisation or role and a taken name alike, as a constraint
// failure.
Status need_row(Connection& c, const char* table, Id id, const char* what, const char* field) {
  SOCLE_ASSIGN_OR_RETURN(Stmt s,
                         c.db.prepare(std::string("SELECT 1 FROM ") + table + " WHERE id = ?"));
  s.bind(1, id);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (row) return Status::ok();
  return invalid_argument(std::string("no ") + what + " " + std::to_string(id) +
                              "; GET /v1/admin/" + table + " lists them",
                          field);
}

Status need_org_and_role(Connection& c, std::optional<Id> org_id, std::optional<Id> role_id) {
  if (org_id)
    SOCLE_RETURN_IF_ERROR(need_row(c, "organisations", *org_id, "organisation", "organisation_id"));
  if (role_id) SOCLE_RETURN_IF_ERROR(need_row(c, "roles", *role_id, "role", "role_id"));
  return Status::ok();
}

// The users table's one uniqueness constraint is the name.
Status name_taken(const std::string& name) {
  return Status{StatusCode::ALREADY_EXISTS,
                "a user named '" + name + "' already exists; choose another name", "name"};
}

}  // namespace

Result<Id> visible_user_org(Connection& c, const Actor& actor, Id user_id) {
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c.db.prepare("SELECT org_id FROM users WHERE id = ?"));
  s.bind(1, user_id);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row || !actor.sees(user_id, s.column_int(0))) {
    return not_found("no user " + std::to_string(user_id));
  }
  return s.column_int(0);
}

Result<User> SqliteUserStore::create(const Actor& actor, const NewUser& u) {
  SOCLE_RETURN_IF_ERROR(need_manager_of(actor, u.org_id, "create users"));
  if (u.name.empty()) return invalid_argument("a user needs a name", "name");
  User user{0, u.org_id, u.role_id, u.name, u.email, false, c_.clock.unix_seconds()};
  Status s = write_in_savepoint(c_, [&]() -> Status {
    SOCLE_RETURN_IF_ERROR(need_org_and_role(c_, u.org_id, u.role_id));
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
  if (s.code() == StatusCode::ALREADY_EXISTS) return name_taken(u.name);
  SOCLE_RETURN_IF_ERROR(s);
  return user;
}

Result<User> SqliteUserStore::get(const Actor& actor, Id id) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + USER_COLUMNS +
                                               " FROM users WHERE id = ? AND " + USER_VISIBLE));
  bind_visible(s.bind(1, id), 2, actor);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found("no user " + std::to_string(id));
  return read_user_row(s);
}

Result<User> SqliteUserStore::find_by_name(const Actor& actor, const std::string& name) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + USER_COLUMNS +
                                               " FROM users WHERE name = ? AND " + USER_VISIBLE));
  bind_visible(s.bind(1, std::string_view(name)), 2, actor);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found("no user named '" + name + "'");
  return read_user_row(s);
}

Result<std::vector<User>> SqliteUserStore::list(const Actor& actor) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c_.db.prepare(std::string("SELECT ") + USER_COLUMNS + " FROM users WHERE " +
                            USER_VISIBLE + " ORDER BY id"));
  bind_visible(s, 1, actor);
  std::vector<User> out;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back(read_user_row(s));
  }
  return out;
}

Status SqliteUserStore::set_disabled(const Actor& actor, Id id, bool disabled) {
  UserUpdate u;
  u.disabled = disabled;
  return update(actor, id, u).status_or_ok();
}

Result<User> SqliteUserStore::update(const Actor& actor, Id id, const UserUpdate& u) {
  if (u.name && u.name->empty()) return invalid_argument("a user needs a name", "name");
  User user;
  Status s = write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(user, get(actor, id));
    // Users may change their own name and email; anything else is a manager's.
    bool own_profile = id == actor.user_id && !u.org_id && !u.role_id && !u.disabled;
    if (!own_profile) SOCLE_RETURN_IF_ERROR(need_manager_of(actor, user.org_id, "change users"));
    if (u.org_id && *u.org_id != user.org_id) {
      SOCLE_RETURN_IF_ERROR(
          need_manager_of(actor, *u.org_id, "move users to another organisation"));
      user.org_id = *u.org_id;
    }
    SOCLE_RETURN_IF_ERROR(need_org_and_role(c_, u.org_id, u.role_id));
    if (u.role_id) user.role_id = *u.role_id;
    if (u.name) user.name = *u.name;
    if (u.email) user.email = *u.email;
    if (u.disabled) user.disabled = *u.disabled;
    SOCLE_ASSIGN_OR_RETURN(Stmt st,
                           c_.db.prepare("UPDATE users SET org_id = ?, role_id = ?, "
                                         "name = ?, email = ?, disabled = ? WHERE id = ?"));
    return st.bind(1, user.org_id)
        .bind(2, user.role_id)
        .bind(3, std::string_view(user.name))
        .bind(4, std::string_view(user.email))
        .bind(5, static_cast<int64_t>(user.disabled))
        .bind(6, id)
        .run();
  });
  if (s.code() == StatusCode::ALREADY_EXISTS) return name_taken(user.name);
  SOCLE_RETURN_IF_ERROR(s);
  return user;
}

Status SqliteUserStore::remove(const Actor& actor, Id id) {
  return write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(User user, get(actor, id));
    SOCLE_RETURN_IF_ERROR(need_manager_of(actor, user.org_id, "delete users"));
    if (user.id == actor.user_id) {
      return Status{StatusCode::FAILED_PRECONDITION, "a user cannot delete itself"};
    }
    SOCLE_RETURN_IF_ERROR(remove_limit_rules(c_, LimitScope::USER, id));
    // Keys and group memberships go with the user (ON DELETE CASCADE).
    SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare("DELETE FROM users WHERE id = ?"));
    return st.bind(1, id).run();
  });
}

}  // namespace socle::store::sqlite
