#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/hash.h"
#include "store/sqlite/db.h"
#include "store/sqlite/migrations.h"
#include "store/store.h"
#include "store_fixture.h"

namespace socle::store {
namespace {

TEST_F(StoreTest, MigrationsAreAppliedOnceAndReadinessHolds) {
  EXPECT_TRUE(store_->check_ready().is_ok());
  EXPECT_EQ(*store_->schema_version(), store_->expected_schema_version());
  store_.reset();
  auto again = open_sqlite_store(path_, clock_);  // reopening applies nothing twice
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ((*again)->users().list(sys_)->size(), 2u);
}

TEST_F(StoreTest, ANewerSchemaIsRefused) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (999, 'future', 0)", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = open_sqlite_store(path_, clock_);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("version 999"), std::string::npos);
}

// A file's bytes.
std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The count of a query's first column on `db`.
int64_t count(sqlite::Db& db, const std::string& sql) {
  auto s = db.prepare(sql);
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  if (!s.is_ok() || !*s->step()) return -1;
  return s->column_int(0);
}

// A store made before migration 9 gave a deleted newest row's id to the next row; after the
// upgrade its rows, ids and references are intact and no id is ever given twice.
TEST_F(StoreTest, UpgradedTablesNeverGiveAnIdTwice) {
  std::string old_path = (dir_ / "old.db").string();
  {
    auto db = sqlite::Db::open(old_path);
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE(sqlite::migrate(*db, 0, 8).is_ok());
    ASSERT_EQ(*sqlite::applied_version(*db), 8);
    ASSERT_TRUE(
        db->exec("INSERT INTO organisations VALUES (1, 'o', 0);"
                 "INSERT INTO roles VALUES (1, 'r', '[]', 0);"
                 "INSERT INTO users VALUES (1, 1, 1, 'u1', '', 0, 0), (2, 1, 1, 'u2', '', 0, 0),"
                 " (3, 1, 1, 'u3', '', 0, 0);"
                 "INSERT INTO api_keys VALUES (1, 2, 'k', x'00', 'sk-abcd', 0, NULL, NULL);"
                 "INSERT INTO collections VALUES (1, 2, 1, 'c', '', 'private', '', 100, 10, 0, 0);"
                 "INSERT INTO documents (id, collection_id, owner_id, name, content_type, bytes,"
                 " sha256, status, created_at, updated_at)"
                 " VALUES (1, 1, 2, 'd', 'text/plain', 1, '', 'ready', 0, 0);"
                 "DELETE FROM users WHERE id = 3;"
                 // User 5, deleted long ago, still named by a usage record (with key 9).
                 "INSERT INTO usage_records (time, request_id, user_id, key_id, org_id, model,"
                 " provider, endpoint, status, prompt_tokens, completion_tokens, latency_ms,"
                 " first_token_ms, energy_kwh, co2_g)"
                 " VALUES (0, 'r', 5, 9, 1, 'm', 'p', 'e', 200, 1, 1, 0, 0, 0, 0);")
            .is_ok());
    // Before: the deleted user's id 3 would go to the next user.
    ASSERT_EQ(count(*db, "SELECT COALESCE(MAX(id), 0) + 1 FROM users"), 3);
  }
  auto db = sqlite::Db::open(old_path);
  ASSERT_TRUE(db.is_ok());
  Status upgraded = sqlite::migrate(*db, 0);
  ASSERT_TRUE(upgraded.is_ok()) << upgraded.message();
  EXPECT_EQ(*sqlite::applied_version(*db), sqlite::migrations().back().version);
  EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM users"), 2);
  EXPECT_EQ(count(*db, "SELECT user_id FROM api_keys WHERE id = 1"), 2);
  EXPECT_EQ(count(*db, "SELECT owner_id FROM collections WHERE id = 1"), 2);
  EXPECT_EQ(count(*db, "SELECT collection_id FROM documents WHERE id = 1"), 1);
  EXPECT_EQ(count(*db,
                  "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN"
                  " ('users_org', 'api_keys_user', 'collections_owner',"
                  " 'documents_collection', 'documents_status')"),
            5);
  // Foreign keys are on again and their cascades reach the rebuilt tables.
  EXPECT_FALSE(db->exec("INSERT INTO users VALUES (NULL, 99, 1, 'x', '', 0, 0)").is_ok());
  ASSERT_TRUE(db->exec("DELETE FROM users WHERE id = 2").is_ok());
  EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM api_keys"), 0);
  EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM collections"), 0);
  EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM documents"), 0);
  // The newest user (2) was deleted: the next one still gets a new id.
  ASSERT_TRUE(db->exec("INSERT INTO users (org_id, role_id, name, created_at)"
                       " VALUES (1, 1, 'u4', 0)")
                  .is_ok());
  // Past every id still named: the usage record's user 5.
  EXPECT_EQ(count(*db, "SELECT MAX(id) FROM users"), 6);
  ASSERT_TRUE(db->exec("DELETE FROM users WHERE id = 6; INSERT INTO users (org_id, role_id, name,"
                       " created_at) VALUES (1, 1, 'u5', 0)")
                  .is_ok());
  EXPECT_EQ(count(*db, "SELECT MAX(id) FROM users"), 7) << "a deleted newest id is not given again";
  // Keys start past the usage record's key 9.
  ASSERT_TRUE(db->exec("INSERT INTO api_keys (user_id, name, hash, prefix, created_at)"
                       " VALUES (7, 'k2', x'01', 'sk-efgh', 0)")
                  .is_ok());
  EXPECT_EQ(count(*db, "SELECT MAX(id) FROM api_keys"), 10);
}

// Through the store: a user, organisation, group, collection or key deleted last does not
// hand its id to the next one.
TEST_F(StoreTest, DeletedIdsAreNotGivenAgain) {
  ASSERT_TRUE(store_->users().remove(sys_, bob_.id).is_ok());
  auto carol = store_->users().create(sys_, {org_.id, role_.id, "carol", ""});
  ASSERT_TRUE(carol.is_ok());
  EXPECT_GT(carol->id, bob_.id);
  auto o = store_->orgs().create(sys_, "other");
  ASSERT_TRUE(o.is_ok());
  ASSERT_TRUE(store_->orgs().remove(sys_, o->id).is_ok());
  auto o2 = store_->orgs().create(sys_, "other2");
  ASSERT_TRUE(o2.is_ok());
  EXPECT_GT(o2->id, o->id);
}

// Erasure reaches the file: a deleted row's text is overwritten, not left in a free page.
TEST_F(StoreTest, DeletedTextIsNotLeftInTheFile) {
  const std::string secret = "zz-erase-me-7f3a@example.fr";
  auto carol = store_->users().create(sys_, {org_.id, role_.id, "carol", secret});
  ASSERT_TRUE(carol.is_ok());
  ASSERT_TRUE(store_->users().remove(sys_, carol->id).is_ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  std::string bytes = read_bytes(path_);
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(secret), std::string::npos) << "the deleted email is still in " << path_;
}

TEST_F(StoreTest, UniqueNamesAndForeignKeys) {
  EXPECT_EQ(store_->users().create(sys_, {org_.id, role_.id, "alice", ""}).status().code(),
            StatusCode::ALREADY_EXISTS);
  // A missing organisation is a bad field, not a taken name (SQLite says both the same way).
  EXPECT_EQ(store_->users().create(sys_, {999, role_.id, "carol", ""}).status().code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(store_->orgs().create(sys_, "ministry").status().code(), StatusCode::ALREADY_EXISTS);
}

TEST_F(StoreTest, UsersSeeOnlyThemselves) {
  Actor alice = Actor::user(alice_.id, org_.id);
  EXPECT_TRUE(store_->users().get(alice, alice_.id).is_ok());
  EXPECT_EQ(store_->users().get(alice, bob_.id).status().code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(store_->users().list(alice)->size(), 1u);
  EXPECT_EQ(store_->users().list(sys_)->size(), 2u);
  EXPECT_EQ(store_->users().create(alice, {org_.id, role_.id, "eve", ""}).status().code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->users().set_disabled(alice, bob_.id, true).code(), StatusCode::NOT_FOUND)
      << "another user is invisible, not forbidden";
  EXPECT_EQ(store_->users().set_disabled(alice, alice_.id, true).code(),
            StatusCode::PERMISSION_DENIED);
}

TEST_F(StoreTest, KeysAreScopedToTheirUser) {
  ApiKey a = key_for(alice_, "sk-alice-secret");
  ApiKey b = key_for(bob_, "sk-bob-secret");
  Actor alice = Actor::user(alice_.id, org_.id);
  EXPECT_EQ(store_->keys().list(alice, alice_.id)->size(), 1u);
  EXPECT_EQ(store_->keys().list(alice, bob_.id).status().code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(store_->keys().get(alice, b.id).status().code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(store_->keys().revoke(alice, b.id, 1).code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(store_->keys().create(alice, {bob_.id, "x", sha256("s"), "sk-", {}}).status().code(),
            StatusCode::NOT_FOUND);
  EXPECT_TRUE(store_->keys().revoke(alice, a.id, clock_.unix_seconds()).is_ok());
  EXPECT_EQ(store_->keys().revoke(alice, a.id, clock_.unix_seconds()).code(),
            StatusCode::NOT_FOUND);
  EXPECT_TRUE(store_->keys().get(alice, a.id)->revoked_at.has_value());
  EXPECT_EQ(store_->keys().list_grants(alice, 0).status().code(), StatusCode::PERMISSION_DENIED);
}

TEST_F(StoreTest, GrantsExcludeRevokedExpiredAndDisabled) {
  ApiKey live = key_for(alice_, "sk-live");
  ApiKey revoked = key_for(alice_, "sk-revoked");
  key_for(alice_, "sk-expired", clock_.unix_seconds() - 1);
  key_for(alice_, "sk-later", clock_.unix_seconds() + 100);
  key_for(bob_, "sk-bob");
  ASSERT_TRUE(store_->keys().revoke(sys_, revoked.id, clock_.unix_seconds()).is_ok());
  ASSERT_TRUE(store_->users().set_disabled(sys_, bob_.id, true).is_ok());
  auto grants = store_->keys().list_grants(sys_, clock_.unix_seconds());
  ASSERT_TRUE(grants.is_ok());
  ASSERT_EQ(grants->size(), 2u);
  std::set<std::string> hashes;
  for (const auto& g : *grants) {
    hashes.insert(g.hash);
    EXPECT_EQ(g.user_name, "alice");
    EXPECT_EQ(g.role_name, "user");
    EXPECT_EQ(g.permissions, std::vector<std::string>{"fine_tune"});
  }
  EXPECT_TRUE(hashes.count(sha256("sk-live")));
  EXPECT_TRUE(hashes.count(sha256("sk-later")));
  (void)live;
}

TEST_F(StoreTest, EveryWriteMovesTheChangeCounterAndFailedOnesDoNot) {
  int64_t c0 = *store_->change_counter();
  key_for(alice_, "sk-1");
  int64_t c1 = *store_->change_counter();
  EXPECT_GT(c1, c0);
  ASSERT_TRUE(store_->users().set_disabled(sys_, alice_.id, true).is_ok());
  int64_t c2 = *store_->change_counter();
  EXPECT_GT(c2, c1);
  EXPECT_FALSE(store_->users().set_disabled(sys_, 12345, true).is_ok());
  EXPECT_EQ(*store_->change_counter(), c2);
}

TEST_F(StoreTest, TransactionsAreAllOrNothing) {
  Status s = store_->transaction([&]() -> Status {
    SOCLE_RETURN_IF_ERROR(store_->orgs().create(sys_, "temporary").status_or_ok());
    return invalid_argument("changed my mind");
  });
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(store_->orgs().find_by_name(sys_, "temporary").status().code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(store_
                  ->transaction([&]() -> Status {
                    return store_->orgs().create(sys_, "kept").status_or_ok();
                  })
                  .is_ok());
  EXPECT_TRUE(store_->orgs().find_by_name(sys_, "kept").is_ok());
}

TEST_F(StoreTest, TwoConnectionsSeeEachOthersWrites) {
  auto other = open_sqlite_store(path_, clock_);  // as the CLI beside a server
  ASSERT_TRUE(other.is_ok());
  int64_t before = *store_->change_counter();
  ASSERT_TRUE((*other)->users().set_disabled(sys_, alice_.id, true).is_ok());
  EXPECT_GT(*store_->change_counter(), before);
  EXPECT_TRUE(store_->users().get(sys_, alice_.id)->disabled);
}

// Stmt on its own, over a private in-memory database: no store, no files.
class StmtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = sqlite::Db::open(":memory:");
    ASSERT_TRUE(db.is_ok()) << db.status().message();
    db_.emplace(std::move(db).value());
    ASSERT_TRUE(db_->exec("CREATE TABLE t (n INTEGER, x REAL, s TEXT)").is_ok());
  }
  sqlite::Stmt prepare(std::string_view sql) {
    auto st = db_->prepare(sql);
    SOCLE_CHECK(st.is_ok(), "the test's SQL is valid");
    return std::move(st).value();
  }
  std::optional<sqlite::Db> db_;
};

TEST_F(StmtTest, DoublesRoundTripExactlyAsReal) {
  // Bit-exact: SQLite stores REAL as an IEEE 754 double. 2.0 must stay REAL, not become an
  // INTEGER, or typeof() would say so.
  const std::vector<double> values = {0.1,
                                      -2.5,
                                      2.0,
                                      3.141592653589793,
                                      1e-300,
                                      std::numeric_limits<double>::max(),
                                      std::numeric_limits<double>::denorm_min()};
  sqlite::Stmt ins = prepare("INSERT INTO t (n, x) VALUES (?1, ?2)");
  for (size_t i = 0; i < values.size(); ++i) {
    ins.reset();
    ASSERT_TRUE(ins.bind(1, static_cast<int64_t>(i)).bind_double(2, values[i]).run().is_ok());
  }
  sqlite::Stmt sel = prepare("SELECT x, typeof(x) FROM t ORDER BY n");
  for (double expected : values) {
    auto row = sel.step();
    ASSERT_TRUE(row.is_ok()) << row.status().message();
    ASSERT_TRUE(*row);
    EXPECT_EQ(sel.column_double(0), expected);
    EXPECT_EQ(sel.column_text(1), "real");
  }
  EXPECT_FALSE(*sel.step());
}

TEST_F(StmtTest, ResetRerunsTheStatementWithFreshBindings) {
  sqlite::Stmt ins = prepare("INSERT INTO t (n, x, s) VALUES (?1, ?2, ?3)");
  constexpr int64_t ROWS = 5;
  for (int64_t n = 0; n < ROWS; ++n) {
    ins.reset();
    ins.bind(1, n).bind_double(2, static_cast<double>(n) + 0.5);
    // Odd rows leave ?3 unbound: reset must have set it back to NULL, not kept the last text.
    if (n % 2 == 0) ins.bind_opt_text(3, "row " + std::to_string(n));
    ASSERT_TRUE(ins.run().is_ok());
  }
  ins.reset();
  ASSERT_TRUE(ins.bind(1, ROWS).bind_opt_text(3, std::nullopt).run().is_ok());

  sqlite::Stmt sel = prepare("SELECT n, x, s FROM t ORDER BY n");
  for (int64_t n = 0; n <= ROWS; ++n) {
    ASSERT_TRUE(*sel.step()) << "row " << n;
    EXPECT_EQ(sel.column_int(0), n);
    if (n == ROWS) {
      EXPECT_TRUE(sel.column_is_null(1)) << "reset clears a REAL binding too";
    } else {
      EXPECT_EQ(sel.column_double(1), static_cast<double>(n) + 0.5);
    }
    if (n % 2 == 0 && n != ROWS) {
      EXPECT_EQ(sel.column_text(2), "row " + std::to_string(n));
    } else {
      EXPECT_TRUE(sel.column_is_null(2)) << "row " << n;
    }
  }
  EXPECT_FALSE(*sel.step());
}

TEST_F(StmtTest, ABindErrorIsReportedByStepAndClearedByReset) {
  sqlite::Stmt ins = prepare("INSERT INTO t (n) VALUES (?1)");
  // There is no parameter 2: SQLITE_RANGE, remembered until step.
  auto failed = ins.bind(1, int64_t{1}).bind_double(2, 1.5).step();
  ASSERT_FALSE(failed.is_ok());
  EXPECT_NE(failed.status().message().find("INSERT INTO t"), std::string::npos)
      << failed.status().message();
  ins.reset();
  ASSERT_TRUE(ins.bind(1, int64_t{2}).run().is_ok());
  sqlite::Stmt count = prepare("SELECT COUNT(*), MIN(n) FROM t");
  ASSERT_TRUE(*count.step());
  EXPECT_EQ(count.column_int(0), 1) << "the failed bind inserted nothing";
  EXPECT_EQ(count.column_int(1), 2);
}

}  // namespace
}  // namespace socle::store
