// Collections, documents and chunks: who may read and write what. Isolation is decided by
// the store, so these tests try every way in: by id, by listing, by chunk id, by sharing.
#include <gtest/gtest.h>

#include "store_fixture.h"

namespace socle::store {
namespace {

Document in_collection(Id collection) {
  Document d;
  d.collection_id = collection;
  d.name = "x.txt";
  return d;
}

class RagStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    other_org_ = *store_->orgs().create(sys_, "region");
    carol_ = *store_->users().create(sys_, {other_org_.id, role_.id, "carol", ""});
    team_ = *store_->groups().create(sys_, org_.id, "team", "");
    ASSERT_TRUE(store_->groups().add_member(sys_, team_.id, bob_.id).is_ok());
  }
  Actor as(const User& u) { return Actor::user(u.id, u.org_id); }
  Collection make(const User& owner, Visibility v = Visibility::PRIVATE,
                  std::vector<CollectionShare> shares = {}) {
    Collection c;
    c.name = owner.name + "-docs";
    c.visibility = v;
    c.shares = std::move(shares);
    auto made = store_->collections().create(as(owner), c);
    EXPECT_TRUE(made.is_ok()) << made.status().message();
    return *made;
  }
  Document upload(const User& who, Id collection) {
    Document d;
    d.collection_id = collection;
    d.name = "a.txt";
    d.content_type = "text/plain";
    auto made = store_->documents().create(as(who), d);
    EXPECT_TRUE(made.is_ok()) << made.status().message();
    return made.is_ok() ? *made : Document{};
  }
  std::vector<Chunk> chunks_for(Id doc, int n) {
    std::vector<Chunk> in(n);
    for (int i = 0; i < n; ++i) {
      in[i].text = "chunk " + std::to_string(i);
      in[i].page_start = in[i].page_end = i + 1;
      in[i].heading_path = {"Titre", "Section " + std::to_string(i)};
    }
    auto put = store_->documents().put_chunks(sys_, doc, in);
    EXPECT_TRUE(put.is_ok()) << put.status().message();
    return put.is_ok() ? *put : std::vector<Chunk>{};
  }
  Organisation other_org_;
  User carol_;
  Group team_;
};

TEST_F(RagStoreTest, APrivateCollectionIsItsOwnersAlone) {
  Collection c = make(alice_);
  Document d = upload(alice_, c.id);
  std::vector<Chunk> ch = chunks_for(d.id, 3);
  ASSERT_EQ(ch.size(), 3u);
  for (const User* other : {&bob_, &carol_}) {
    Actor a = as(*other);
    EXPECT_EQ(store_->collections().get(a, c.id).status().code(), StatusCode::NOT_FOUND);
    EXPECT_TRUE(store_->collections().list(a)->empty());
    EXPECT_EQ(*store_->collections().access(a, c.id), CollectionAccess::NONE);
    EXPECT_EQ(store_->documents().get(a, d.id).status().code(), StatusCode::NOT_FOUND);
    EXPECT_EQ(store_->documents().list(a, c.id, 0, 100).status().code(), StatusCode::NOT_FOUND);
    EXPECT_EQ(store_->documents().chunks(a, d.id).status().code(), StatusCode::NOT_FOUND);
    EXPECT_TRUE(store_->documents().chunks_by_id(a, {ch[0].id, ch[2].id})->empty());
    EXPECT_EQ(store_->documents().remove(a, d.id).code(), StatusCode::NOT_FOUND);
    EXPECT_EQ(store_->collections().remove(a, c.id).code(), StatusCode::NOT_FOUND);
    Document sneak;
    sneak.collection_id = c.id;
    sneak.name = "x";
    EXPECT_EQ(store_->documents().create(a, sneak).status().code(), StatusCode::NOT_FOUND);
  }
  // An administrator is a user here: documents are not the operator's to read.
  Actor admin{alice_.id + 100, org_.id, true, false};
  EXPECT_EQ(store_->collections().get(admin, c.id).status().code(), StatusCode::NOT_FOUND);
  // The owner sees everything, in order.
  auto mine = store_->documents().chunks_by_id(as(alice_), {ch[2].id, ch[0].id});
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].text, "chunk 2");
  EXPECT_EQ((*mine)[0].heading_path, (std::vector<std::string>{"Titre", "Section 2"}));
  EXPECT_EQ(store_->collections().get(as(alice_), c.id)->documents, 1);
}

TEST_F(RagStoreTest, SharingGrantsExactlyWhatItSays) {
  Collection read = make(alice_, Visibility::PRIVATE, {{team_.id, ShareAccess::READ}});
  Collection write = make(alice_, Visibility::PRIVATE, {{team_.id, ShareAccess::WRITE}});
  Actor bob = as(bob_);
  EXPECT_EQ(*store_->collections().access(bob, read.id), CollectionAccess::READ);
  EXPECT_EQ(*store_->collections().access(bob, write.id), CollectionAccess::WRITE);
  EXPECT_EQ(store_->collections().list(bob)->size(), 2u);
  EXPECT_EQ(store_->documents().create(bob, in_collection(read.id)).status().code(),
            StatusCode::PERMISSION_DENIED);
  Document d = upload(bob_, write.id);
  EXPECT_EQ(d.owner_id, bob_.id);
  // A writer renames but neither re-shares nor deletes the collection.
  CollectionUpdate rename;
  rename.name = "renamed";
  EXPECT_TRUE(store_->collections().update(bob, write.id, rename).is_ok());
  CollectionUpdate open;
  open.visibility = Visibility::PUBLIC;
  EXPECT_EQ(store_->collections().update(bob, write.id, open).status().code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->collections().remove(bob, write.id).code(), StatusCode::PERMISSION_DENIED);
  // Leaving the group ends it.
  ASSERT_TRUE(store_->groups().remove_member(sys_, team_.id, bob_.id).is_ok());
  EXPECT_EQ(*store_->collections().access(bob, write.id), CollectionAccess::NONE);
  EXPECT_EQ(store_->documents().get(bob, d.id).status().code(), StatusCode::NOT_FOUND);
  // Only groups of the owner's organisation can be named.
  Group far = *store_->groups().create(sys_, other_org_.id, "far", "");
  CollectionUpdate share_far;
  share_far.shares = std::vector<CollectionShare>{{far.id, ShareAccess::READ}};
  EXPECT_EQ(store_->collections().update(as(alice_), read.id, share_far).status().code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(RagStoreTest, PublicCollectionsAreReadOnlyToOthers) {
  Collection pub = make(alice_, Visibility::PUBLIC);
  Document d = upload(alice_, pub.id);
  chunks_for(d.id, 1);
  Actor carol = as(carol_);
  EXPECT_EQ(*store_->collections().access(carol, pub.id), CollectionAccess::READ);
  EXPECT_TRUE(store_->documents().get(carol, d.id).is_ok());
  EXPECT_EQ(store_->documents().chunks(carol, d.id)->size(), 1u);
  EXPECT_EQ(store_->documents().remove(carol, d.id).code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->documents().create(carol, in_collection(pub.id)).status().code(),
            StatusCode::PERMISSION_DENIED);
}

TEST_F(RagStoreTest, IngestionStateIsTheServersAndDeletingCascades) {
  Collection c = make(alice_);
  Document d = upload(alice_, c.id);
  EXPECT_EQ(d.status, DocumentStatus::QUEUED);
  d.status = DocumentStatus::READY;
  EXPECT_EQ(store_->documents().set_status(as(alice_), d).code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(store_->documents().put_chunks(as(alice_), d.id, {}).status().code(),
            StatusCode::PERMISSION_DENIED);
  int64_t counter = *store_->change_counter();
  d.status = DocumentStatus::FAILED;
  d.error = "page 3 has no text layer";
  d.pages_without_text = {3};
  ASSERT_TRUE(store_->documents().set_status(sys_, d).is_ok());
  chunks_for(d.id, 2);
  EXPECT_EQ(*store_->change_counter(), counter) << "ingestion does not move the change counter";
  Document back = *store_->documents().get(as(alice_), d.id);
  EXPECT_EQ(back.status, DocumentStatus::FAILED);
  EXPECT_EQ(back.pages_without_text, std::vector<int>{3});
  auto pending =
      store_->documents().with_status(sys_, {DocumentStatus::QUEUED, DocumentStatus::FAILED});
  ASSERT_EQ(pending->size(), 1u);
  // Re-chunking replaces; deleting the collection takes documents and chunks.
  auto again = chunks_for(d.id, 1);
  EXPECT_EQ(store_->documents().chunks(as(alice_), d.id)->size(), 1u);
  ASSERT_TRUE(store_->collections().remove(as(alice_), c.id).is_ok());
  EXPECT_EQ(store_->documents().get(sys_, d.id).status().code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(store_->documents().chunks_by_id(sys_, {again[0].id})->empty());
}

}  // namespace
}  // namespace socle::store
