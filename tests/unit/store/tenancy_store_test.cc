// Organisations, roles, users, groups and limit rules: what each kind of actor may see and
// change, and what deleting takes with it.
#include <gtest/gtest.h>

#include "store_fixture.h"

namespace socle::store {
namespace {

LimitValues per_minute(int64_t n) {
  LimitValues v;
  v.requests_per_minute = n;
  return v;
}

class TenancyStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    other_org_ = *store_->orgs().create(sys_, "region");
    carol_ = *store_->users().create(sys_, {other_org_.id, role_.id, "carol", ""});
  }
  Actor manager_of(const User& u) { return Actor::organisation(u.id, u.org_id); }
  Organisation other_org_;
  User carol_;
};

TEST_F(TenancyStoreTest, OrgWideActorsSeeTheirOrganisationOnly) {
  Actor m = manager_of(alice_);
  auto users = store_->users().list(m);
  ASSERT_TRUE(users.is_ok());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[1].name, "bob");
  EXPECT_EQ(store_->users().get(m, carol_.id).status().code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(store_->users().list(Actor::user(alice_.id, org_.id))->size(), 1u);
  EXPECT_EQ(store_->users().list(sys_)->size(), 3u);
  // Keys follow their users.
  std::string secret = "sk-carol";
  ApiKey k = key_for(carol_, secret);
  EXPECT_EQ(store_->keys().list(m, carol_.id).status().code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(store_->keys().get(m, k.id).status().code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(store_->keys().revoke(m, k.id, 1).code(), StatusCode::NOT_FOUND);
  ApiKey kb = key_for(bob_, "sk-bob");
  EXPECT_TRUE(store_->keys().revoke(m, kb.id, 1).is_ok());
  EXPECT_EQ(store_->keys()
                .create(m, {carol_.id, "x", sha256("sk-2"), "sk-2", std::nullopt})
                .status()
                .code(),
            StatusCode::NOT_FOUND);
}

TEST_F(TenancyStoreTest, ManagersCreateAndChangeUsersOfTheirOrganisationOnly) {
  Actor m = manager_of(alice_);
  EXPECT_TRUE(store_->users().create(m, {org_.id, role_.id, "dave", ""}).is_ok());
  EXPECT_EQ(store_->users().create(m, {other_org_.id, role_.id, "eve", ""}).status().code(),
            StatusCode::PERMISSION_DENIED);
  UserUpdate move;
  move.org_id = other_org_.id;
  EXPECT_EQ(store_->users().update(m, bob_.id, move).status().code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(store_->users().update(sys_, bob_.id, move).is_ok());
  EXPECT_EQ(store_->users().get(m, bob_.id).status().code(), StatusCode::NOT_FOUND);
  // A plain user changes its own name and email, nothing else, and no one else's.
  Actor self = Actor::user(carol_.id, other_org_.id);
  UserUpdate profile;
  profile.email = "carol@region.fr";
  EXPECT_EQ(store_->users().update(self, carol_.id, profile)->email, "carol@region.fr");
  UserUpdate disable;
  disable.disabled = true;
  EXPECT_EQ(store_->users().update(self, carol_.id, disable).status().code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->users().update(self, bob_.id, profile).status().code(), StatusCode::NOT_FOUND);
}

TEST_F(TenancyStoreTest, AMissingOrganisationOrRoleIsABadFieldNotATakenName) {
  // SQLite reports a foreign key and a unique name alike; the store tells them apart, names
  // the field, and shows no SQL.
  auto no_org = store_->users().create(sys_, {999, role_.id, "u1", ""});
  EXPECT_EQ(no_org.status().code(), StatusCode::INVALID_ARGUMENT) << no_org.status().message();
  EXPECT_EQ(no_org.status().param(), "organisation_id");
  EXPECT_NE(no_org.status().message().find("no organisation 999"), std::string::npos)
      << no_org.status().message();
  auto no_role = store_->users().create(sys_, {org_.id, 999, "u1", ""});
  EXPECT_EQ(no_role.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(no_role.status().param(), "role_id");
  auto taken = store_->users().create(sys_, {org_.id, role_.id, "carol", ""});
  EXPECT_EQ(taken.status().code(), StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(taken.status().param(), "name");
  for (const Status& s : {no_org.status(), no_role.status(), taken.status()}) {
    EXPECT_EQ(s.message().find("INSERT"), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find("constraint"), std::string::npos) << s.message();
  }

  UserUpdate move;
  move.org_id = -5;
  auto moved = store_->users().update(sys_, carol_.id, move);
  EXPECT_EQ(moved.status().code(), StatusCode::INVALID_ARGUMENT) << moved.status().message();
  EXPECT_EQ(moved.status().param(), "organisation_id");
  UserUpdate rename;
  rename.name = "alice";
  auto renamed = store_->users().update(sys_, carol_.id, rename);
  EXPECT_EQ(renamed.status().code(), StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(renamed.status().param(), "name");
  EXPECT_EQ(renamed.status().message().find("UPDATE"), std::string::npos)
      << renamed.status().message();
}

TEST_F(TenancyStoreTest, DeletingAUserTakesItsKeysMembershipsAndLimits) {
  ApiKey k = key_for(bob_, "sk-bob");
  Group g = *store_->groups().create(sys_, org_.id, "team", "");
  ASSERT_TRUE(store_->groups().add_member(sys_, g.id, bob_.id).is_ok());
  ASSERT_TRUE(store_->limits().put(sys_, LimitScope::USER, bob_.id, "*", per_minute(5)).is_ok());
  EXPECT_EQ(store_->users().remove(Actor::organisation(alice_.id, org_.id), alice_.id).code(),
            StatusCode::FAILED_PRECONDITION)
      << "no one deletes itself";
  ASSERT_TRUE(store_->users().remove(Actor::organisation(alice_.id, org_.id), bob_.id).is_ok());
  EXPECT_EQ(store_->keys().get(sys_, k.id).status().code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(store_->groups().members(sys_, g.id)->empty());
  EXPECT_TRUE(store_->limits().list_all(sys_)->empty());
}

TEST_F(TenancyStoreTest, OrganisationsAndRolesInUseCannotBeDeleted) {
  EXPECT_EQ(store_->orgs().remove(sys_, other_org_.id).code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(store_->roles().remove(sys_, role_.id).code(), StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(store_->users().remove(sys_, carol_.id).is_ok());
  ASSERT_TRUE(store_->groups().create(sys_, other_org_.id, "g", "").is_ok());
  ASSERT_TRUE(store_->limits()
                  .put(sys_, LimitScope::ORGANISATION, other_org_.id, "*", per_minute(1))
                  .is_ok());
  ASSERT_TRUE(store_->orgs().remove(sys_, other_org_.id).is_ok());
  EXPECT_EQ(store_->orgs().get(sys_, other_org_.id).status().code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(store_->groups().list(sys_)->empty());
  EXPECT_TRUE(store_->limits().list_all(sys_)->empty());
  Role spare = *store_->roles().create(sys_, "spare", {});
  EXPECT_EQ(store_->roles().remove(manager_of(alice_), spare.id).code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(store_->roles().remove(sys_, spare.id).is_ok());
}

TEST_F(TenancyStoreTest, OrganisationsAndRolesAreUpdatedByAdministratorsOnly) {
  EXPECT_EQ(store_->orgs().rename(manager_of(alice_), org_.id, "x").status().code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->orgs().rename(sys_, org_.id, "region").status().code(),
            StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(store_->orgs().rename(sys_, org_.id, "ministère")->name, "ministère");
  EXPECT_EQ(store_->orgs().list(manager_of(alice_))->size(), 1u);
  EXPECT_EQ(store_->orgs().list(sys_)->size(), 2u);
  auto changed =
      store_->roles().update(sys_, role_.id, std::nullopt, std::vector<std::string>{"read_usage"});
  ASSERT_TRUE(changed.is_ok());
  EXPECT_EQ(changed->name, "user");
  EXPECT_EQ(store_->roles().get(sys_, role_.id)->permissions,
            std::vector<std::string>{"read_usage"});
  auto grants = store_->keys().list_grants(sys_, 0);
  ASSERT_TRUE(grants.is_ok());
}

TEST_F(TenancyStoreTest, GroupsBelongToOneOrganisation) {
  Actor m = manager_of(alice_);
  Group g = *store_->groups().create(m, org_.id, "team", "the team");
  EXPECT_EQ(store_->groups().create(m, org_.id, "team", "").status().code(),
            StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(store_->groups().create(sys_, other_org_.id, "team", "").is_ok())
      << "names are unique per organisation";
  EXPECT_EQ(store_->groups().create(m, other_org_.id, "x", "").status().code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->groups().add_member(m, g.id, carol_.id).code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(store_->groups().add_member(sys_, g.id, carol_.id).code(),
            StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(store_->groups().add_member(m, g.id, bob_.id).is_ok());
  ASSERT_TRUE(store_->groups().add_member(m, g.id, bob_.id).is_ok()) << "idempotent";
  EXPECT_EQ(*store_->groups().members(m, g.id), std::vector<Id>{bob_.id});
  EXPECT_EQ(*store_->groups().groups_of(Actor::user(bob_.id, org_.id), bob_.id),
            std::vector<Id>{g.id});
  // A member reads its groups but does not change them.
  Actor bob = Actor::user(bob_.id, org_.id);
  EXPECT_EQ(store_->groups().list(bob)->size(), 1u);
  EXPECT_EQ(store_->groups().update(bob, g.id, "x", std::nullopt).status().code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->groups().get(Actor::user(carol_.id, other_org_.id), g.id).status().code(),
            StatusCode::NOT_FOUND);
  EXPECT_EQ(store_->groups().update(m, g.id, "renamed", std::nullopt)->description, "the team");
  ASSERT_TRUE(store_->groups().remove_member(m, g.id, bob_.id).is_ok());
  EXPECT_EQ(store_->groups().remove_member(m, g.id, bob_.id).code(), StatusCode::NOT_FOUND);
  ASSERT_TRUE(store_->groups().remove(m, g.id).is_ok());
  EXPECT_EQ(store_->groups().get(sys_, g.id).status().code(), StatusCode::NOT_FOUND);
}

TEST_F(TenancyStoreTest, LimitRulesAreUpsertedPerScopeAndModel) {
  LimitValues v;
  v.requests_per_minute = 10;
  v.tokens_per_day = 0;
  auto r = store_->limits().put(sys_, LimitScope::ROLE, role_.id, "chat", v);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->values.requests_per_minute, 10);
  EXPECT_EQ(r->values.tokens_per_day, 0);
  EXPECT_FALSE(r->values.concurrent_requests.has_value());
  clock_.advance_ms(5000);
  LimitValues w;
  w.concurrent_requests = 2;
  auto again = store_->limits().put(sys_, LimitScope::ROLE, role_.id, "chat", w);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->id, r->id) << "the same (scope, subject, model) is replaced";
  EXPECT_FALSE(again->values.requests_per_minute.has_value());
  EXPECT_EQ(again->updated_at, r->created_at + 5);
  Status missing = store_->limits().put(sys_, LimitScope::USER, 9999, "*", w).status();
  EXPECT_EQ(missing.code(), StatusCode::INVALID_ARGUMENT) << "a bad field, not a missing path";
  EXPECT_EQ(missing.param(), "scope_id");
  EXPECT_NE(missing.message().find("no user 9999"), std::string::npos) << missing.message();
  LimitValues bad;
  bad.tokens_per_minute = -1;
  EXPECT_EQ(store_->limits().put(sys_, LimitScope::USER, bob_.id, "*", bad).status().code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      store_->limits().put(manager_of(alice_), LimitScope::USER, bob_.id, "*", w).status().code(),
      StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->limits().list_all(manager_of(alice_)).status().code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->limits().list_all(sys_)->size(), 1u);
  int64_t before = *store_->change_counter();
  ASSERT_TRUE(store_->limits().remove(sys_, r->id).is_ok());
  EXPECT_GT(*store_->change_counter(), before) << "limits reach other nodes through the counter";
  EXPECT_EQ(store_->limits().remove(sys_, r->id).code(), StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace socle::store
