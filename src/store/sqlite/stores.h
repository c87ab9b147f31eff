// The SQLite implementations of the aggregate stores (store/store.h has the contracts).
#pragma once

#include "store/sqlite/connection.h"
#include "store/store.h"

namespace socle::store::sqlite {

class SqliteOrgStore final : public OrgStore {
 public:
  explicit SqliteOrgStore(Connection& c) : c_(c) {}
  Result<Organisation> create(const Actor& actor, const std::string& name) override;
  Result<Organisation> get(const Actor& actor, Id id) override;
  Result<Organisation> find_by_name(const Actor& actor, const std::string& name) override;
  Result<std::vector<Organisation>> list(const Actor& actor) override;
  Result<Organisation> rename(const Actor& actor, Id id, const std::string& name) override;
  Status remove(const Actor& actor, Id id) override;

 private:
  Connection& c_;
};

class SqliteRoleStore final : public RoleStore {
 public:
  explicit SqliteRoleStore(Connection& c) : c_(c) {}
  Result<Role> create(const Actor& actor, const std::string& name,
                      const std::vector<std::string>& permissions) override;
  Result<Role> get(const Actor& actor, Id id) override;
  Result<Role> find_by_name(const Actor& actor, const std::string& name) override;
  Result<std::vector<Role>> list(const Actor& actor) override;
  Result<Role> update(const Actor& actor, Id id, const std::optional<std::string>& name,
                      const std::optional<std::vector<std::string>>& permissions) override;
  Status remove(const Actor& actor, Id id) override;

 private:
  Connection& c_;
};

class SqliteUserStore final : public UserStore {
 public:
  explicit SqliteUserStore(Connection& c) : c_(c) {}
  Result<User> create(const Actor& actor, const NewUser& user) override;
  Result<User> get(const Actor& actor, Id id) override;
  Result<User> find_by_name(const Actor& actor, const std::string& name) override;
  Result<std::vector<User>> list(const Actor& actor) override;
  Status set_disabled(const Actor& actor, Id id, bool disabled) override;
  Result<User> update(const Actor& actor, Id id, const UserUpdate& update) override;
  Status remove(const Actor& actor, Id id) override;

 private:
  Connection& c_;
};

class SqliteKeyStore final : public KeyStore {
 public:
  explicit SqliteKeyStore(Connection& c) : c_(c) {}
  Result<ApiKey> create(const Actor& actor, const NewKey& key) override;
  Result<std::vector<ApiKey>> list(const Actor& actor, Id user_id) override;
  Result<ApiKey> get(const Actor& actor, Id key_id) override;
  Status revoke(const Actor& actor, Id key_id, int64_t now) override;
  Result<std::vector<KeyGrant>> list_grants(const Actor& actor, int64_t now) override;

 private:
  Connection& c_;
};

class SqliteAuditStore final : public AuditStore {
 public:
  explicit SqliteAuditStore(Connection& c) : c_(c) {}
  Status append(const Actor& actor, const AuditEntry& entry) override;
  Result<std::optional<AuditEntry>> last(const Actor& actor) override;
  Result<std::vector<AuditEntry>> list(const Actor& actor, const AuditQuery& query) override;
  Status add_checkpoint(const Actor& actor, const AuditCheckpoint& checkpoint) override;
  Result<std::vector<AuditCheckpoint>> checkpoints(const Actor& actor) override;
  Result<int64_t> remove_through(const Actor& actor, int64_t seq) override;
  Result<int64_t> count_through(const Actor& actor, int64_t seq) override;

 private:
  Connection& c_;
};

class SqliteGroupStore final : public GroupStore {
 public:
  explicit SqliteGroupStore(Connection& c) : c_(c) {}
  Result<Group> create(const Actor& actor, Id org_id, const std::string& name,
                       const std::string& description) override;
  Result<Group> get(const Actor& actor, Id id) override;
  Result<std::vector<Group>> list(const Actor& actor) override;
  Result<Group> update(const Actor& actor, Id id, const std::optional<std::string>& name,
                       const std::optional<std::string>& description) override;
  Status remove(const Actor& actor, Id id) override;
  Status add_member(const Actor& actor, Id group_id, Id user_id) override;
  Status remove_member(const Actor& actor, Id group_id, Id user_id) override;
  Result<std::vector<Id>> members(const Actor& actor, Id group_id) override;
  Result<std::vector<Id>> groups_of(const Actor& actor, Id user_id) override;

 private:
  Connection& c_;
};

class SqliteLimitStore final : public LimitStore {
 public:
  explicit SqliteLimitStore(Connection& c) : c_(c) {}
  Result<LimitRule> put(const Actor& actor, LimitScope scope, Id scope_id, const std::string& model,
                        const LimitValues& values) override;
  Result<LimitRule> get(const Actor& actor, Id id) override;
  Result<std::vector<LimitRule>> list_all(const Actor& actor) override;
  Status remove(const Actor& actor, Id id) override;

 private:
  Connection& c_;
};

class SqliteUsageStore final : public UsageStore {
 public:
  explicit SqliteUsageStore(Connection& c) : c_(c) {}
  Status append(const Actor& actor, const std::vector<UsageEntry>& entries) override;
  Result<std::vector<UsageEntry>> list(const Actor& actor, const UsageQuery& query) override;
  Result<std::vector<UsageTotal>> totals(const Actor& actor, const UsageQuery& query,
                                         const std::vector<UsageGroup>& group_by) override;
  Result<int64_t> remove_before(const Actor& actor, int64_t before) override;

 private:
  Connection& c_;
};

class SqliteCollectionStore final : public CollectionStore {
 public:
  explicit SqliteCollectionStore(Connection& c) : c_(c) {}
  Result<Collection> create(const Actor& actor, const Collection& collection) override;
  Result<Collection> get(const Actor& actor, Id id) override;
  Result<std::vector<Collection>> list(const Actor& actor) override;
  Result<CollectionAccess> access(const Actor& actor, Id id) override;
  Result<Collection> update(const Actor& actor, Id id, const CollectionUpdate& update) override;
  Status remove(const Actor& actor, Id id) override;

 private:
  Connection& c_;
};

class SqliteDocumentStore final : public DocumentStore {
 public:
  explicit SqliteDocumentStore(Connection& c) : c_(c) {}
  Result<Document> create(const Actor& actor, const Document& document) override;
  Result<Document> get(const Actor& actor, Id id) override;
  Result<std::vector<Document>> list(const Actor& actor, Id collection_id, Id after_id,
                                     int64_t limit) override;
  Status remove(const Actor& actor, Id id) override;
  Status set_status(const Actor& actor, const Document& document) override;
  Result<std::vector<Chunk>> put_chunks(const Actor& actor, Id document_id,
                                        const std::vector<Chunk>& chunks) override;
  Result<std::vector<Chunk>> chunks(const Actor& actor, Id document_id) override;
  Result<std::vector<Chunk>> chunks_by_id(const Actor& actor, const std::vector<Id>& ids) override;
  Result<std::vector<Document>> with_status(const Actor& actor,
                                            const std::vector<DocumentStatus>& states) override;
  Result<std::vector<Document>> owned_by(const Actor& actor, Id user_id) override;

 private:
  Connection& c_;
};

class SqliteFileStore final : public FileStore {
 public:
  explicit SqliteFileStore(Connection& c) : c_(c) {}
  Result<StoredFile> create(const Actor& actor, const StoredFile& file) override;
  Result<StoredFile> get(const Actor& actor, Id id) override;
  Result<std::vector<StoredFile>> list(const Actor& actor, const std::string& purpose, Id after_id,
                                       bool descending, int64_t limit) override;
  Result<int64_t> remove(const Actor& actor, Id id) override;

 private:
  Connection& c_;
};

class SqliteFineTuningStore final : public FineTuningStore {
 public:
  explicit SqliteFineTuningStore(Connection& c) : c_(c) {}
  Result<FineTuneJob> create(const Actor& actor, const FineTuneJob& job) override;
  Result<FineTuneJob> get(const Actor& actor, Id id) override;
  Result<std::vector<FineTuneJob>> list(const Actor& actor, Id before_id, int64_t limit) override;
  Result<FineTuneJob> update(const Actor& actor, const FineTuneJob& job,
                             const std::vector<FineTuneStatus>& from) override;
  Result<std::vector<FineTuneJob>> with_status(const Actor& actor,
                                               const std::vector<FineTuneStatus>& states) override;
  Result<FineTuneEvent> add_event(const Actor& actor, const FineTuneEvent& event) override;
  Result<std::vector<FineTuneEvent>> events(const Actor& actor, Id job_id, Id before_id,
                                            int64_t limit) override;
  Result<FineTuneCheckpoint> add_checkpoint(const Actor& actor,
                                            const FineTuneCheckpoint& checkpoint) override;
  Result<std::vector<FineTuneCheckpoint>> checkpoints(const Actor& actor, Id job_id, Id before_id,
                                                      int64_t limit) override;

 private:
  Connection& c_;
};

// What `actor` may do with collection `id` (NONE when it does not exist). Needs c.mu.
Result<CollectionAccess> collection_access(Connection& c, const Actor& actor, Id id);

// The organisation of `user_id` if the actor sees that user; NOT_FOUND otherwise.
Result<Id> visible_user_org(Connection& c, const Actor& actor, Id user_id);

// Deletes the limit rules of (scope, scope_id); for the stores that delete their owners.
Status remove_limit_rules(Connection& c, LimitScope scope, Id scope_id);

}  // namespace socle::store::sqlite
