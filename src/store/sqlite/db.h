// RAII wrappers for SQLite handles. A Db is one connection; a Stmt one prepared statement.
// Errors come back as Status with SQLite's message and the statement at fault.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace socle::store::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  // Binds by 1-based position. std::nullopt binds NULL. REAL and optional TEXT have names of
  // their own rather than overloads of bind(): an `int`, `size_t` or `bool` argument would
  // otherwise be ambiguous between int64_t and double, and a `const char*` or std::string one
  // between std::string_view and the optional.
  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, std::string_view v);  // as TEXT
  Stmt& bind_blob(int i, std::string_view v);
  Stmt& bind(int i, std::optional<int64_t> v);
  Stmt& bind_double(int i, double v);  // as REAL
  Stmt& bind_opt_text(int i, std::optional<std::string_view> v);

  // Makes the statement ready to run again, as after prepare: rewinds it, sets every
  // parameter back to NULL and forgets a failed bind, so that one prepared statement can
  // insert many rows. The error of the last step is not repeated here; step reported it.
  void reset();

  // Advances: true with a row, false when done. The first failed bind is reported here.
  Result<bool> step();
  // Runs to completion, ignoring rows.
  Status run();

  int64_t column_int(int i) const { return sqlite3_column_int64(stmt_.get(), i); }
  bool column_is_null(int i) const { return sqlite3_column_type(stmt_.get(), i) == SQLITE_NULL; }
  std::optional<int64_t> column_opt_int(int i) const;
  double column_double(int i) const { return sqlite3_column_double(stmt_.get(), i); }
  std::string column_text(int i) const;
  std::string column_blob(int i) const;

 private:
  Status error(int rc) const;
  // Remembers the first failed bind, for step to report.
  Stmt& note_bind(int rc);
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
  int bind_rc_ = SQLITE_OK;
};

class Db {
 public:
  // Opens the file in WAL mode with foreign keys on and a busy timeout.
  static Result<Db> open(const std::string& path);

  Result<Stmt> prepare(std::string_view sql);
  // Runs one or more statements without parameters.
  Status exec(const std::string& sql);
  int64_t changes() const { return sqlite3_changes64(db_.get()); }
  int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_.get()); }
  sqlite3* handle() const { return db_.get(); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  std::unique_ptr<sqlite3, DbCloser> db_;
};

// Maps a SQLite result code to a Status: constraint violations to ALREADY_EXISTS, busy and
// I/O errors to UNAVAILABLE, the rest to INTERNAL.
Status sqlite_status(sqlite3* db, int rc, std::string_view context);

}  // namespace socle::store::sqlite
