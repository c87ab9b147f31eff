// Groups: named sets of users of one organisation. An all-tenants actor manages every group,
// an org-wide actor its organisation's; any other actor sees the groups it belongs to.
#include "store/sqlite/stores.h"

namespace socle::store::sqlite {
namespace {

constexpr const char* GROUP_COLUMNS = "id, org_id, name, description, created_at";

Group read_group_row(const Stmt& s) {
  return Group{s.column_int(0), s.column_int(1), s.column_text(2), s.column_text(3),
               s.column_int(4)};
}

// The group if the actor may read it: it manages the group's organisation or is a member.
Result<Group> visible_group(Connection& c, const Actor& actor, Id id) {
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c.db.prepare(std::string("SELECT ") + GROUP_COLUMNS +
                           " FROM groups g WHERE id = ? AND (? OR (? AND org_id = ?) OR EXISTS "
                           "(SELECT 1 FROM group_members m WHERE m.group_id = g.id AND "
                           "m.user_id = ?))"));
  s.bind(1, id)
      .bind(2, static_cast<int64_t>(actor.all_tenants))
      .bind(3, static_cast<int64_t>(actor.org_wide))
      .bind(4, actor.org_id)
      .bind(5, actor.user_id);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found("no group " + std::to_string(id));
  return read_group_row(s);
}

// The group if the actor may change it (it manages the group's organisation).
Result<Group> managed_group(Connection& c, const Actor& actor, Id id) {
  SOCLE_ASSIGN_OR_RETURN(Group g, visible_group(c, actor, id));
  if (!actor.all_tenants && !(actor.org_wide && g.org_id == actor.org_id)) {
    return Status{StatusCode::PERMISSION_DENIED,
                  "only a user manager of its organisation can change group " + std::to_string(id)};
  }
  return g;
}

Status need_manager_of(const Actor& actor, Id org_id) {
  if (actor.all_tenants || (actor.org_wide && actor.org_id == org_id)) return Status::ok();
  return {StatusCode::PERMISSION_DENIED,
          "only a user manager of organisation " + std::to_string(org_id) + " can do this"};
}

Result<std::vector<Id>> read_ids(Stmt& s) {
  std::vector<Id> out;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back(s.column_int(0));
  }
  return out;
}

}  // namespace

Result<Group> SqliteGroupStore::create(const Actor& actor, Id org_id, const std::string& name,
                                       const std::string& description) {
  SOCLE_RETURN_IF_ERROR(need_manager_of(actor, org_id));
  if (name.empty()) return invalid_argument("a group needs a name", "name");
  Group g{0, org_id, name, description, c_.clock.unix_seconds()};
  Status s = write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(Stmt org, c_.db.prepare("SELECT 1 FROM organisations WHERE id = ?"));
    org.bind(1, org_id);
    SOCLE_ASSIGN_OR_RETURN(bool exists, org.step());
    if (!exists) return not_found("no organisation " + std::to_string(org_id));
    SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare("INSERT INTO groups (org_id, name, description, "
                                                  "created_at) VALUES (?, ?, ?, ?)"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, org_id)
                              .bind(2, std::string_view(name))
                              .bind(3, std::string_view(description))
                              .bind(4, g.created_at)
                              .run());
    g.id = c_.db.last_insert_id();
    return Status::ok();
  });
  if (s.code() == StatusCode::ALREADY_EXISTS) {
    return Status{StatusCode::ALREADY_EXISTS,
                  "organisation " + std::to_string(org_id) + " has a group named '" + name + "'"};
  }
  SOCLE_RETURN_IF_ERROR(s);
  return g;
}

Result<Group> SqliteGroupStore::get(const Actor& actor, Id id) {
  std::lock_guard lock(c_.mu);
  return visible_group(c_, actor, id);
}

Result<std::vector<Group>> SqliteGroupStore::list(const Actor& actor) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c_.db.prepare(std::string("SELECT ") + GROUP_COLUMNS +
                            " FROM groups g WHERE ? OR (? AND org_id = ?) OR EXISTS (SELECT 1 "
                            "FROM group_members m WHERE m.group_id = g.id AND m.user_id = ?) "
                            "ORDER BY id"));
  s.bind(1, static_cast<int64_t>(actor.all_tenants))
      .bind(2, static_cast<int64_t>(actor.org_wide))
      .bind(3, actor.org_id)
      .bind(4, actor.user_id);
  std::vector<Group> out;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back(read_group_row(s));
  }
  return out;
}

Result<Group> SqliteGroupStore::update(const Actor& actor, Id id,
                                       const std::optional<std::string>& name,
                                       const std::optional<std::string>& description) {
  if (name && name->empty()) return invalid_argument("a group needs a name", "name");
  Group g;
  Status s = write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(g, managed_group(c_, actor, id));
    if (name) g.name = *name;
    if (description) g.description = *description;
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st, c_.db.prepare("UPDATE groups SET name = ?, description = ? WHERE id = ?"));
    return st.bind(1, std::string_view(g.name))
        .bind(2, std::string_view(g.description))
        .bind(3, id)
        .run();
  });
  if (s.code() == StatusCode::ALREADY_EXISTS) {
    return Status{StatusCode::ALREADY_EXISTS, "organisation " + std::to_string(g.org_id) +
                                                  " has a group named '" + g.name + "'"};
  }
  SOCLE_RETURN_IF_ERROR(s);
  return g;
}

Status SqliteGroupStore::remove(const Actor& actor, Id id) {
  return write_in_savepoint(c_, [&]() -> Status {
    SOCLE_RETURN_IF_ERROR(managed_group(c_, actor, id).status_or_ok());
    SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare("DELETE FROM groups WHERE id = ?"));
    return st.bind(1, id).run();
  });
}

Status SqliteGroupStore::add_member(const Actor& actor, Id group_id, Id user_id) {
  return write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(Group g, managed_group(c_, actor, group_id));
    SOCLE_ASSIGN_OR_RETURN(Stmt u, c_.db.prepare("SELECT org_id FROM users WHERE id = ?"));
    u.bind(1, user_id);
    SOCLE_ASSIGN_OR_RETURN(bool exists, u.step());
    if (!exists || !actor.sees(user_id, u.column_int(0))) {
      return not_found("no user " + std::to_string(user_id));
    }
    if (u.column_int(0) != g.org_id) {
      return Status{StatusCode::FAILED_PRECONDITION,
                    "user " + std::to_string(user_id) + " belongs to organisation " +
                        std::to_string(u.column_int(0)) + ", group " + std::to_string(group_id) +
                        " to organisation " + std::to_string(g.org_id)};
    }
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st,
        c_.db.prepare("INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)"));
    return st.bind(1, group_id).bind(2, user_id).run();
  });
}

Status SqliteGroupStore::remove_member(const Actor& actor, Id group_id, Id user_id) {
  return write_in_savepoint(c_, [&]() -> Status {
    SOCLE_RETURN_IF_ERROR(managed_group(c_, actor, group_id).status_or_ok());
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st, c_.db.prepare("DELETE FROM group_members WHERE group_id = ? AND user_id = ?"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, group_id).bind(2, user_id).run());
    if (c_.db.changes() == 0) {
      return not_found("user " + std::to_string(user_id) + " is not in group " +
                       std::to_string(group_id));
    }
    return Status::ok();
  });
}

Result<std::vector<Id>> SqliteGroupStore::members(const Actor& actor, Id group_id) {
  std::lock_guard lock(c_.mu);
  SOCLE_RETURN_IF_ERROR(visible_group(c_, actor, group_id).status_or_ok());
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s,
      c_.db.prepare("SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id"));
  s.bind(1, group_id);
  return read_ids(s);
}

Result<std::vector<Id>> SqliteGroupStore::groups_of(const Actor& actor, Id user_id) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt u, c_.db.prepare("SELECT org_id FROM users WHERE id = ?"));
  u.bind(1, user_id);
  SOCLE_ASSIGN_OR_RETURN(bool exists, u.step());
  if (!exists || !actor.sees(user_id, u.column_int(0))) {
    return not_found("no user " + std::to_string(user_id));
  }
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s,
      c_.db.prepare("SELECT group_id FROM group_members WHERE user_id = ? ORDER BY group_id"));
  s.bind(1, user_id);
  return read_ids(s);
}

}  // namespace socle::store::sqlite
