// Uploaded files are their owner's alone: another user, an organisation-wide manager
// included, reaches none of them by id, list or delete; ids are never reused; removing a file
// says how many others still name its bytes.
#include <gtest/gtest.h>

#include "store_fixture.h"

namespace socle::store {
namespace {

class FileStoreTest : public StoreTest {
 protected:
  StoredFile upload(const User& who, const std::string& name, const std::string& sha) {
    StoredFile f;
    f.filename = name;
    f.purpose = "fine-tune";
    f.bytes = 10;
    f.sha256 = sha;
    auto made = store_->files().create(Actor::user(who.id, who.org_id), f);
    EXPECT_TRUE(made.is_ok()) << made.status().message();
    return *made;
  }
};

TEST_F(FileStoreTest, FilesAreTheirOwnersAlone) {
  StoredFile a = upload(alice_, "a.jsonl", "aa");
  Actor alice = Actor::user(alice_.id, alice_.org_id);
  Actor bob = Actor::user(bob_.id, bob_.org_id);
  Actor manager = Actor::organisation(bob_.id, bob_.org_id);
  EXPECT_EQ(a.owner_id, alice_.id);
  EXPECT_EQ(a.created_at, 1'800'000'000);
  EXPECT_TRUE(store_->files().get(alice, a.id).is_ok());
  for (const Actor& other : {bob, manager}) {
    EXPECT_EQ(store_->files().get(other, a.id).status().code(), StatusCode::NOT_FOUND);
    EXPECT_TRUE(store_->files().list(other, "", 0, false, 100)->empty());
    EXPECT_EQ(store_->files().remove(other, a.id).status().code(), StatusCode::NOT_FOUND);
  }
  EXPECT_TRUE(store_->files().get(sys_, a.id).is_ok());
}

TEST_F(FileStoreTest, ListsByPurposeInBothOrdersWithACursor) {
  Actor alice = Actor::user(alice_.id, alice_.org_id);
  std::vector<Id> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(upload(alice_, "f" + std::to_string(i), "s" + std::to_string(i)).id);
  auto asc = *store_->files().list(alice, "fine-tune", 0, false, 2);
  ASSERT_EQ(asc.size(), 2u);
  EXPECT_EQ(asc[0].id, ids[0]);
  auto next = *store_->files().list(alice, "fine-tune", asc[1].id, false, 10);
  ASSERT_EQ(next.size(), 3u);
  EXPECT_EQ(next[0].id, ids[2]);
  auto desc = *store_->files().list(alice, "", 0, true, 10);
  ASSERT_EQ(desc.size(), 5u);
  EXPECT_EQ(desc[0].id, ids[4]);
  auto desc_after = *store_->files().list(alice, "", ids[3], true, 10);
  ASSERT_EQ(desc_after.size(), 3u);
  EXPECT_EQ(desc_after[0].id, ids[2]);
  EXPECT_TRUE(store_->files().list(alice, "batch", 0, false, 10)->empty());
}

TEST_F(FileStoreTest, RemoveCountsWhoElseNamesTheBytesAndIdsAreNotReused) {
  Actor alice = Actor::user(alice_.id, alice_.org_id);
  StoredFile a1 = upload(alice_, "a.jsonl", "same");
  StoredFile b1 = upload(bob_, "b.jsonl", "same");
  EXPECT_EQ(*store_->files().remove(alice, a1.id), 1);  // bob's still names them
  EXPECT_EQ(*store_->files().remove(Actor::user(bob_.id, bob_.org_id), b1.id), 0);
  StoredFile again = upload(alice_, "c.jsonl", "other");
  EXPECT_GT(again.id, b1.id);
}

}  // namespace
}  // namespace socle::store
