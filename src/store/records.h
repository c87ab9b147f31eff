// The rows socle keeps about identity: organisations, roles, users and API keys, the audit
// log, and the Actor on whose behalf every store call is made.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace socle::store {

using Id = int64_t;

// Who is calling. Every function that reads or writes tenant data takes one (DESIGN.md,
// principle 2): there is no unscoped query. An actor without `all_tenants` sees only its
// own user's rows; `all_tenants` is for the operator (the CLI on the data directory, the
// server's own start-up and caches) and for administrators.
struct Actor {
  Id user_id = 0;
  Id org_id = 0;
  bool all_tenants = false;

  static Actor system() { return Actor{0, 0, true}; }
  static Actor user(Id user_id, Id org_id) { return Actor{user_id, org_id, false}; }
};

struct Organisation {
  Id id = 0;
  std::string name;
  int64_t created_at = 0;  // Unix seconds
};

struct Role {
  Id id = 0;
  std::string name;
  std::vector<std::string> permissions;
  int64_t created_at = 0;
};

struct User {
  Id id = 0;
  Id org_id = 0;
  Id role_id = 0;
  std::string name;
  std::string email;
  bool disabled = false;
  int64_t created_at = 0;
};

struct NewUser {
  Id org_id = 0;
  Id role_id = 0;
  std::string name;
  std::string email;
};

struct ApiKey {
  Id id = 0;
  Id user_id = 0;
  std::string name;
  std::string prefix;  // the first characters of the secret, to recognise it in lists
  int64_t created_at = 0;
  std::optional<int64_t> expires_at;
  std::optional<int64_t> revoked_at;
};

struct NewKey {
  Id user_id = 0;
  std::string name;
  std::string hash;  // SHA-256 of the secret, 32 raw bytes; the secret itself is never stored
  std::string prefix;
  std::optional<int64_t> expires_at;
};

// A key that may authenticate, with what the request path needs about its owner.
struct KeyGrant {
  std::string hash;
  Id key_id = 0;
  Id user_id = 0;
  Id org_id = 0;
  std::string user_name;
  std::string role_name;
  std::vector<std::string> permissions;
  std::optional<int64_t> expires_at;
};

// One audit log entry as stored. tenancy/audit.h computes `mac` and checks the chain; the
// store keeps the rows and never interprets them.
struct AuditEntry {
  int64_t seq = 0;          // 1, 2, 3, ... with no gap
  int64_t time = 0;         // Unix seconds
  Id actor_user_id = 0;     // 0: the operator (CLI on the data directory) or the server itself
  std::string action;       // "key.create", "user.disable", ...
  std::string target_type;  // "api_key", "user", ...
  std::string target_id;    // the target's id, as text (models are named, not numbered)
  std::string details;      // a JSON object, never a secret
  std::string mac;          // HMAC-SHA256, 32 raw bytes
};

// A signed statement that the log held `seq` entries whose last MAC was `head_mac`.
struct AuditCheckpoint {
  int64_t seq = 0;
  std::string head_mac;  // 32 raw bytes: the MAC of entry `seq`
  int64_t time = 0;      // Unix seconds
  std::string mac;       // HMAC-SHA256 over the three fields above, 32 raw bytes
};

// Filters for reading the audit log; unset filters match everything. Entries come in seq
// order, at most `limit` of them.
struct AuditQuery {
  std::optional<Id> actor_user_id;
  std::optional<std::string> action;
  std::optional<int64_t> since;  // time >= since
  std::optional<int64_t> until;  // time < until
  int64_t after_seq = 0;         // seq > after_seq
  int64_t limit = 1000;
};

}  // namespace socle::store
