// Who may use a base-plus-adapter model (api/adapter_access.h), on a real SQLite store:
// everyone for one loaded for all, its owner, administrators, members of the groups it is
// shared with; nobody else, however the principal's other permissions look.
#include "api/adapter_access.h"

#include <gtest/gtest.h>

#include "tenancy/permissions.h"
#include "unit/store/store_fixture.h"

namespace socle::api {
namespace {

class AdapterAccess : public store::StoreTest {
 protected:
  void SetUp() override {
    store::StoreTest::SetUp();
    carol_ = *store_->users().create(sys_, {org_.id, role_.id, "carol", ""});
    group_ = *store_->groups().create(sys_, org_.id, "juristes", "");
    ASSERT_TRUE(store_->groups().add_member(sys_, group_.id, bob_.id).is_ok());
  }

  static tenancy::Principal principal(const store::User& u,
                                      std::vector<std::string> permissions = {"fine_tune"}) {
    tenancy::Principal p;
    p.user_id = u.id;
    p.org_id = u.org_id;
    p.user_name = u.name;
    p.permissions = std::move(permissions);
    return p;
  }

  providers::AdapterModel owned_by_alice(std::vector<int64_t> groups = {}) const {
    providers::AdapterModel m;
    m.name = "ft:tiny:x:ftjob-1";
    m.base = "tiny";
    m.owner_user = alice_.id;
    m.owner_org = org_.id;
    m.groups = std::move(groups);
    return m;
  }

  store::User carol_;
  store::Group group_;
};

TEST_F(AdapterAccess, EveryoneForAnAdapterLoadedForAll) {
  providers::AdapterModel m = owned_by_alice();
  m.owner_user = 0;
  for (const store::User& u : {alice_, bob_, carol_})
    EXPECT_TRUE(may_use_adapter(*store_, principal(u), m)) << u.name;
}

TEST_F(AdapterAccess, TheOwnerAndAdministratorsOnly) {
  providers::AdapterModel m = owned_by_alice();
  EXPECT_TRUE(may_use_adapter(*store_, principal(alice_), m));
  EXPECT_FALSE(may_use_adapter(*store_, principal(bob_), m));
  EXPECT_FALSE(may_use_adapter(*store_, principal(carol_, {"fine_tune", "manage_users"}), m));
  EXPECT_TRUE(may_use_adapter(*store_, principal(carol_, {std::string(tenancy::PERM_ADMIN)}), m));
}

TEST_F(AdapterAccess, MembersOfTheGroupsItIsSharedWith) {
  providers::AdapterModel m = owned_by_alice({group_.id});
  EXPECT_TRUE(may_use_adapter(*store_, principal(bob_), m)) << "bob is in the group";
  EXPECT_FALSE(may_use_adapter(*store_, principal(carol_), m)) << "carol is not";
  ASSERT_TRUE(store_->groups().remove_member(sys_, group_.id, bob_.id).is_ok());
  EXPECT_FALSE(may_use_adapter(*store_, principal(bob_), m)) << "no longer a member";
  // A group that does not exist (deleted since) gives nobody access.
  EXPECT_FALSE(may_use_adapter(*store_, principal(carol_), owned_by_alice({group_.id + 100})));
}

}  // namespace
}  // namespace socle::api
