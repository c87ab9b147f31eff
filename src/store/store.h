// The store's interfaces, one per aggregate. Implementations: sqlite/ (embedded default).
// Every write bumps the store's change counter in the same transaction, so that servers
// polling it (Store::change_counter) notice changes made by the CLI or by other nodes.
// Errors: NOT_FOUND for rows the actor may not see as well as rows that do not exist (no
// existence oracle across tenants), ALREADY_EXISTS for taken unique names, UNAVAILABLE when
// the database cannot be reached.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/records.h"

namespace socle::store {

class OrgStore {
 public:
  virtual ~OrgStore() = default;
  virtual Result<Organisation> create(const Actor& actor, const std::string& name) = 0;
  virtual Result<Organisation> get(const Actor& actor, Id id) = 0;
  virtual Result<Organisation> find_by_name(const Actor& actor, const std::string& name) = 0;
  // Every organisation for an all-tenants actor; the actor's own otherwise.
  virtual Result<std::vector<Organisation>> list(const Actor& actor) = 0;
  virtual Result<Organisation> rename(const Actor& actor, Id id, const std::string& name) = 0;
  // FAILED_PRECONDITION while users belong to it. Its groups and limit rules go with it.
  virtual Status remove(const Actor& actor, Id id) = 0;
};

class RoleStore {
 public:
  virtual ~RoleStore() = default;
  virtual Result<Role> create(const Actor& actor, const std::string& name,
                              const std::vector<std::string>& permissions) = 0;
  virtual Result<Role> get(const Actor& actor, Id id) = 0;
  virtual Result<Role> find_by_name(const Actor& actor, const std::string& name) = 0;
  virtual Result<std::vector<Role>> list(const Actor& actor) = 0;
  // Unset fields stay as they are.
  virtual Result<Role> update(const Actor& actor, Id id, const std::optional<std::string>& name,
                              const std::optional<std::vector<std::string>>& permissions) = 0;
  // FAILED_PRECONDITION while users have it. Its limit rules go with it.
  virtual Status remove(const Actor& actor, Id id) = 0;
};

class UserStore {
 public:
  virtual ~UserStore() = default;
  virtual Result<User> create(const Actor& actor, const NewUser& user) = 0;
  virtual Result<User> get(const Actor& actor, Id id) = 0;
  virtual Result<User> find_by_name(const Actor& actor, const std::string& name) = 0;
  // The users the actor sees (all, its organisation's, or its own), by id.
  virtual Result<std::vector<User>> list(const Actor& actor) = 0;
  virtual Status set_disabled(const Actor& actor, Id id, bool disabled) = 0;
  // Org-wide actors may change users of their organisation but not move them out of it.
  virtual Result<User> update(const Actor& actor, Id id, const UserUpdate& update) = 0;
  // Deletes the user, its keys, group memberships and limit rules; usage rows stay.
  virtual Status remove(const Actor& actor, Id id) = 0;
};

// Groups belong to one organisation; an org-wide actor manages its organisation's groups.
class GroupStore {
 public:
  virtual ~GroupStore() = default;
  virtual Result<Group> create(const Actor& actor, Id org_id, const std::string& name,
                               const std::string& description) = 0;
  virtual Result<Group> get(const Actor& actor, Id id) = 0;
  // The groups the actor sees: all, its organisation's, or the ones it is a member of.
  virtual Result<std::vector<Group>> list(const Actor& actor) = 0;
  virtual Result<Group> update(const Actor& actor, Id id, const std::optional<std::string>& name,
                               const std::optional<std::string>& description) = 0;
  virtual Status remove(const Actor& actor, Id id) = 0;
  // Members must belong to the group's organisation. Adding a member twice is not an error.
  virtual Status add_member(const Actor& actor, Id group_id, Id user_id) = 0;
  virtual Status remove_member(const Actor& actor, Id group_id, Id user_id) = 0;
  virtual Result<std::vector<Id>> members(const Actor& actor, Id group_id) = 0;
  // The ids of the groups `user_id` belongs to.
  virtual Result<std::vector<Id>> groups_of(const Actor& actor, Id user_id) = 0;
};

// Limit rules. Writing needs an all-tenants actor; so does list_all (the admission cache).
class LimitStore {
 public:
  virtual ~LimitStore() = default;
  // Creates or replaces the rule for (scope, scope_id, model).
  virtual Result<LimitRule> put(const Actor& actor, LimitScope scope, Id scope_id,
                                const std::string& model, const LimitValues& values) = 0;
  virtual Result<LimitRule> get(const Actor& actor, Id id) = 0;
  virtual Result<std::vector<LimitRule>> list_all(const Actor& actor) = 0;
  virtual Status remove(const Actor& actor, Id id) = 0;
};

// Usage records: appended in batches by the server's usage writer, never updated. Appending
// does not move the change counter (it is not configuration). An actor reads the rows it
// sees (Actor::sees on the row's user and organisation).
class UsageStore {
 public:
  virtual ~UsageStore() = default;
  // Appends all of `entries` in one transaction; assigns nothing back.
  virtual Status append(const Actor& actor, const std::vector<UsageEntry>& entries) = 0;
  // Records in id order.
  virtual Result<std::vector<UsageEntry>> list(const Actor& actor, const UsageQuery& query) = 0;
  // Sums over the records that match `query` (after_id and limit ignored), grouped by
  // `group_by` in that order; one row when it is empty. Rows sorted by their keys.
  virtual Result<std::vector<UsageTotal>> totals(const Actor& actor, const UsageQuery& query,
                                                 const std::vector<UsageGroup>& group_by) = 0;
  // Deletes records older than `before` (Unix ms); returns how many. All-tenants only.
  virtual Result<int64_t> remove_before(const Actor& actor, int64_t before) = 0;
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // The key's user must be visible to the actor.
  virtual Result<ApiKey> create(const Actor& actor, const NewKey& key) = 0;
  // Keys of `user_id`, newest first, revoked ones included.
  virtual Result<std::vector<ApiKey>> list(const Actor& actor, Id user_id) = 0;
  virtual Result<ApiKey> get(const Actor& actor, Id key_id) = 0;
  // Marks the key revoked at `now`; NOT_FOUND if unknown, invisible or already revoked.
  virtual Status revoke(const Actor& actor, Id key_id, int64_t now) = 0;
  // Every key that may authenticate at `now` (not revoked, not expired, user enabled).
  // Needs an all-tenants actor: it feeds the server's key cache.
  virtual Result<std::vector<KeyGrant>> list_grants(const Actor& actor, int64_t now) = 0;
};

// The audit log's rows, append-only: there is no update or delete. Reading needs an
// all-tenants actor; any actor may append (its own actions are recorded).
class AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Appends `entry`; ALREADY_EXISTS if its seq is taken. Call it inside Store::transaction
  // together with last(), so that no other writer slips in between.
  virtual Status append(const Actor& actor, const AuditEntry& entry) = 0;
  // The entry with the highest seq, or nullopt when the log is empty.
  virtual Result<std::optional<AuditEntry>> last(const Actor& actor) = 0;
  virtual Result<std::vector<AuditEntry>> list(const Actor& actor, const AuditQuery& query) = 0;
  virtual Status add_checkpoint(const Actor& actor, const AuditCheckpoint& checkpoint) = 0;
  // Checkpoints in seq order.
  virtual Result<std::vector<AuditCheckpoint>> checkpoints(const Actor& actor) = 0;
  // Retention (tenancy::AuditLog::prune_before, administrators only): deletes the entries up
  // to `seq` with the checkpoints before it (the one at `seq` anchors what is left). Returns
  // the entries deleted.
  virtual Result<int64_t> remove_through(const Actor& actor, int64_t seq) = 0;
  // Rows with a seq up to `seq` (or none): what a verification that checked the chain up to
  // `seq` must have seen, one entry a row (a table rebuilt without its key can hold two rows
  // with one seq, and paging by seq would read only one).
  virtual Result<int64_t> count_through(const Actor& actor, int64_t seq) = 0;
};

// Collections. Readable by the owner, by members of groups it is shared with and, when
// public, by everyone; an actor that may not read one gets NOT_FOUND. Actor::system() (the
// server's own ingestion) sees all. Administrators get no bypass: documents are the users'.
class CollectionStore {
 public:
  virtual ~CollectionStore() = default;
  // The owner is the actor; shares must name groups of the owner's organisation.
  virtual Result<Collection> create(const Actor& actor, const Collection& collection) = 0;
  virtual Result<Collection> get(const Actor& actor, Id id) = 0;
  // Every collection the actor may read, by id.
  virtual Result<std::vector<Collection>> list(const Actor& actor) = 0;
  virtual Result<CollectionAccess> access(const Actor& actor, Id id) = 0;
  // Owner only for visibility and shares; writers for name and description.
  virtual Result<Collection> update(const Actor& actor, Id id, const CollectionUpdate& update) = 0;
  // Owner only; deletes its documents and chunks (the caller deletes its files).
  virtual Status remove(const Actor& actor, Id id) = 0;
};

// Documents and their chunks, visible with their collection.
class DocumentStore {
 public:
  virtual ~DocumentStore() = default;
  // Needs write access to the collection; the document starts QUEUED.
  virtual Result<Document> create(const Actor& actor, const Document& document) = 0;
  virtual Result<Document> get(const Actor& actor, Id id) = 0;
  // Documents of a collection, by id, after `after_id`, at most `limit`.
  virtual Result<std::vector<Document>> list(const Actor& actor, Id collection_id, Id after_id,
                                             int64_t limit) = 0;
  // Needs write access to its collection; deletes its chunks.
  virtual Status remove(const Actor& actor, Id id) = 0;
  // Ingestion (Actor::system()): the status and what was learnt, in one write.
  virtual Status set_status(const Actor& actor, const Document& document) = 0;
  // Replaces the document's chunks (ids assigned, in seq order) in one transaction.
  virtual Result<std::vector<Chunk>> put_chunks(const Actor& actor, Id document_id,
                                                const std::vector<Chunk>& chunks) = 0;
  virtual Result<std::vector<Chunk>> chunks(const Actor& actor, Id document_id) = 0;
  // The chunks with these ids that the actor may read (missing ones are left out), in the
  // order asked.
  virtual Result<std::vector<Chunk>> chunks_by_id(const Actor& actor,
                                                  const std::vector<Id>& ids) = 0;
  // Documents in these states, oldest first (ingestion resumes them after a restart).
  virtual Result<std::vector<Document>> with_status(const Actor& actor,
                                                    const std::vector<DocumentStatus>& states) = 0;
  // Actor::system() only: the documents `user_id` uploaded, in any collection, by id (the
  // erasure of a deleted user's data).
  virtual Result<std::vector<Document>> owned_by(const Actor& actor, Id user_id) = 0;
};

// Files are their owner's alone: every call sees only the actor's own files (or all, for
// Actor::system()), whatever the actor's organisation role.
class FileStore {
 public:
  virtual ~FileStore() = default;
  // Owned by the actor; id and created_at are assigned.
  virtual Result<StoredFile> create(const Actor& actor, const StoredFile& file) = 0;
  virtual Result<StoredFile> get(const Actor& actor, Id id) = 0;
  // The actor's files with `purpose` ("" for any), newest first when `descending`, after
  // the file `after_id` (0: from the start) in that order, at most `limit`.
  virtual Result<std::vector<StoredFile>> list(const Actor& actor, const std::string& purpose,
                                               Id after_id, bool descending, int64_t limit) = 0;
  // Deletes the row; returns how many files (of anyone) still name the same bytes, so that
  // the caller deletes them from disk at 0.
  virtual Result<int64_t> remove(const Actor& actor, Id id) = 0;
};

// Fine-tuning jobs, their events and checkpoints. A job is its owner's (Actor::sees: the
// owner, an organisation-wide actor of its organisation, or all tenants); the worker acts as
// Actor::system(). Written without moving the change counter: no server caches them.
class FineTuningStore {
 public:
  virtual ~FineTuningStore() = default;
  // Owned by the actor; id and created_at are assigned.
  virtual Result<FineTuneJob> create(const Actor& actor, const FineTuneJob& job) = 0;
  virtual Result<FineTuneJob> get(const Actor& actor, Id id) = 0;
  // The jobs the actor sees, newest first, older than `before_id` (0: from the newest), at
  // most `limit`.
  virtual Result<std::vector<FineTuneJob>> list(const Actor& actor, Id before_id,
                                                int64_t limit) = 0;
  // Writes every field of `job` but its owner and created_at, if its current status is one
  // of `from`; FAILED_PRECONDITION naming the status otherwise (a cancelled job stays so).
  virtual Result<FineTuneJob> update(const Actor& actor, const FineTuneJob& job,
                                     const std::vector<FineTuneStatus>& from) = 0;
  // Jobs in these states, oldest first (the worker resumes them after a restart).
  virtual Result<std::vector<FineTuneJob>> with_status(
      const Actor& actor, const std::vector<FineTuneStatus>& states) = 0;
  virtual Result<FineTuneEvent> add_event(const Actor& actor, const FineTuneEvent& event) = 0;
  // The job's events, newest first, older than `before_id` (0: from the newest).
  virtual Result<std::vector<FineTuneEvent>> events(const Actor& actor, Id job_id, Id before_id,
                                                    int64_t limit) = 0;
  // Records a checkpoint; one per (job, step): a step recorded again (a resumed job writes
  // its checkpoint again) replaces the row and keeps its id.
  virtual Result<FineTuneCheckpoint> add_checkpoint(const Actor& actor,
                                                    const FineTuneCheckpoint& checkpoint) = 0;
  // The job's checkpoints, newest (highest step) first, older than `before_id` in that order.
  virtual Result<std::vector<FineTuneCheckpoint>> checkpoints(const Actor& actor, Id job_id,
                                                              Id before_id, int64_t limit) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual OrgStore& orgs() = 0;
  virtual RoleStore& roles() = 0;
  virtual UserStore& users() = 0;
  virtual KeyStore& keys() = 0;
  virtual AuditStore& audit() = 0;
  virtual GroupStore& groups() = 0;
  virtual LimitStore& limits() = 0;
  virtual UsageStore& usage() = 0;
  virtual CollectionStore& collections() = 0;
  virtual DocumentStore& documents() = 0;
  virtual FileStore& files() = 0;
  virtual FineTuningStore& fine_tuning() = 0;

  // Runs `body` in one transaction: all of its writes or none. Called inside another
  // transaction on the same thread, it nests (a savepoint) and commits with the outer one.
  virtual Status transaction(const std::function<Status()>& body) = 0;
  // Runs `body`'s reads on one snapshot of the database (writers elsewhere go on; this
  // connection's other users wait). Inside a transaction it just runs `body`.
  virtual Status read_snapshot(const std::function<Status()>& body) = 0;
  // A number that grows with every write; cheap enough to poll several times a second.
  virtual Result<int64_t> change_counter() = 0;
  // OK when the database answers and its schema is at the version this binary expects.
  virtual Status check_ready() = 0;
  // The schema version applied, and the one this binary expects.
  virtual Result<int64_t> schema_version() = 0;
  virtual int64_t expected_schema_version() const = 0;
};

// Opens (creating if needed) the SQLite store at `path` and applies pending migrations.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const Clock& clock);

}  // namespace socle::store
