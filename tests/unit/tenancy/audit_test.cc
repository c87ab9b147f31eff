// The audit log: the MAC covers every field and the previous MAC, appends commit with the
// change they record, and every kind of tampering with the rows (through a second SQLite
// connection, as an attacker with the database file would) is detected at the right seq.
#include "tenancy/audit.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "base/clock.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "tenancy/audit_key.h"
#include "tenancy/bootstrap.h"

namespace socle::tenancy {
namespace {

const std::string KEY(AUDIT_KEY_BYTES, 'k');
const std::string OTHER_KEY(AUDIT_KEY_BYTES, 'x');

store::AuditEntry sample_entry() {
  return {7, 1'800'000'000, 3, "key.create", "api_key", "12", R"({"name":"laptop"})", {}};
}

TEST(AuditMac, CoversEveryFieldThePreviousMacAndTheKey) {
  const std::string prev(AUDIT_MAC_BYTES, 'p');
  store::AuditEntry e = sample_entry();
  std::string mac = audit_entry_mac(KEY, e, prev);
  EXPECT_EQ(mac.size(), AUDIT_MAC_BYTES);
  EXPECT_EQ(mac, audit_entry_mac(KEY, e, prev)) << "deterministic";
  EXPECT_NE(mac, audit_entry_mac(OTHER_KEY, e, prev));
  EXPECT_NE(mac, audit_entry_mac(KEY, e, std::string(AUDIT_MAC_BYTES, 'q')));
  std::vector<store::AuditEntry> changed(7, e);
  changed[0].seq = 8;
  changed[1].time += 1;
  changed[2].actor_user_id = 4;
  changed[3].action = "key.revoke";
  changed[4].target_type = "user";
  changed[5].target_id = "13";
  changed[6].details = R"({"name":"laptoq"})";
  for (const auto& c : changed)
    EXPECT_NE(mac, audit_entry_mac(KEY, c, prev));
  // Length prefixes: moving a byte from one field to the next changes the MAC.
  store::AuditEntry shifted = e;
  shifted.action = "key.creat";
  shifted.target_type = "eapi_key";
  EXPECT_NE(mac, audit_entry_mac(KEY, shifted, prev));
}

TEST(AuditMac, CheckpointCoversItsFields) {
  store::AuditCheckpoint cp{100, std::string(AUDIT_MAC_BYTES, 'h'), 1'800'000'000, {}};
  std::string mac = audit_checkpoint_mac(KEY, cp);
  store::AuditCheckpoint later = cp;
  later.seq = 101;
  EXPECT_NE(mac, audit_checkpoint_mac(KEY, later));
  later = cp;
  later.time += 1;
  EXPECT_NE(mac, audit_checkpoint_mac(KEY, later));
  EXPECT_NE(mac, audit_checkpoint_mac(OTHER_KEY, cp));
  cp.mac = mac;
  auto back = audit_checkpoint_from_json(json::dump(audit_checkpoint_json(cp)));
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->seq, cp.seq);
  EXPECT_EQ(back->head_mac, cp.head_mac);
  EXPECT_EQ(back->time, cp.time);
  EXPECT_EQ(back->mac, cp.mac);
  EXPECT_FALSE(
      audit_checkpoint_from_json(R"({"seq":1,"time":2,"head_mac":"zz","mac":"00"})").is_ok());
}

// A chain built by hand, checked without any store.
TEST(AuditChainChecker, AcceptsAGoodChainAndNamesTheFirstBadEntry) {
  std::vector<store::AuditEntry> chain;
  std::string prev(AUDIT_MAC_BYTES, '\0');
  for (int64_t seq = 1; seq <= 4; ++seq) {
    store::AuditEntry e = sample_entry();
    e.seq = seq;
    e.mac = audit_entry_mac(KEY, e, prev);
    prev = e.mac;
    chain.push_back(e);
  }
  AuditChainChecker good(KEY, {});
  for (const auto& e : chain)
    EXPECT_TRUE(good.add(e));
  AuditVerifyReport r = good.finish();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.entries, 4);

  AuditChainChecker bad(KEY, {});
  chain[2].details = "{}";
  EXPECT_TRUE(bad.add(chain[0]));
  EXPECT_TRUE(bad.add(chain[1]));
  EXPECT_FALSE(bad.add(chain[2]));
  r = bad.finish();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problem->seq, 3);
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("socle-audit-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_path_ = (dir_ / "socle.db").string();
    auto s = store::open_sqlite_store(db_path_, clock_);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    store_ = std::move(s).value();
    log_ = std::make_unique<AuditLog>(*store_, KEY, clock_);
  }
  void TearDown() override {
    log_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void append_n(int n) {
    for (int i = 0; i < n; ++i) {
      auto e = log_->append(store::Actor::user(5, 1),
                            audit_event("key.create", "api_key", 100 + i, {{"name", "k"}}));
      ASSERT_TRUE(e.is_ok()) << e.status().message();
    }
  }

  // Runs SQL on a second connection to the file, as someone with access to it would.
  void tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }

  // The problem verify() finds; fails the test when the log is found intact.
  AuditProblem problem(const std::vector<store::AuditCheckpoint>& external = {}) {
    auto r = log_->verify(external);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    if (!r.is_ok() || r->ok()) {
      ADD_FAILURE() << "tampering went unnoticed";
      return {};
    }
    return *r->problem;
  }

  ManualClock clock_{1'800'000'000};
  std::filesystem::path dir_;
  std::string db_path_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, AppendsAChainThatVerifies) {
  append_n(5);
  auto entries = store_->audit().list(store::Actor::system(), {});
  ASSERT_TRUE(entries.is_ok());
  ASSERT_EQ(entries->size(), 5u);
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ((*entries)[i].actor_user_id, 5);
    EXPECT_EQ((*entries)[i].time, 1'800'000'000);
  }
  EXPECT_EQ((*entries)[0].details, R"({"name":"k"})");
  auto r = log_->verify();
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->ok()) << r->problem->what;
  EXPECT_EQ(r->entries, 5);
  EXPECT_EQ(r->head_seq, 5);
}

TEST_F(AuditLogTest, ReadingNeedsAnAllTenantsActor) {
  append_n(1);
  auto denied = store_->audit().list(store::Actor::user(5, 1), {});
  ASSERT_FALSE(denied.is_ok());
  EXPECT_EQ(denied.status().code(), StatusCode::PERMISSION_DENIED);
}

TEST_F(AuditLogTest, FiltersSelectEntries) {
  append_n(3);
  ASSERT_TRUE(log_->append(store::Actor::system(), audit_event("user.disable", "user", 9)).is_ok());
  store::AuditQuery q;
  q.action = "user.disable";
  EXPECT_EQ(store_->audit().list(store::Actor::system(), q)->size(), 1u);
  q = {};
  q.actor_user_id = 5;
  EXPECT_EQ(store_->audit().list(store::Actor::system(), q)->size(), 3u);
  q = {};
  q.after_seq = 2;
  q.limit = 1;
  auto page = *store_->audit().list(store::Actor::system(), q);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].seq, 3);
  q = {};
  q.since = 1'800'000'001;
  EXPECT_EQ(store_->audit().list(store::Actor::system(), q)->size(), 0u);
  q = {};
  q.until = 1'800'000'001;
  EXPECT_EQ(store_->audit().list(store::Actor::system(), q)->size(), 4u);
}

TEST_F(AuditLogTest, AnEntryCommitsWithItsChangeOrNotAtAll) {
  Status s = store_->transaction([&]() -> Status {
    SOCLE_RETURN_IF_ERROR(
        log_->append(store::Actor::system(), audit_event("user.create", "user", 1)).status_or_ok());
    return invalid_argument("the change itself failed");
  });
  EXPECT_FALSE(s.is_ok());
  EXPECT_TRUE(store_->audit().list(store::Actor::system(), {})->empty());
}

TEST_F(AuditLogTest, SignsACheckpointEveryNEntriesAndOnDemand) {
  EXPECT_EQ(log_->checkpoint().status_or_ok().code(), StatusCode::FAILED_PRECONDITION);
  append_n(static_cast<int>(AUDIT_CHECKPOINT_EVERY) + 1);
  auto cps = *store_->audit().checkpoints(store::Actor::system());
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].seq, AUDIT_CHECKPOINT_EVERY);
  auto cp = log_->checkpoint();
  ASSERT_TRUE(cp.is_ok());
  EXPECT_EQ(cp->seq, AUDIT_CHECKPOINT_EVERY + 1);
  auto r = log_->verify();
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->checkpoints, 2);
}

TEST_F(AuditLogTest, DetectsAnEditedEntry) {
  append_n(5);
  tamper(R"(UPDATE audit_entries SET details = '{"name":"other"}' WHERE seq = 3)");
  AuditProblem p = problem();
  EXPECT_EQ(p.seq, 3);
  EXPECT_NE(p.what.find("MAC"), std::string::npos) << p.what;
}

TEST_F(AuditLogTest, DetectsADeletedEntry) {
  append_n(5);
  tamper("DELETE FROM audit_entries WHERE seq = 3");
  AuditProblem p = problem();
  EXPECT_EQ(p.seq, 3);
  EXPECT_NE(p.what.find("missing"), std::string::npos) << p.what;
}

// A table rebuilt without its primary key can hold a forged row beside a genuine one with the
// same seq; at a page boundary of the verification (1000 entries) paging by seq read only one.
TEST_F(AuditLogTest, DetectsARowSharingItsSeqWithAnother) {
  append_n(1001);
  tamper(
      "CREATE TABLE copy AS SELECT * FROM audit_entries;"
      "DROP TABLE audit_entries;"
      "ALTER TABLE copy RENAME TO audit_entries;"
      "INSERT INTO audit_entries SELECT seq, time, actor_user_id, 'user.create', target_type, "
      "target_id, details, mac FROM audit_entries WHERE seq = 1000;");
  AuditProblem p = problem();
  EXPECT_NE(p.what.find("1001 entries"), std::string::npos) << p.what;
  EXPECT_NE(p.what.find("1002 rows"), std::string::npos) << p.what;
}

TEST_F(AuditLogTest, DetectsReorderedEntries) {
  append_n(5);
  tamper(
      "UPDATE audit_entries SET seq = -2 WHERE seq = 2;"
      "UPDATE audit_entries SET seq = 2 WHERE seq = 4;"
      "UPDATE audit_entries SET seq = 4 WHERE seq = -2;");
  EXPECT_EQ(problem().seq, 2);
}

TEST_F(AuditLogTest, DetectsARowMovedBelowTheFirst) {
  append_n(3);
  tamper("UPDATE audit_entries SET seq = -1 WHERE seq = 2");
  EXPECT_EQ(problem().seq, 1);
}

TEST_F(AuditLogTest, DetectsATruncatedTailAgainstTheLatestCheckpoint) {
  append_n(5);
  ASSERT_TRUE(log_->checkpoint().is_ok());
  tamper("DELETE FROM audit_entries WHERE seq > 3");
  AuditProblem p = problem();
  EXPECT_EQ(p.seq, 4);
  EXPECT_NE(p.what.find("truncated"), std::string::npos) << p.what;
}

TEST_F(AuditLogTest, AnExportedCheckpointCatchesATruncationThatAlsoDroppedTheStoredOnes) {
  append_n(5);
  auto kept = log_->checkpoint();  // exported and kept elsewhere
  ASSERT_TRUE(kept.is_ok());
  tamper("DELETE FROM audit_entries WHERE seq > 3; DELETE FROM audit_checkpoints;");
  auto r = log_->verify();
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->ok()) << "with the stored checkpoints gone, a clean cut is invisible from inside";
  EXPECT_EQ(problem({*kept}).seq, 4);
}

TEST_F(AuditLogTest, DetectsAChainRecomputedWithoutTheKey) {
  append_n(5);
  // The attacker edits entry 2 and rebuilds the chain from there with a key of their own.
  auto entries = *store_->audit().list(store::Actor::system(), {});
  std::string prev = entries[0].mac;
  std::string sql;
  for (size_t i = 1; i < entries.size(); ++i) {
    store::AuditEntry e = entries[i];
    if (e.seq == 2) e.details = R"({"name":"innocent"})";
    e.mac = audit_entry_mac(OTHER_KEY, e, prev);
    prev = e.mac;
    sql += "UPDATE audit_entries SET details = '" + e.details + "', mac = X'" + to_hex(e.mac) +
           "' WHERE seq = " + std::to_string(e.seq) + ";";
  }
  tamper(sql);
  EXPECT_EQ(problem().seq, 2);
}

TEST_F(AuditLogTest, DetectsAForgedCheckpoint) {
  append_n(5);
  ASSERT_TRUE(log_->checkpoint().is_ok());
  tamper("UPDATE audit_checkpoints SET time = time + 1");
  AuditProblem p = problem();
  EXPECT_EQ(p.seq, 5);
  EXPECT_NE(p.what.find("signature"), std::string::npos) << p.what;
}

// Retention: entries older than the cut go, the rest verifies from the checkpoint signed at
// the last one deleted, and an audit.prune entry says what went.
TEST_F(AuditLogTest, PruningKeepsAVerifiableChain) {
  append_n(150);  // a checkpoint at seq 100, exported and kept elsewhere
  store::AuditCheckpoint exported = store_->audit().checkpoints(store::Actor::system())->front();
  ASSERT_EQ(exported.seq, 100);
  clock_.advance_ms(int64_t{10} * 86'400'000);
  append_n(10);  // seq 151 to 160, ten days later
  const int64_t cut = clock_.unix_seconds() - 86'400;
  auto removed = log_->prune_before(store::Actor::system(), cut);
  ASSERT_TRUE(removed.is_ok()) << removed.status().message();
  EXPECT_EQ(*removed, 150);
  auto entries = *store_->audit().list(store::Actor::system(), {});
  ASSERT_EQ(entries.size(), 11u);
  EXPECT_EQ(entries.front().seq, 151);
  EXPECT_EQ(entries.back().action, AUDIT_PRUNE_ACTION);
  EXPECT_EQ(entries.back().details,
            R"({"up_to_seq":150,"entries":150,"older_than":)" + std::to_string(cut) + "}");
  auto r = log_->verify();
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->ok()) << r->problem->what;
  EXPECT_EQ(r->pruned_through, 150);
  EXPECT_EQ(r->entries, 11);
  // Nothing older is left: a second run deletes nothing and writes nothing.
  EXPECT_EQ(*log_->prune_before(store::Actor::system(), cut), 0);
  EXPECT_EQ(store_->audit().list(store::Actor::system(), {})->size(), 11u);
  // The stored checkpoints before the anchor went with their entries.
  EXPECT_EQ(store_->audit().checkpoints(store::Actor::system())->front().seq, 150);
  // Pruning again later, with everything old: the newest entry (the first prune's) stays.
  clock_.advance_ms(int64_t{30} * 86'400'000);
  EXPECT_EQ(*log_->prune_before(store::Actor::system(), clock_.unix_seconds()), 10);
  // A checkpoint exported before the pruning names deleted entries: not a problem.
  r = log_->verify({exported});
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->ok()) << r->problem->what;
  EXPECT_EQ(r->pruned_through, 160);
}

TEST_F(AuditLogTest, EntriesDeletedFromTheStartWithoutARecordedPruningAreDetected) {
  append_n(150);
  // Up to the automatic checkpoint at 100: the chain from 101 is intact and anchored, but
  // no audit.prune entry says these went.
  tamper("DELETE FROM audit_entries WHERE seq <= 100");
  AuditProblem p = problem();
  EXPECT_EQ(p.seq, 1);
  EXPECT_NE(p.what.find("no audit.prune entry"), std::string::npos) << p.what;
  // Without even a checkpoint to start from.
  tamper("DELETE FROM audit_entries WHERE seq <= 110");
  p = problem();
  EXPECT_EQ(p.seq, 1);
  EXPECT_NE(p.what.find("no signed checkpoint at seq 110"), std::string::npos) << p.what;
}

TEST_F(AuditLogTest, DeletingMoreThanTheRetentionPrunedIsDetected) {
  append_n(50);
  clock_.advance_ms(int64_t{10} * 86'400'000);
  append_n(160);  // seq 51 to 210: a checkpoint at 100 and 200
  ASSERT_EQ(*log_->prune_before(store::Actor::system(), clock_.unix_seconds() - 60), 50);
  ASSERT_TRUE(log_->verify()->ok());
  // The prune entry names 50; whoever deletes on up to the checkpoint at 100 is caught.
  tamper("DELETE FROM audit_entries WHERE seq <= 100");
  EXPECT_EQ(problem().seq, 1);
}

// Retention never launders tampering: entries deleted and the times of older ones set back
// (so that retention would delete past the gap and sign over it), or the head cut at an
// automatic checkpoint: it refuses, deletes nothing, and verify still names the damage.
TEST_F(AuditLogTest, RetentionDeletesNothingFromADamagedLog) {
  append_n(120);
  clock_.advance_ms(int64_t{10} * 86'400'000);
  append_n(2);
  const int64_t cut = clock_.unix_seconds() - 60;
  tamper(
      "DELETE FROM audit_entries WHERE seq = 7; UPDATE audit_entries SET time = 0 WHERE seq <= 10");
  auto refused = log_->prune_before(store::Actor::system(), cut);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.status().message().find("seq 1"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(store_->audit().list(store::Actor::system(), {})->size(), 121u) << "nothing deleted";
  EXPECT_EQ(problem().seq, 1);
  // Cut at the automatic checkpoint at 100, with no audit.prune entry: refused as well.
  tamper("DELETE FROM audit_entries WHERE seq <= 100");
  refused = log_->prune_before(store::Actor::system(), cut);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(store_->audit().list(store::Actor::system(), {})->size(), 22u);
}

TEST_F(AuditLogTest, AForgedPruneAnchorIsDetected) {
  append_n(50);
  clock_.advance_ms(int64_t{10} * 86'400'000);
  append_n(5);
  ASSERT_EQ(*log_->prune_before(store::Actor::system(), clock_.unix_seconds() - 60), 50);
  tamper("UPDATE audit_checkpoints SET time = time + 1 WHERE seq = 50");
  AuditProblem p = problem();
  EXPECT_EQ(p.seq, 50);
  EXPECT_NE(p.what.find("signature"), std::string::npos) << p.what;
}

TEST_F(AuditLogTest, TheWrongKeyFailsAtTheFirstEntry) {
  append_n(2);
  AuditLog wrong(*store_, OTHER_KEY, clock_);
  auto r = wrong.verify();
  ASSERT_TRUE(r.is_ok());
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->problem->seq, 1);
}

TEST_F(AuditLogTest, KeyFileIsCreatedOnceOwnerOnlyAndNeverReplaced) {
  std::string path = (dir_ / "audit.key").string();
  EXPECT_EQ(audit_key_path(dir_.string(), {}), path);
  EXPECT_EQ(audit_key_path(dir_.string(), {{"SOCLE_AUDIT_KEY_FILE", "/secrets/k"}}), "/secrets/k");
  EXPECT_EQ(load_audit_key(path).status_or_ok().code(), StatusCode::NOT_FOUND);
  auto opened = AuditLog::open(*store_, path, clock_);
  ASSERT_TRUE(opened.is_ok()) << opened.status().message();
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, static_cast<off_t>(AUDIT_KEY_BYTES));
  std::string first = *load_audit_key(path);
  EXPECT_EQ(*create_audit_key(path), first) << "an existing key is kept";
  ASSERT_TRUE(
      (*opened)->append(store::Actor::system(), audit_event("user.create", "user", 1)).is_ok());

  // A log with entries and no key: refuse rather than start a new, unverifiable chain.
  std::filesystem::remove(path);
  auto missing = AuditLog::open(*store_, path, clock_);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(missing.status().message().find("backup"), std::string::npos);

  ASSERT_TRUE(write_file_atomic(path, "short", 0600).is_ok());
  EXPECT_EQ(load_audit_key(path).status_or_ok().code(), StatusCode::FAILED_PRECONDITION);
}

TEST_F(AuditLogTest, BootstrapIsRecordedWithoutTheSecret) {
  ASSERT_TRUE(ensure_reference_data(*store_, *log_).is_ok());
  auto boot = bootstrap_admin(*store_, *log_, dir_.string(), std::nullopt);
  ASSERT_TRUE(boot.is_ok()) << boot.status().message();
  std::string secret = *read_file(boot->key_path);
  secret.pop_back();
  auto entries = *store_->audit().list(store::Actor::system(), {});
  std::vector<std::string> actions;
  for (const auto& e : entries) {
    actions.push_back(e.action);
    EXPECT_EQ(e.details.find(secret), std::string::npos);
    EXPECT_EQ(e.actor_user_id, 0);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"organisation.create", "role.create", "role.create",
                                               "user.create", "key.create"}));
  ASSERT_TRUE(ensure_reference_data(*store_, *log_).is_ok());
  EXPECT_EQ(store_->audit().list(store::Actor::system(), {})->size(), 5u)
      << "nothing created, nothing recorded";
  EXPECT_TRUE(log_->verify()->ok());
}

}  // namespace
}  // namespace socle::tenancy
