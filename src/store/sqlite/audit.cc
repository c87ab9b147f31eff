// The audit log's rows. INSERT and SELECT, and DELETE of the oldest entries for retention
// only: what guards the log against whoever can write the file is the HMAC chain and its
// checkpoints (tenancy/audit.h), not this code.
#include <string>

#include "store/sqlite/stores.h"

namespace socle::store::sqlite {
namespace {

constexpr const char* ENTRY_COLUMNS =
    "seq, time, actor_user_id, action, target_type, target_id, details, mac";

AuditEntry read_entry_row(const Stmt& s) {
  return AuditEntry{s.column_int(0),  s.column_int(1),  s.column_int(2),  s.column_text(3),
                    s.column_text(4), s.column_text(5), s.column_text(6), s.column_blob(7)};
}

Status need_all_tenants(const Actor& actor) {
  if (actor.all_tenants) return Status::ok();
  return {StatusCode::PERMISSION_DENIED, "only an administrator can read the audit log"};
}

}  // namespace

Status SqliteAuditStore::append(const Actor& /*actor*/, const AuditEntry& e) {
  // Any actor may append: the entry records what that actor just did.
  return write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st, c_.db.prepare(std::string("INSERT INTO audit_entries (") + ENTRY_COLUMNS +
                               ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    return st.bind(1, e.seq)
        .bind(2, e.time)
        .bind(3, e.actor_user_id)
        .bind(4, std::string_view(e.action))
        .bind(5, std::string_view(e.target_type))
        .bind(6, std::string_view(e.target_id))
        .bind(7, std::string_view(e.details))
        .bind_blob(8, e.mac)
        .run();
  });
}

Result<std::optional<AuditEntry>> SqliteAuditStore::last(const Actor& /*actor*/) {
  // Appending needs the head whoever appends; the head alone reveals no tenant's data beyond
  // what the appending code already knows, and it never leaves the tenancy layer.
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + ENTRY_COLUMNS +
                                               " FROM audit_entries ORDER BY seq DESC LIMIT 1"));
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return std::optional<AuditEntry>();
  return std::optional<AuditEntry>(read_entry_row(s));
}

Result<std::vector<AuditEntry>> SqliteAuditStore::list(const Actor& actor, const AuditQuery& q) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor));
  std::lock_guard lock(c_.mu);
  // Unset filters bind NULL and match everything, so that one statement serves every query.
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + ENTRY_COLUMNS +
                                               " FROM audit_entries WHERE seq > ?"
                                               " AND (?2 IS NULL OR actor_user_id = ?2)"
                                               " AND (?3 IS NULL OR action = ?3)"
                                               " AND (?4 IS NULL OR time >= ?4)"
                                               " AND (?5 IS NULL OR time < ?5)"
                                               " ORDER BY seq LIMIT ?6"));
  s.bind(1, q.after_seq)
      .bind(2, q.actor_user_id)
      .bind(4, q.since)
      .bind(5, q.until)
      .bind(6, q.limit);
  if (q.action) {
    s.bind(3, std::string_view(*q.action));
  } else {
    s.bind(3, std::optional<int64_t>());
  }
  std::vector<AuditEntry> out;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back(read_entry_row(s));
  }
  return out;
}

Status SqliteAuditStore::add_checkpoint(const Actor& /*actor*/, const AuditCheckpoint& cp) {
  return write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st,
        c_.db.prepare("INSERT OR REPLACE INTO audit_checkpoints (seq, head_mac, time, mac) "
                      "VALUES (?, ?, ?, ?)"));
    return st.bind(1, cp.seq).bind_blob(2, cp.head_mac).bind(3, cp.time).bind_blob(4, cp.mac).run();
  });
}

Result<std::vector<AuditCheckpoint>> SqliteAuditStore::checkpoints(const Actor& actor) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor));
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c_.db.prepare("SELECT seq, head_mac, time, mac FROM audit_checkpoints ORDER BY seq"));
  std::vector<AuditCheckpoint> out;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back({s.column_int(0), s.column_blob(1), s.column_int(2), s.column_blob(3)});
  }
  return out;
}

Result<int64_t> SqliteAuditStore::remove_through(const Actor& actor, int64_t seq) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor));
  int64_t removed = 0;
  SOCLE_RETURN_IF_ERROR(write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(Stmt entries, c_.db.prepare("DELETE FROM audit_entries WHERE seq <= ?"));
    SOCLE_RETURN_IF_ERROR(entries.bind(1, seq).run());
    removed = c_.db.changes();
    SOCLE_ASSIGN_OR_RETURN(Stmt cps, c_.db.prepare("DELETE FROM audit_checkpoints WHERE seq < ?"));
    return cps.bind(1, seq).run();
  }));
  return removed;
}

Result<int64_t> SqliteAuditStore::count_through(const Actor& actor, int64_t seq) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor));
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c_.db.prepare("SELECT COUNT(*) FROM audit_entries WHERE seq <= ? OR seq IS NULL"));
  s.bind(1, seq);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  return row ? s.column_int(0) : 0;
}

}  // namespace socle::store::sqlite
