// Uploaded files: rows visible to their owner alone (or to the system actor). Data: written
// without moving the change counter, as no server caches them.
#include "store/sqlite/stores.h"

namespace socle::store::sqlite {
namespace {

constexpr const char* FILE_COLUMNS =
    "id, owner_id, org_id, filename, purpose, bytes, sha256, created_at";

StoredFile read_file_row(const Stmt& s) {
  StoredFile f;
  f.id = s.column_int(0);
  f.owner_id = s.column_int(1);
  f.org_id = s.column_int(2);
  f.filename = s.column_text(3);
  f.purpose = s.column_text(4);
  f.bytes = s.column_int(5);
  f.sha256 = s.column_text(6);
  f.created_at = s.column_int(7);
  return f;
}

// The owner condition: "1" for the system actor, else the actor's own rows.
std::string owner_clause(const Actor& actor) {
  return actor.all_tenants ? "1" : "owner_id = " + std::to_string(actor.user_id);
}

Result<StoredFile> visible_file(Connection& c, const Actor& actor, Id id) {
  SOCLE_ASSIGN_OR_RETURN(Stmt st,
                         c.db.prepare(std::string("SELECT ") + FILE_COLUMNS +
                                      " FROM files WHERE id = ? AND " + owner_clause(actor)));
  st.bind(1, id);
  SOCLE_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return not_found("no file file-" + std::to_string(id));
  return read_file_row(st);
}

}  // namespace

Result<StoredFile> SqliteFileStore::create(const Actor& actor, const StoredFile& in) {
  StoredFile f = in;
  f.owner_id = actor.user_id;
  f.org_id = actor.org_id;
  f.created_at = c_.clock.unix_seconds();
  SOCLE_RETURN_IF_ERROR(write_data_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st, c_.db.prepare("INSERT INTO files (owner_id, org_id, filename, purpose, bytes, "
                               "sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, f.owner_id)
                              .bind(2, f.org_id)
                              .bind(3, std::string_view(f.filename))
                              .bind(4, std::string_view(f.purpose))
                              .bind(5, f.bytes)
                              .bind(6, std::string_view(f.sha256))
                              .bind(7, f.created_at)
                              .run());
    f.id = c_.db.last_insert_id();
    return Status::ok();
  }));
  return f;
}

Result<StoredFile> SqliteFileStore::get(const Actor& actor, Id id) {
  std::lock_guard lock(c_.mu);
  return visible_file(c_, actor, id);
}

Result<std::vector<StoredFile>> SqliteFileStore::list(const Actor& actor,
                                                      const std::string& purpose, Id after_id,
                                                      bool descending, int64_t limit) {
  std::lock_guard lock(c_.mu);
  std::string sql = std::string("SELECT ") + FILE_COLUMNS + " FROM files WHERE " +
                    owner_clause(actor) + " AND (? = '' OR purpose = ?)";
  if (after_id > 0) sql += descending ? " AND id < ?" : " AND id > ?";
  sql += descending ? " ORDER BY id DESC LIMIT ?" : " ORDER BY id ASC LIMIT ?";
  SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare(sql));
  st.bind(1, std::string_view(purpose));
  st.bind(2, std::string_view(purpose));
  int next = 3;
  if (after_id > 0) st.bind(next++, after_id);
  st.bind(next, limit);
  std::vector<StoredFile> out;
  for (;;) {
    SOCLE_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    out.push_back(read_file_row(st));
  }
  return out;
}

Result<int64_t> SqliteFileStore::remove(const Actor& actor, Id id) {
  int64_t left = 0;
  SOCLE_RETURN_IF_ERROR(write_data_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(StoredFile f, visible_file(c_, actor, id));
    SOCLE_ASSIGN_OR_RETURN(Stmt del, c_.db.prepare("DELETE FROM files WHERE id = ?"));
    SOCLE_RETURN_IF_ERROR(del.bind(1, id).run());
    SOCLE_ASSIGN_OR_RETURN(Stmt count,
                           c_.db.prepare("SELECT COUNT(*) FROM files WHERE sha256 = ?"));
    count.bind(1, std::string_view(f.sha256));
    SOCLE_ASSIGN_OR_RETURN(bool row, count.step());
    left = row ? count.column_int(0) : 0;
    return Status::ok();
  }));
  return left;
}

}  // namespace socle::store::sqlite
