// The SQLite schema as a list of versioned migrations, applied in order at start-up, each
// in its own transaction and recorded in schema_migrations. Never edit a released
// migration: add the next one.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "store/sqlite/db.h"

namespace socle::store::sqlite {

struct Migration {
  int64_t version;
  const char* name;
  const char* sql;
  // Rebuilds tables that others reference: applied with foreign keys off (SQLite's way to
  // change a table's definition), then PRAGMA foreign_key_check must find nothing.
  bool rebuilds_tables = false;
};

const std::vector<Migration>& migrations();

// Applies the migrations that `db` lacks, up to version `up_to` (tests build older schemas).
// Refuses a database whose schema is newer than this binary knows (an older binary must not
// write to it).
Status migrate(Db& db, int64_t now, int64_t up_to = INT64_MAX);

Result<int64_t> applied_version(Db& db);

}  // namespace socle::store::sqlite
