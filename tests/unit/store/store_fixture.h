// The fixture the store tests share: a fresh SQLite store in a temporary directory with one
// organisation, one role and two users, alice and bob.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/hash.h"
#include "store/store.h"

namespace socle::store {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("socle-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "socle.db").string();
    auto s = open_sqlite_store(path_, clock_);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    store_ = std::move(s).value();
    org_ = *store_->orgs().create(sys_, "ministry");
    role_ = *store_->roles().create(sys_, "user", {"fine_tune"});
    alice_ = *store_->users().create(sys_, {org_.id, role_.id, "alice", "a@x.fr"});
    bob_ = *store_->users().create(sys_, {org_.id, role_.id, "bob", ""});
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  ApiKey key_for(const User& u, const std::string& secret, std::optional<int64_t> expires = {}) {
    return *store_->keys().create(sys_, {u.id, "k", sha256(secret), secret.substr(0, 7), expires});
  }

  ManualClock clock_{1'800'000'000};
  Actor sys_ = Actor::system();
  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
  Organisation org_;
  Role role_;
  User alice_, bob_;
};

}  // namespace socle::store
