#include "store/sqlite/migrations.h"

namespace socle::store::sqlite {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list = {
      {1, "identity", R"sql(
CREATE TABLE organisations (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
CREATE TABLE roles (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  permissions TEXT NOT NULL DEFAULT '[]',  -- JSON array of permission names
  created_at INTEGER NOT NULL
);
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES organisations(id),
  role_id INTEGER NOT NULL REFERENCES roles(id),
  name TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL DEFAULT '',
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX users_org ON users(org_id);
CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  hash BLOB NOT NULL UNIQUE,  -- SHA-256 of the secret
  prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX api_keys_user ON api_keys(user_id);
-- One row; every write bumps it so that servers polling it see changes made elsewhere.
CREATE TABLE changes (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  counter INTEGER NOT NULL
);
INSERT INTO changes (id, counter) VALUES (1, 0);
)sql"},
      {2, "audit", R"sql(
-- Append-only; tenancy/audit.h chains the rows with HMAC-SHA256 under a key kept outside
-- the database, so that the rows cannot be changed unnoticed even by whoever can write here.
CREATE TABLE audit_entries (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  actor_user_id INTEGER NOT NULL,
  action TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id TEXT NOT NULL,
  details TEXT NOT NULL,  -- JSON object
  mac BLOB NOT NULL
);
CREATE INDEX audit_entries_time ON audit_entries(time);
CREATE INDEX audit_entries_actor ON audit_entries(actor_user_id, seq);
CREATE TABLE audit_checkpoints (
  seq INTEGER PRIMARY KEY,
  head_mac BLOB NOT NULL,
  time INTEGER NOT NULL,
  mac BLOB NOT NULL
);
)sql"},
      {3, "groups and limits", R"sql(
CREATE TABLE groups (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES organisations(id),
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  UNIQUE (org_id, name)
);
CREATE TABLE group_members (
  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);
-- A role's limits, a user's override or an organisation's ceiling for one model ('*': every
-- model without a rule of its own at that scope). NULL: no limit; 0: no access.
CREATE TABLE limit_rules (
  id INTEGER PRIMARY KEY,
  scope TEXT NOT NULL CHECK (scope IN ('role', 'user', 'organisation')),
  scope_id INTEGER NOT NULL,
  model TEXT NOT NULL,
  requests_per_minute INTEGER,
  requests_per_day INTEGER,
  tokens_per_minute INTEGER,
  tokens_per_day INTEGER,
  concurrent_requests INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (scope, scope_id, model)
);
)sql"},
      {4, "usage", R"sql(
-- One row per model request; no prompt or answer content. Times in Unix milliseconds.
CREATE TABLE usage_records (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  key_id INTEGER NOT NULL,
  org_id INTEGER NOT NULL,
  model TEXT NOT NULL,
  provider TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  status INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  latency_ms REAL NOT NULL,
  first_token_ms REAL NOT NULL,
  energy_kwh REAL NOT NULL,
  co2_g REAL NOT NULL
);
CREATE INDEX usage_records_time ON usage_records(time);
CREATE INDEX usage_records_user ON usage_records(user_id, time);
CREATE INDEX usage_records_org ON usage_records(org_id, time);
)sql"},
      {5, "rag", R"sql(
CREATE TABLE collections (
  id INTEGER PRIMARY KEY,
  owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  visibility TEXT NOT NULL CHECK (visibility IN ('private', 'public')),
  embedding_model TEXT NOT NULL DEFAULT '',  -- '' : lexical only
  chunk_size INTEGER NOT NULL,
  chunk_overlap INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX collections_owner ON collections(owner_id);
CREATE TABLE collection_shares (
  collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  access TEXT NOT NULL CHECK (access IN ('read', 'write')),
  PRIMARY KEY (collection_id, group_id)
);
CREATE INDEX collection_shares_group ON collection_shares(group_id);
CREATE TABLE documents (
  id INTEGER PRIMARY KEY,
  collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  owner_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL CHECK (status IN ('queued', 'parsing', 'embedding', 'ready', 'failed')),
  error TEXT NOT NULL DEFAULT '',
  page_count INTEGER NOT NULL DEFAULT 0,
  pages_without_text TEXT NOT NULL DEFAULT '[]',
  chunk_count INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX documents_collection ON documents(collection_id, id);
CREATE INDEX documents_status ON documents(status, id);
-- AUTOINCREMENT: a chunk id is never reused, so that an index entry left behind by a crash
-- can never name another document's chunk.
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  collection_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  text TEXT NOT NULL,
  page_start INTEGER NOT NULL,
  page_end INTEGER NOT NULL,
  heading_path TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX chunks_document ON chunks(document_id, seq);
)sql"},
      {6, "files", R"sql(
-- AUTOINCREMENT: a file id is never reused, so that a job naming a deleted file can never
-- read another one.
CREATE TABLE files (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id INTEGER NOT NULL,
  filename TEXT NOT NULL,
  purpose TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX files_owner ON files(owner_id, id);
CREATE INDEX files_sha256 ON files(sha256);
)sql"},
      {7, "fine_tuning", R"sql(
-- AUTOINCREMENT: a job id is never reused, so that a fine-tuned model's name (which carries
-- it) never names another job's adapter.
CREATE TABLE fine_tuning_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id INTEGER NOT NULL,
  model TEXT NOT NULL,
  training_file INTEGER NOT NULL,
  validation_file INTEGER NOT NULL DEFAULT 0,
  suffix TEXT NOT NULL DEFAULT '',
  seed INTEGER NOT NULL,
  method TEXT NOT NULL,
  requested TEXT NOT NULL DEFAULT '{}',
  hyperparameters TEXT NOT NULL DEFAULT '',
  lora TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL CHECK (status IN ('validating_files', 'queued', 'running', 'succeeded',
                                         'failed', 'cancelled')),
  error TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  trained_tokens INTEGER NOT NULL DEFAULT 0,
  fine_tuned_model TEXT NOT NULL DEFAULT '',
  estimate TEXT NOT NULL DEFAULT '',
  provenance TEXT NOT NULL DEFAULT '',
  result_dir TEXT NOT NULL DEFAULT '',
  model_deleted_at INTEGER
);
CREATE INDEX fine_tuning_jobs_owner ON fine_tuning_jobs(owner_id, id);
CREATE INDEX fine_tuning_jobs_status ON fine_tuning_jobs(status, id);
CREATE TABLE fine_tuning_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL REFERENCES fine_tuning_jobs(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  level TEXT NOT NULL,
  message TEXT NOT NULL,
  data TEXT NOT NULL DEFAULT ''
);
CREATE INDEX fine_tuning_events_job ON fine_tuning_events(job_id, id);
CREATE TABLE fine_tuning_checkpoints (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL REFERENCES fine_tuning_jobs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  metrics TEXT NOT NULL DEFAULT '{}',
  model_name TEXT NOT NULL,
  dir TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (job_id, step)
);
)sql"},
      {8, "fine_tuning_shares", R"sql(
-- The groups a fine-tuned model's owner shares it with: a JSON array of group ids.
ALTER TABLE fine_tuning_jobs ADD COLUMN shared_groups TEXT NOT NULL DEFAULT '[]';
-- The files holding a succeeded job's step metrics: a JSON array of file ids.
ALTER TABLE fine_tuning_jobs ADD COLUMN result_files TEXT NOT NULL DEFAULT '[]';
)sql"},
      // Ids are never given twice: without AUTOINCREMENT, SQLite gives a new row the largest
      // id plus one, so the row made after the newest one was deleted took its id, and with
      // it whatever still named that id (usage records, audit entries, a fine-tuned model's
      // owner or groups, a collection's folder). Each table is rebuilt as SQLite's ALTER
      // TABLE documentation describes, foreign keys off, its rows copied with their ids.
      {9, "ids_never_reused", R"sql(
CREATE TABLE organisations_v9 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
INSERT INTO organisations_v9 SELECT * FROM organisations;
DROP TABLE organisations;
ALTER TABLE organisations_v9 RENAME TO organisations;

CREATE TABLE roles_v9 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  permissions TEXT NOT NULL DEFAULT '[]',  -- JSON array of permission names
  created_at INTEGER NOT NULL
);
INSERT INTO roles_v9 SELECT * FROM roles;
DROP TABLE roles;
ALTER TABLE roles_v9 RENAME TO roles;

CREATE TABLE users_v9 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id INTEGER NOT NULL REFERENCES organisations(id),
  role_id INTEGER NOT NULL REFERENCES roles(id),
  name TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL DEFAULT '',
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
INSERT INTO users_v9 SELECT * FROM users;
DROP TABLE users;
ALTER TABLE users_v9 RENAME TO users;
CREATE INDEX users_org ON users(org_id);

CREATE TABLE api_keys_v9 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  hash BLOB NOT NULL UNIQUE,  -- SHA-256 of the secret
  prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
INSERT INTO api_keys_v9 SELECT * FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_v9 RENAME TO api_keys;
CREATE INDEX api_keys_user ON api_keys(user_id);

CREATE TABLE groups_v9 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id INTEGER NOT NULL REFERENCES organisations(id),
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  UNIQUE (org_id, name)
);
INSERT INTO groups_v9 SELECT * FROM groups;
DROP TABLE groups;
ALTER TABLE groups_v9 RENAME TO groups;

CREATE TABLE limit_rules_v9 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  scope TEXT NOT NULL CHECK (scope IN ('role', 'user', 'organisation')),
  scope_id INTEGER NOT NULL,
  model TEXT NOT NULL,
  requests_per_minute INTEGER,
  requests_per_day INTEGER,
  tokens_per_minute INTEGER,
  tokens_per_day INTEGER,
  concurrent_requests INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (scope, scope_id, model)
);
INSERT INTO limit_rules_v9 SELECT * FROM limit_rules;
DROP TABLE limit_rules;
ALTER TABLE limit_rules_v9 RENAME TO limit_rules;

CREATE TABLE collections_v9 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  visibility TEXT NOT NULL CHECK (visibility IN ('private', 'public')),
  embedding_model TEXT NOT NULL DEFAULT '',  -- '' : lexical only
  chunk_size INTEGER NOT NULL,
  chunk_overlap INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
INSERT INTO collections_v9 SELECT * FROM collections;
DROP TABLE collections;
ALTER TABLE collections_v9 RENAME TO collections;
CREATE INDEX collections_owner ON collections(owner_id);

CREATE TABLE documents_v9 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  owner_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL CHECK (status IN ('queued', 'parsing', 'embedding', 'ready', 'failed')),
  error TEXT NOT NULL DEFAULT '',
  page_count INTEGER NOT NULL DEFAULT 0,
  pages_without_text TEXT NOT NULL DEFAULT '[]',
  chunk_count INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
INSERT INTO documents_v9 SELECT * FROM documents;
DROP TABLE documents;
ALTER TABLE documents_v9 RENAME TO documents;
CREATE INDEX documents_collection ON documents(collection_id, id);
CREATE INDEX documents_status ON documents(status, id);

-- The copies started each counter at the largest id kept; an id deleted before this
-- migration may still be named elsewhere (usage records, audit entries, keys, documents):
-- the counters start past those too.
INSERT INTO sqlite_sequence (name, seq)
  SELECT t.name, 0 FROM (SELECT 'organisations' AS name UNION ALL SELECT 'roles'
    UNION ALL SELECT 'users' UNION ALL SELECT 'api_keys' UNION ALL SELECT 'groups'
    UNION ALL SELECT 'limit_rules' UNION ALL SELECT 'collections' UNION ALL SELECT 'documents') t
  WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence s WHERE s.name = t.name);
UPDATE sqlite_sequence SET seq = MAX(seq,
    (SELECT COALESCE(MAX(user_id), 0) FROM usage_records),
    (SELECT COALESCE(MAX(actor_user_id), 0) FROM audit_entries),
    (SELECT COALESCE(MAX(owner_id), 0) FROM documents),
    (SELECT COALESCE(MAX(owner_id), 0) FROM files),
    (SELECT COALESCE(MAX(owner_id), 0) FROM fine_tuning_jobs))
  WHERE name = 'users';
UPDATE sqlite_sequence SET seq = MAX(seq,
    (SELECT COALESCE(MAX(org_id), 0) FROM usage_records),
    (SELECT COALESCE(MAX(org_id), 0) FROM collections),
    (SELECT COALESCE(MAX(org_id), 0) FROM fine_tuning_jobs))
  WHERE name = 'organisations';
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT COALESCE(MAX(key_id), 0) FROM usage_records))
  WHERE name = 'api_keys';
)sql",
       true},
  };
  return list;
}

Result<int64_t> applied_version(Db& db) {
  SOCLE_ASSIGN_OR_RETURN(Stmt s,
                         db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  return row ? s.column_int(0) : 0;
}

namespace {

// PRAGMA foreign_key_check's first finding, if any.
Status check_foreign_keys(Db& db) {
  SOCLE_ASSIGN_OR_RETURN(Stmt s, db.prepare("PRAGMA foreign_key_check"));
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return Status::ok();
  return {StatusCode::FAILED_PRECONDITION, "a row of table '" + s.column_text(0) +
                                               "' names a missing row of '" + s.column_text(2) +
                                               "'"};
}

// One migration in its own transaction, recorded in schema_migrations.
Status apply(Db& db, const Migration& m, int64_t now) {
  // BEGIN IMMEDIATE: two processes starting at once must not both apply a migration.
  SOCLE_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE"));
  Result<int64_t> again = applied_version(db);
  if (again.is_ok() && *again >= m.version) return db.exec("COMMIT");
  Status s = again.status_or_ok();
  if (s.is_ok()) s = db.exec(m.sql);
  if (s.is_ok() && m.rebuilds_tables) s = check_foreign_keys(db);
  if (s.is_ok()) {
    auto ins =
        db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    s = ins.is_ok() ? ins->bind(1, m.version).bind(2, std::string_view(m.name)).bind(3, now).run()
                    : ins.status();
  }
  if (!s.is_ok()) {
    (void)db.exec("ROLLBACK");
    return {s.code(),
            "migration " + std::to_string(m.version) + " (" + m.name + ") failed: " + s.message()};
  }
  return db.exec("COMMIT");
}

}  // namespace

Status migrate(Db& db, int64_t now, int64_t up_to) {
  SOCLE_RETURN_IF_ERROR(
      db.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
              " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
  SOCLE_ASSIGN_OR_RETURN(int64_t have, applied_version(db));
  int64_t latest = migrations().back().version;
  if (have > latest) {
    return {StatusCode::FAILED_PRECONDITION,
            "the store's schema is at version " + std::to_string(have) + " but this socle knows " +
                std::to_string(latest) + "; run a newer socle on this data directory"};
  }
  for (const Migration& m : migrations()) {
    if (m.version <= have || m.version > up_to) continue;
    // Outside the transaction, where SQLite honours it: a table rebuilt must not cascade
    // the deletion of its old copy, nor check references while the copies are made.
    if (m.rebuilds_tables) SOCLE_RETURN_IF_ERROR(db.exec("PRAGMA foreign_keys=OFF"));
    Status s = apply(db, m, now);
    if (m.rebuilds_tables) {
      Status on = db.exec("PRAGMA foreign_keys=ON");
      if (s.is_ok()) s = on;
    }
    SOCLE_RETURN_IF_ERROR(s);
  }
  return Status::ok();
}

}  // namespace socle::store::sqlite
