#include "store/sqlite/db.h"

namespace socle::store::sqlite {

// Writers wait this long for another connection's write lock (the CLI beside a server).
constexpr int BUSY_TIMEOUT_MS = 5000;

Status sqlite_status(sqlite3* db, int rc, std::string_view context) {
  std::string msg = std::string(context) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xFF) {
    case SQLITE_CONSTRAINT:
      return {StatusCode::ALREADY_EXISTS, msg};
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return {StatusCode::UNAVAILABLE, msg};
    default:
      return {StatusCode::INTERNAL, msg};
  }
}

Stmt& Stmt::note_bind(int rc) {
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind(int i, int64_t v) {
  return note_bind(sqlite3_bind_int64(stmt_.get(), i, v));
}

Stmt& Stmt::bind(int i, std::string_view v) {
  return note_bind(
      sqlite3_bind_text64(stmt_.get(), i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

Stmt& Stmt::bind_blob(int i, std::string_view v) {
  return note_bind(sqlite3_bind_blob64(stmt_.get(), i, v.data(), v.size(), SQLITE_TRANSIENT));
}

Stmt& Stmt::bind(int i, std::optional<int64_t> v) {
  if (v) return bind(i, *v);
  return note_bind(sqlite3_bind_null(stmt_.get(), i));
}

Stmt& Stmt::bind_double(int i, double v) {
  return note_bind(sqlite3_bind_double(stmt_.get(), i, v));
}

Stmt& Stmt::bind_opt_text(int i, std::optional<std::string_view> v) {
  if (v) return bind(i, *v);
  return note_bind(sqlite3_bind_null(stmt_.get(), i));
}

void Stmt::reset() {
  // sqlite3_reset returns the error of the last step again; step has already reported it.
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_rc_ = SQLITE_OK;
}

Status Stmt::error(int rc) const {
  return sqlite_status(db_, rc, std::string("statement '") + sqlite3_sql(stmt_.get()) + "'");
}

Result<bool> Stmt::step() {
  if (bind_rc_ != SQLITE_OK) return error(bind_rc_);
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return error(rc);
}

Status Stmt::run() {
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, step());
    if (!row) return Status::ok();
  }
}

std::optional<int64_t> Stmt::column_opt_int(int i) const {
  if (column_is_null(i)) return std::nullopt;
  return column_int(i);
}

std::string Stmt::column_text(int i) const {
  const unsigned char* p = sqlite3_column_text(stmt_.get(), i);
  int n = sqlite3_column_bytes(stmt_.get(), i);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

std::string Stmt::column_blob(int i) const {
  const void* p = sqlite3_column_blob(stmt_.get(), i);
  int n = sqlite3_column_bytes(stmt_.get(), i);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

Result<Db> Db::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);  // owns the handle even when opening failed
  if (rc != SQLITE_OK) return sqlite_status(raw, rc, "cannot open " + path);
  sqlite3_busy_timeout(raw, BUSY_TIMEOUT_MS);
  sqlite3_extended_result_codes(raw, 1);
  SOCLE_RETURN_IF_ERROR(
      db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
              // Deleted content is overwritten with zeros, not left in free pages: erasure
              // (a deleted user's email, a deleted document's chunks) reaches the file.
              " PRAGMA secure_delete=ON;"));
  return db;
}

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqlite_status(db_.get(), rc, "cannot prepare '" + std::string(sql) + "'");
  }
  return Stmt(db_.get(), stmt);
}

Status Db::exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Status s = sqlite_status(nullptr, rc, "");
    return {s.code(), "SQL failed: " + msg};
  }
  return Status::ok();
}

}  // namespace socle::store::sqlite
