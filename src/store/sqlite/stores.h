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

 private:
  Connection& c_;
};

}  // namespace socle::store::sqlite
