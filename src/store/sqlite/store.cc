// The SQLite Store: one connection shared by the aggregate stores, the transaction and the
// change counter.
#include <memory>

#include "store/sqlite/migrations.h"
#include "store/sqlite/stores.h"

namespace socle::store {
namespace sqlite {

Status write_in_savepoint(Connection& c, const std::function<Status()>& body) {
  std::lock_guard lock(c.mu);
  SOCLE_RETURN_IF_ERROR(c.db.exec("SAVEPOINT socle_write"));
  Status s = body();
  if (s.is_ok()) s = c.db.exec("UPDATE changes SET counter = counter + 1 WHERE id = 1");
  if (!s.is_ok()) {
    (void)c.db.exec("ROLLBACK TO socle_write");
    (void)c.db.exec("RELEASE socle_write");
    return s;
  }
  return c.db.exec("RELEASE socle_write");
}

Status write_data_in_savepoint(Connection& c, const std::function<Status()>& body) {
  std::lock_guard lock(c.mu);
  SOCLE_RETURN_IF_ERROR(c.db.exec("SAVEPOINT socle_data"));
  Status s = body();
  if (!s.is_ok()) {
    (void)c.db.exec("ROLLBACK TO socle_data");
    (void)c.db.exec("RELEASE socle_data");
    return s;
  }
  return c.db.exec("RELEASE socle_data");
}

namespace {

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::unique_ptr<Connection> c)
      : c_(std::move(c)),
        orgs_(*c_),
        roles_(*c_),
        users_(*c_),
        keys_(*c_),
        audit_(*c_),
        groups_(*c_),
        limits_(*c_),
        usage_(*c_),
        collections_(*c_),
        documents_(*c_),
        files_(*c_),
        fine_tuning_(*c_) {}

  OrgStore& orgs() override { return orgs_; }
  RoleStore& roles() override { return roles_; }
  UserStore& users() override { return users_; }
  KeyStore& keys() override { return keys_; }
  AuditStore& audit() override { return audit_; }
  GroupStore& groups() override { return groups_; }
  LimitStore& limits() override { return limits_; }
  UsageStore& usage() override { return usage_; }
  CollectionStore& collections() override { return collections_; }
  DocumentStore& documents() override { return documents_; }
  FileStore& files() override { return files_; }
  FineTuningStore& fine_tuning() override { return fine_tuning_; }

  Status transaction(const std::function<Status()>& body) override {
    std::lock_guard lock(c_->mu);
    // Already in a transaction on this thread (the lock is ours): nest as a savepoint, so
    // that helpers such as the audit log can open a transaction whoever calls them.
    if (sqlite3_get_autocommit(c_->db.handle()) == 0) {
      SOCLE_RETURN_IF_ERROR(c_->db.exec("SAVEPOINT socle_nested"));
      Status s = body();
      if (!s.is_ok()) {
        (void)c_->db.exec("ROLLBACK TO socle_nested");
        (void)c_->db.exec("RELEASE socle_nested");
        return s;
      }
      return c_->db.exec("RELEASE socle_nested");
    }
    SOCLE_RETURN_IF_ERROR(c_->db.exec("BEGIN IMMEDIATE"));
    Status s = body();
    if (!s.is_ok()) {
      (void)c_->db.exec("ROLLBACK");
      return s;
    }
    s = c_->db.exec("COMMIT");
    if (!s.is_ok()) (void)c_->db.exec("ROLLBACK");
    return s;
  }

  Status read_snapshot(const std::function<Status()>& body) override {
    std::lock_guard lock(c_->mu);
    if (sqlite3_get_autocommit(c_->db.handle()) == 0) return body();
    // A deferred transaction takes its snapshot at its first read and holds it to the end.
    SOCLE_RETURN_IF_ERROR(c_->db.exec("BEGIN DEFERRED"));
    Status s = body();
    Status ended = c_->db.exec(s.is_ok() ? "COMMIT" : "ROLLBACK");
    return s.is_ok() ? ended : s;
  }

  Result<int64_t> change_counter() override {
    std::lock_guard lock(c_->mu);
    SOCLE_ASSIGN_OR_RETURN(Stmt s, c_->db.prepare("SELECT counter FROM changes WHERE id = 1"));
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) return internal_error("the changes table has lost its row");
    return s.column_int(0);
  }

  Result<int64_t> schema_version() override {
    std::lock_guard lock(c_->mu);
    return applied_version(c_->db);
  }

  int64_t expected_schema_version() const override { return migrations().back().version; }

  Status check_ready() override {
    Result<int64_t> v = schema_version();
    if (!v.is_ok()) return unavailable("the store does not answer: " + v.status().message());
    if (*v != expected_schema_version()) {
      return unavailable("the store's schema is at version " + std::to_string(*v) + ", expected " +
                         std::to_string(expected_schema_version()));
    }
    return Status::ok();
  }

 private:
  std::unique_ptr<Connection> c_;
  SqliteOrgStore orgs_;
  SqliteRoleStore roles_;
  SqliteUserStore users_;
  SqliteKeyStore keys_;
  SqliteAuditStore audit_;
  SqliteGroupStore groups_;
  SqliteLimitStore limits_;
  SqliteUsageStore usage_;
  SqliteCollectionStore collections_;
  SqliteDocumentStore documents_;
  SqliteFileStore files_;
  SqliteFineTuningStore fine_tuning_;
};

}  // namespace
}  // namespace sqlite

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const Clock& clock) {
  SOCLE_ASSIGN_OR_RETURN(sqlite::Db db, sqlite::Db::open(path));
  SOCLE_RETURN_IF_ERROR(sqlite::migrate(db, clock.unix_seconds()));
  auto conn = std::make_unique<sqlite::Connection>(std::move(db), clock);
  return std::unique_ptr<Store>(std::make_unique<sqlite::SqliteStore>(std::move(conn)));
}

}  // namespace socle::store
