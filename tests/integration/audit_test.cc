// The audit log through the real binary: what the API and the CLI record, GET
// /v1/admin/audit (admin only, filters, bad filters in OpenAI's error shape), `socle audit
// export`, and `socle audit verify` failing and naming the entry after each kind of tampering
// with the SQLite rows.
#include "tenancy/audit.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <thread>

#include "base/clock.h"
#include "base/hash.h"
#include "store/store.h"
#include "support/server_process.h"
#include "tenancy/audit_key.h"

namespace socle::testing {
namespace {

std::map<std::string, std::string> bearer(const std::string& key) {
  return {{"Authorization", "Bearer " + key}};
}

std::vector<std::string> actions_of(const boost::json::array& data) {
  std::vector<std::string> out;
  for (const auto& e : data)
    out.emplace_back(e.as_object().at("action").as_string());
  return out;
}

class AuditApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    data_ = dir_->path() + "/data";
    server_ = std::make_unique<ServerProcess>(
        data_, std::map<std::string, std::string>{{"SOCLE_STORE_POLL_MS", "100"}});
    admin_key_ = trim(read_text_file(data_ + "/admin-key"));

    // Through the API: the admin creates a key and revokes it.
    auto h = bearer(admin_key_);
    h["Content-Type"] = "application/json";
    HttpReply r = http_request(server_->port(), "POST", "/v1/me/keys", h, R"({"name":"laptop"})");
    ASSERT_EQ(r.status, 201) << r.body;
    auto key_id = boost::json::parse(r.body).as_object()["id"].as_int64();
    r = http_request(server_->port(), "DELETE", "/v1/me/keys/" + std::to_string(key_id),
                     bearer(admin_key_));
    ASSERT_EQ(r.status, 200) << r.body;
    // Through the CLI: a user, a key for her, disabled and enabled again.
    std::string out;
    ASSERT_EQ(run_socle({"admin", "--data", data_, "user", "create", "--name", "alice"}, &out), 0);
    ASSERT_EQ(run_socle({"admin", "--data", data_, "key", "create", "--user", "alice"}, &out), 0);
    alice_key_ = std::string(boost::json::parse(out).as_object()["key"].as_string());
    ASSERT_EQ(run_socle({"admin", "--data", data_, "user", "disable", "--name", "alice"}, &out), 0);
    ASSERT_EQ(run_socle({"admin", "--data", data_, "user", "enable", "--name", "alice"}, &out), 0);
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0) << server_->stderr_text();
    server_.reset();
    dir_.reset();
  }

  static HttpReply get(const std::string& query, const std::string& key = admin_key_) {
    return http_request(server_->port(), "GET", "/v1/admin/audit" + query, bearer(key));
  }

  static boost::json::object list(const std::string& query) {
    HttpReply r = get(query);
    EXPECT_EQ(r.status, 200) << r.body;
    return boost::json::parse(r.body).as_object();
  }

  static std::unique_ptr<TempDir> dir_;
  static std::string data_;
  static std::unique_ptr<ServerProcess> server_;
  static std::string admin_key_;
  static std::string alice_key_;
};
std::unique_ptr<TempDir> AuditApiTest::dir_;
std::string AuditApiTest::data_;
std::unique_ptr<ServerProcess> AuditApiTest::server_;
std::string AuditApiTest::admin_key_;
std::string AuditApiTest::alice_key_;

TEST_F(AuditApiTest, RecordsEveryControlPlaneChangeInOrder) {
  auto page = list("");
  EXPECT_EQ(page["object"], "list");
  EXPECT_EQ(page["has_more"], false);
  auto& data = page["data"].as_array();
  EXPECT_EQ(actions_of(data),
            (std::vector<std::string>{"organisation.create", "role.create", "role.create",
                                      "user.create", "key.create", "key.create", "key.revoke",
                                      "user.create", "key.create", "user.disable", "user.enable"}));
  EXPECT_EQ(page["first_id"], 1);
  EXPECT_EQ(page["last_id"], static_cast<int64_t>(data.size()));
  const auto& api_create = data[5].as_object();
  EXPECT_EQ(api_create.at("object"), "audit.entry");
  EXPECT_EQ(api_create.at("target_type"), "api_key");
  EXPECT_EQ(api_create.at("details").as_object().at("via"), "api");
  EXPECT_NE(api_create.at("actor_user_id"), 0) << "the admin user, not the operator";
  EXPECT_EQ(data[7].as_object().at("actor_user_id"), 0) << "the CLI acts as the operator";
  EXPECT_EQ(api_create.at("mac").as_string().size(), 64u);
  // No secret ever reaches the log.
  std::string body = get("").body;
  EXPECT_EQ(body.find(admin_key_), std::string::npos);
  EXPECT_EQ(body.find(alice_key_), std::string::npos);
}

TEST_F(AuditApiTest, FiltersAndPages) {
  EXPECT_EQ(actions_of(list("?action=key.create")["data"].as_array()),
            (std::vector<std::string>{"key.create", "key.create", "key.create"}));
  auto all = list("");
  int64_t admin_id = all["data"].as_array()[5].as_object()["actor_user_id"].as_int64();
  EXPECT_EQ(actions_of(list("?actor=" + std::to_string(admin_id))["data"].as_array()),
            (std::vector<std::string>{"key.create", "key.revoke"}));
  auto first = list("?limit=2");
  EXPECT_EQ(first["data"].as_array().size(), 2u);
  EXPECT_EQ(first["has_more"], true);
  auto next = list("?limit=2&after=" + std::to_string(first["last_id"].as_int64()));
  EXPECT_EQ(next["first_id"], 3);
  int64_t t = all["data"].as_array()[0].as_object()["time"].as_int64();
  EXPECT_EQ(list("?until=" + std::to_string(t))["data"].as_array().size(), 0u);
  EXPECT_EQ(list("?since=" + std::to_string(t + 100'000))["data"].as_array().size(), 0u);
  EXPECT_EQ(list("?since=" + std::to_string(t))["data"].as_array().size(),
            all["data"].as_array().size());
}

TEST_F(AuditApiTest, BadFiltersGet400InOpenAiShape) {
  for (std::string q :
       {"?limit=0", "?limit=1001", "?limit=ten", "?since=yesterday", "?after=-1", "?actor=x",
        "?until=5&since=9", "?colour=red", "?action=", "?limit=1&limit=abc", "?limit=2&limit=3"}) {
    HttpReply r = get(q);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    auto v = boost::json::parse(r.body);
    const auto& e = v.as_object().at("error").as_object();
    EXPECT_EQ(e.at("type"), "invalid_request_error") << q;
    EXPECT_TRUE(e.contains("param") && e.at("param").is_string()) << q << " " << r.body;
  }
}

TEST_F(AuditApiTest, OnlyAdministratorsReadTheLog) {
  EXPECT_EQ(http_request(server_->port(), "GET", "/v1/admin/audit").status, 401);
  // alice's key works (re-enabled) but she is not an administrator.
  HttpReply r;
  for (int i = 0; i < 50; ++i) {
    r = get("", alice_key_);
    if (r.status != 401) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("\"error\""), std::string::npos);
}

TEST_F(AuditApiTest, CliExportsJsonLinesAndVerifies) {
  std::string out;
  ASSERT_EQ(run_socle({"audit", "verify", "--data", data_}, &out), 0) << out;
  EXPECT_NE(out.find("intact"), std::string::npos) << out;
  ASSERT_EQ(run_socle({"audit", "export", "--data", data_}, &out), 0);
  std::istringstream lines(out);
  std::string line;
  int64_t n = 0;
  while (std::getline(lines, line)) {
    auto o = boost::json::parse(line).as_object();
    EXPECT_EQ(o["seq"], ++n);
  }
  EXPECT_GE(n, 11);
  ASSERT_EQ(run_socle({"audit", "export", "--data", data_, "--since", "10"}, &out), 0);
  EXPECT_EQ(out.rfind("{\"object\":\"audit.entry\",\"id\":10,", 0), 0u) << out;
}

// ---- tampering, on a data directory written by the CLI alone ----

class AuditTamperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    golden_ = dir_->path() + "/golden";
    std::string out;
    // The reference data (3 entries), then 3 users: 6 entries.
    for (const char* name : {"u1", "u2", "u3"})
      ASSERT_EQ(run_socle({"admin", "--data", golden_, "user", "create", "--name", name}, &out), 0);
    ASSERT_EQ(run_socle({"audit", "checkpoint", "--data", golden_}, &out), 0) << out;
    checkpoint_line_ = out;
  }
  static void TearDownTestSuite() { dir_.reset(); }

  // A fresh copy of the golden directory with `sql` run on its database.
  std::string tampered(const std::string& name, const std::string& sql) {
    std::string copy = dir_->path() + "/" + name;
    std::filesystem::copy(golden_, copy, std::filesystem::copy_options::recursive);
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((copy + "/socle.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
    return copy;
  }

  // Runs `socle audit verify`; expects exit 1 and returns its report.
  static std::string verify_fails(const std::string& data, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"audit", "verify", "--data", data};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string out;
    EXPECT_EQ(run_socle(args, &out), 1) << out;
    return out;
  }

  static std::unique_ptr<TempDir> dir_;
  static std::string golden_;
  static std::string checkpoint_line_;
};
std::unique_ptr<TempDir> AuditTamperTest::dir_;
std::string AuditTamperTest::golden_;
std::string AuditTamperTest::checkpoint_line_;

TEST_F(AuditTamperTest, TheUntouchedLogVerifies) {
  std::string out;
  EXPECT_EQ(run_socle({"audit", "verify", "--data", golden_}, &out), 0) << out;
  EXPECT_NE(out.find("6 entries"), std::string::npos) << out;
}

TEST_F(AuditTamperTest, AnEditedEntryIsNamed) {
  std::string out = verify_fails(
      tampered("edit", R"(UPDATE audit_entries SET details = '{"name":"u9"}' WHERE seq = 5)"));
  EXPECT_NE(out.find("seq 5"), std::string::npos) << out;
}

TEST_F(AuditTamperTest, ADeletedEntryIsNamed) {
  std::string out = verify_fails(tampered("delete", "DELETE FROM audit_entries WHERE seq = 4"));
  EXPECT_NE(out.find("seq 4"), std::string::npos) << out;
}

TEST_F(AuditTamperTest, ReorderedEntriesAreNamed) {
  std::string out = verify_fails(tampered("reorder",
                                          "UPDATE audit_entries SET seq = -1 WHERE seq = 4;"
                                          "UPDATE audit_entries SET seq = 4 WHERE seq = 5;"
                                          "UPDATE audit_entries SET seq = 5 WHERE seq = -1;"));
  EXPECT_NE(out.find("seq 4"), std::string::npos) << out;
}

TEST_F(AuditTamperTest, ATruncatedTailIsNamed) {
  std::string out = verify_fails(tampered("truncate", "DELETE FROM audit_entries WHERE seq >= 5"));
  EXPECT_NE(out.find("seq 5"), std::string::npos) << out;
  EXPECT_NE(out.find("truncated"), std::string::npos) << out;
}

TEST_F(AuditTamperTest, ATruncationThatAlsoDropsCheckpointsIsCaughtByAKeptCheckpoint) {
  std::string data = tampered("truncate-all",
                              "DELETE FROM audit_entries WHERE seq >= 5;"
                              "DELETE FROM audit_checkpoints;");
  std::string kept = dir_->path() + "/kept-checkpoint.jsonl";
  {
    std::FILE* f = std::fopen(kept.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(checkpoint_line_.c_str(), f);
    std::fclose(f);
  }
  std::string out = verify_fails(data, {"--checkpoint", kept});
  EXPECT_NE(out.find("seq 5"), std::string::npos) << out;
}

TEST_F(AuditTamperTest, AChainRecomputedWithoutTheKeyIsNamed) {
  // Read the chain, change entry 3 and recompute every MAC from there under a guessed key.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((golden_ + "/socle.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT seq, time, actor_user_id, action, target_type, target_id, "
                               "details, mac FROM audit_entries ORDER BY seq",
                               -1, &st, nullptr),
            SQLITE_OK);
  std::vector<store::AuditEntry> entries;
  auto text = [&](int i) {
    return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i)),
                       static_cast<size_t>(sqlite3_column_bytes(st, i)));
  };
  while (sqlite3_step(st) == SQLITE_ROW) {
    entries.push_back({sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                       sqlite3_column_int64(st, 2), text(3), text(4), text(5), text(6),
                       std::string(static_cast<const char*>(sqlite3_column_blob(st, 7)),
                                   static_cast<size_t>(sqlite3_column_bytes(st, 7)))});
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  ASSERT_EQ(entries.size(), 6u);
  const std::string guessed(tenancy::AUDIT_MAC_BYTES, 'g');
  std::string prev = entries[1].mac;
  std::string sql;
  for (size_t i = 2; i < entries.size(); ++i) {
    store::AuditEntry e = entries[i];
    if (e.seq == 3) e.details = R"({"name":"nobody"})";
    e.mac = tenancy::audit_entry_mac(guessed, e, prev);
    prev = e.mac;
    sql += "UPDATE audit_entries SET details = '" + e.details + "', mac = X'" + to_hex(e.mac) +
           "' WHERE seq = " + std::to_string(e.seq) + ";";
  }
  std::string out = verify_fails(tampered("recompute", sql));
  EXPECT_NE(out.find("seq 3"), std::string::npos) << out;
}

TEST_F(AuditTamperTest, AMissingKeyIsAnErrorNotASilentNewChain) {
  std::string data = tampered("nokey", "SELECT 1");
  std::filesystem::remove(data + "/audit.key");
  std::string out;
  EXPECT_EQ(run_socle({"audit", "verify", "--data", data}, &out), 1);
  // Writing to the log without its key is refused too.
  EXPECT_EQ(run_socle({"admin", "--data", data, "user", "create", "--name", "u4"}, &out), 1);
}

// ---- retention ----

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A data directory whose first 120 audit entries are 400 days old, with 5 usage records 400,
// 400, 31, 1 and 0 days old (written through the library with a clock set back).
void make_aged_data_dir(const std::string& data) {
  std::filesystem::create_directories(data);
  const int64_t now_s = unix_now();
  ManualClock old(now_s - int64_t{400} * 86'400);
  auto store = store::open_sqlite_store(data + "/socle.db", old);
  ASSERT_TRUE(store.is_ok()) << store.status().message();
  auto log = tenancy::AuditLog::open(**store, tenancy::audit_key_path(data, {}), old);
  ASSERT_TRUE(log.is_ok()) << log.status().message();
  for (int i = 0; i < 120; ++i) {
    ASSERT_TRUE(
        (*log)
            ->append(store::Actor::system(), tenancy::audit_event("key.create", "api_key", i + 1))
            .is_ok());
  }
  std::vector<store::UsageEntry> usage;
  for (int64_t age_days : {400, 400, 31, 1, 0}) {
    store::UsageEntry u;
    u.time = (now_s - age_days * 86'400 - 60) * 1000;
    u.model = "chat";
    u.endpoint = "/v1/chat/completions";
    u.status = 200;
    usage.push_back(u);
  }
  ASSERT_TRUE((*store)->usage().append(store::Actor::system(), usage).is_ok());
}

// A server started with retention on deletes the old ones at start, keeps the recent ones,
// audits each deletion, and the log that is left verifies.
TEST(AuditRetentionTest, TheServerDeletesOldUsageAndAuditEntriesAndTheLogStillVerifies) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  make_aged_data_dir(data);
  ServerProcess server(
      data, {{"SOCLE_RETENTION_USAGE_DAYS", "30"}, {"SOCLE_RETENTION_AUDIT_DAYS", "365"}});
  const std::string admin = trim(read_text_file(data + "/admin-key"));
  boost::json::array pruned;
  for (int i = 0; i < 200 && pruned.empty(); ++i) {
    HttpReply r =
        http_request(server.port(), "GET", "/v1/admin/audit?action=audit.prune", bearer(admin));
    ASSERT_EQ(r.status, 200) << r.body;
    pruned = boost::json::parse(r.body).as_object()["data"].as_array();
    if (pruned.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(pruned.size(), 1u) << server.stderr_text();
  const boost::json::object& details = pruned[0].as_object().at("details").as_object();
  EXPECT_EQ(details.at("up_to_seq"), 120);
  EXPECT_EQ(details.at("entries"), 120);
  HttpReply u = http_request(server.port(), "GET", "/v1/admin/usage", bearer(admin));
  ASSERT_EQ(u.status, 200) << u.body;
  EXPECT_EQ(boost::json::parse(u.body).as_object()["data"].as_array().size(), 2u) << u.body;
  HttpReply a =
      http_request(server.port(), "GET", "/v1/admin/audit?action=usage.prune", bearer(admin));
  auto usage_pruned = boost::json::parse(a.body).as_object()["data"].as_array();
  ASSERT_EQ(usage_pruned.size(), 1u) << a.body;
  EXPECT_EQ(usage_pruned[0].as_object().at("details").as_object().at("records"), 3);
  EXPECT_EQ(server.stop(), 0) << server.stderr_text();
  std::string out;
  EXPECT_EQ(run_socle({"audit", "verify", "--data", data}, &out), 0) << out;
  EXPECT_NE(out.find("seq 1 to 120 deleted by retention"), std::string::npos) << out;
}

// The same run from the CLI, with the periods as flags; out-of-range periods are usage errors.
TEST(AuditRetentionTest, TheAdminCommandRunsRetentionOnce) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  make_aged_data_dir(data);
  std::string out;
  EXPECT_EQ(run_socle({"admin", "--data", data, "retention", "--usage-days", "36501"}, &out), 2);
  ASSERT_EQ(
      run_socle({"admin", "--data", data, "retention", "--usage-days", "2", "--audit-days", "365"},
                &out),
      0)
      << out;
  boost::json::object r = boost::json::parse(out).as_object();
  EXPECT_EQ(r["usage_records_deleted"], 3) << out;  // 400, 400 and 31 days old
  // Reference data at first open (3 entries, now) follow the 120 old ones: 120 go.
  EXPECT_EQ(r["audit_entries_deleted"], 120) << out;
  ASSERT_EQ(
      run_socle({"admin", "--data", data, "retention", "--usage-days", "2", "--audit-days", "365"},
                &out),
      0);
  EXPECT_EQ(boost::json::parse(out).as_object()["usage_records_deleted"], 0) << out;
  EXPECT_EQ(run_socle({"audit", "verify", "--data", data}, &out), 0) << out;
}

}  // namespace
}  // namespace socle::testing
