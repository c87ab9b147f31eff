#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "base/clock.h"
#include "base/file.h"
#include "tenancy/api_key.h"
#include "tenancy/audit.h"
#include "tenancy/audit_key.h"
#include "tenancy/bootstrap.h"
#include "tenancy/change_watcher.h"
#include "tenancy/key_cache.h"
#include "tenancy/permissions.h"

namespace socle::tenancy {
namespace {

class TenancyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("socle-tenancy-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto s = store::open_sqlite_store((dir_ / "socle.db").string(), clock_);
    ASSERT_TRUE(s.is_ok());
    store_ = std::move(s).value();
    audit_ = std::make_unique<AuditLog>(*store_, std::string(AUDIT_KEY_BYTES, 'k'), clock_);
    ASSERT_TRUE(ensure_reference_data(*store_, *audit_).is_ok());
    ASSERT_TRUE(ensure_reference_data(*store_, *audit_).is_ok()) << "idempotent";
  }
  void TearDown() override {
    audit_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  store::User make_user(const std::string& name, std::string_view role = ROLE_USER) {
    auto org = *store_->orgs().find_by_name(sys_, std::string(DEFAULT_ORGANISATION));
    auto r = *store_->roles().find_by_name(sys_, std::string(role));
    return *store_->users().create(sys_, {org.id, r.id, name, ""});
  }
  std::pair<std::string, store::ApiKey> make_key(const store::User& u,
                                                 std::optional<int64_t> expires = {}) {
    std::string secret = generate_key_secret();
    auto k = *store_->keys().create(
        sys_, {u.id, "k", hash_key_secret(secret), key_display_prefix(secret), expires});
    return {secret, k};
  }

  ManualClock clock_{1'800'000'000};
  store::Actor sys_ = store::Actor::system();
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuditLog> audit_;
};

TEST(ApiKey, FormatAndChecks) {
  std::string k = generate_key_secret();
  EXPECT_EQ(k.rfind("sk-", 0), 0u);
  EXPECT_EQ(k.size(), 46u);
  EXPECT_TRUE(check_supplied_key(k).is_ok());
  EXPECT_FALSE(check_supplied_key("sk-short").is_ok());
  EXPECT_FALSE(check_supplied_key("pk-0123456789012345678901234").is_ok());
  EXPECT_FALSE(check_supplied_key("sk-01234567890123456789012 4").is_ok());
  EXPECT_EQ(key_display_prefix(k), k.substr(0, 7));
}

TEST_F(TenancyTest, CacheAuthenticatesKnownKeysOnly) {
  auto alice = make_user("alice");
  auto [secret, key] = make_key(alice);
  KeyCache cache(*store_, clock_);
  ASSERT_TRUE(cache.reload().is_ok());
  auto p = cache.authenticate(secret);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->user_id, alice.id);
  EXPECT_EQ(p->key_id, key.id);
  EXPECT_EQ(p->role_name, "user");
  EXPECT_FALSE(p->has(PERM_READ_METRICS));
  EXPECT_FALSE(p->actor_for(PERM_MANAGE_USERS).all_tenants);
  EXPECT_FALSE(p->actor_for(PERM_MANAGE_USERS).org_wide) << "a user without the permission";
  EXPECT_EQ(p->role_id, alice.role_id);
  EXPECT_EQ(cache.authenticate(secret + "x"), nullptr);
  EXPECT_EQ(cache.authenticate(""), nullptr);
  EXPECT_EQ(cache.authenticate("not-a-key"), nullptr);
}

TEST_F(TenancyTest, ExpiryFollowsTheInjectedClock) {
  auto alice = make_user("alice");
  auto [secret, key] = make_key(alice, clock_.unix_seconds() + 10);
  KeyCache cache(*store_, clock_);
  ASSERT_TRUE(cache.reload().is_ok());
  EXPECT_NE(cache.authenticate(secret), nullptr);
  clock_.advance_ms(10'000);
  EXPECT_EQ(cache.authenticate(secret), nullptr);
}

TEST_F(TenancyTest, RevocationLocallyAtOnceAndFromElsewhereOnRefresh) {
  auto alice = make_user("alice");
  auto [s1, k1] = make_key(alice);
  auto [s2, k2] = make_key(alice);
  KeyCache cache(*store_, clock_);
  ASSERT_TRUE(cache.reload().is_ok());
  cache.forget_key(k1.id);
  EXPECT_EQ(cache.authenticate(s1), nullptr);
  EXPECT_NE(cache.authenticate(s2), nullptr);

  // Another process (the CLI) revokes k2 on the same file: refresh() sees the counter move.
  auto other = store::open_sqlite_store((dir_ / "socle.db").string(), clock_);
  ASSERT_TRUE(other.is_ok());
  ASSERT_TRUE((*other)->keys().revoke(sys_, k2.id, clock_.unix_seconds()).is_ok());
  EXPECT_NE(cache.authenticate(s2), nullptr) << "not before a refresh";
  ASSERT_TRUE(cache.refresh().is_ok());
  EXPECT_EQ(cache.authenticate(s2), nullptr);
}

TEST_F(TenancyTest, WatcherCallsBackWhenTheStoreChanges) {
  std::atomic<int> calls{0};
  ChangeWatcher watcher(*store_, 10, [&] { ++calls; });
  auto wait_for = [&](int n) {
    for (int i = 0; i < 300 && calls.load() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return calls.load();
  };
  EXPECT_GE(wait_for(1), 1) << "the first poll calls back";
  int before = calls.load();
  make_user("bob");
  EXPECT_GE(wait_for(before + 1), before + 1);
}

TEST_F(TenancyTest, BootstrapWritesAnOwnerOnlyKeyFileOnce) {
  auto r = bootstrap_admin(*store_, *audit_, dir_.string(), std::nullopt);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(r->created);
  struct stat st {};
  ASSERT_EQ(stat(r->key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string secret = *read_file(r->key_path);
  secret.pop_back();  // newline
  KeyCache cache(*store_, clock_);
  ASSERT_TRUE(cache.reload().is_ok());
  auto p = cache.authenticate(secret);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->has(PERM_READ_METRICS)) << "admin implies every permission";
  EXPECT_TRUE(p->actor_for(PERM_READ_USAGE).all_tenants);

  auto again = bootstrap_admin(*store_, *audit_, dir_.string(), std::nullopt);
  ASSERT_TRUE(again.is_ok());
  EXPECT_FALSE(again->created);
}

TEST_F(TenancyTest, BootstrapRefusesAWeakSuppliedKey) {
  auto r = bootstrap_admin(*store_, *audit_, dir_.string(), std::string("sk-weak"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(store_->users().list(sys_)->size(), 0u);
}

// A bad SOCLE_ADMIN_KEY is a configuration error: it names the variable (the CLI exits 2 on
// that param) and never repeats the value.
TEST_F(TenancyTest, BootstrapNamesTheVariableOfABadSuppliedKey) {
  for (const char* bad : {"sk-short", "sk-0123456789012345678901 3"}) {
    auto r = bootstrap_admin(*store_, *audit_, dir_.string(), std::string(bad));
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(r.status().param(), ADMIN_KEY_VARIABLE);
    const std::string& m = r.status().message();
    EXPECT_NE(m.find("SOCLE_ADMIN_KEY"), std::string::npos) << m;
    EXPECT_EQ(m.find(bad), std::string::npos) << m;
  }
  EXPECT_EQ(store_->users().list(sys_)->size(), 0u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "admin-key"));
}

}  // namespace
}  // namespace socle::tenancy
