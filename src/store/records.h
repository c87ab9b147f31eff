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
// principle 2): there is no unscoped query. An actor sees its own user's rows; with
// `org_wide` (a user manager) also every row of its organisation; with `all_tenants`
// everything (the operator on the data directory, the server's own start-up and caches,
// and administrators).
struct Actor {
  Id user_id = 0;
  Id org_id = 0;
  bool all_tenants = false;
  bool org_wide = false;

  static Actor system() { return Actor{0, 0, true, false}; }
  static Actor user(Id user_id, Id org_id) { return Actor{user_id, org_id, false, false}; }
  static Actor organisation(Id user_id, Id org_id) { return Actor{user_id, org_id, false, true}; }

  // True if a row owned by `owner` in `owner_org` is visible to this actor.
  bool sees(Id owner, Id owner_org) const {
    return all_tenants || owner == user_id || (org_wide && owner_org == org_id);
  }
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

// A change to a user; unset fields stay as they are.
struct UserUpdate {
  std::optional<Id> org_id;
  std::optional<Id> role_id;
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<bool> disabled;
};

// A named set of users of one organisation (collections are shared with groups).
struct Group {
  Id id = 0;
  Id org_id = 0;
  std::string name;
  std::string description;
  int64_t created_at = 0;
};

// What a limit rule applies to.
enum class LimitScope { ROLE, USER, ORGANISATION };

// The counters a limit rule may set. Unset: no limit; 0: no access.
struct LimitValues {
  std::optional<int64_t> requests_per_minute;
  std::optional<int64_t> requests_per_day;
  std::optional<int64_t> tokens_per_minute;  // prompt plus completion
  std::optional<int64_t> tokens_per_day;
  std::optional<int64_t> concurrent_requests;
};

// One limit rule: a role's limits, a user's override or an organisation's ceiling, for one
// public model name or for "*" (every model that has no rule of its own at that scope).
struct LimitRule {
  Id id = 0;
  LimitScope scope = LimitScope::ROLE;
  Id scope_id = 0;
  std::string model;
  LimitValues values;
  int64_t created_at = 0;
  int64_t updated_at = 0;
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
  Id role_id = 0;
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

// One model request, as usage accounting keeps it: never prompt or answer content.
struct UsageEntry {
  Id id = 0;         // assigned by the store
  int64_t time = 0;  // Unix milliseconds, when the request arrived
  std::string request_id;
  Id user_id = 0;
  Id key_id = 0;
  Id org_id = 0;
  std::string model;     // the public name asked for
  std::string provider;  // which provider answered ("" if none did)
  std::string endpoint;  // "/v1/chat/completions", ...
  int status = 0;        // HTTP status the client got
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double latency_ms = 0;
  double first_token_ms = 0;
  double energy_kwh = 0;
  double co2_g = 0;
};

// Filters for usage; unset filters match everything. `since`/`until` are Unix ms.
struct UsageQuery {
  std::optional<int64_t> since;  // time >= since
  std::optional<int64_t> until;  // time < until
  std::optional<Id> user_id;
  std::optional<Id> org_id;
  std::optional<std::string> model;
  std::optional<std::string> endpoint;
  Id after_id = 0;  // id > after_id (paging through records)
  int64_t limit = 1000;
};

// What usage can be grouped by; rows are summed over the others.
enum class UsageGroup { DAY, MODEL, USER, ORGANISATION };

// One aggregated row; the keys not grouped by are empty or 0.
struct UsageTotal {
  std::string day;  // "2026-11-30" (UTC) when grouped by day
  std::string model;
  Id user_id = 0;
  Id org_id = 0;
  int64_t requests = 0;
  int64_t errors = 0;  // status >= 400
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double energy_kwh = 0;
  double co2_g = 0;
};

// --- RAG ---------------------------------------------------------------------------------

// Who may read a collection: its owner, the members of the groups it is shared with, and
// for a public one everyone. Only the owner and groups with write access change it.
enum class Visibility { PRIVATE, PUBLIC };
enum class ShareAccess { READ, WRITE };

struct CollectionShare {
  Id group_id = 0;
  ShareAccess access = ShareAccess::READ;
};

struct Collection {
  Id id = 0;
  Id owner_id = 0;
  Id org_id = 0;  // the owner's organisation when it was created
  std::string name;
  std::string description;
  Visibility visibility = Visibility::PRIVATE;
  std::string embedding_model;  // "" for a lexical-only collection
  int64_t chunk_size = 512;     // in the embedding model's tokens, or characters
  int64_t chunk_overlap = 64;
  std::vector<CollectionShare> shares;
  int64_t documents = 0;  // counted when read
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// What a caller may do with a collection.
enum class CollectionAccess { NONE, READ, WRITE, OWNER };

// A change to a collection; unset fields stay as they are.
struct CollectionUpdate {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<Visibility> visibility;
  std::optional<std::vector<CollectionShare>> shares;
};

// A document's ingestion state. `ready` only once every chunk is indexed.
enum class DocumentStatus { QUEUED, PARSING, EMBEDDING, READY, FAILED };

struct Document {
  Id id = 0;
  Id collection_id = 0;
  Id owner_id = 0;  // who uploaded it
  std::string name;
  std::string content_type;
  int64_t bytes = 0;
  std::string sha256;    // hex
  std::string metadata;  // a JSON object given at upload
  DocumentStatus status = DocumentStatus::QUEUED;
  std::string error;  // why it failed
  int64_t page_count = 0;
  std::vector<int> pages_without_text;  // PDF pages with no text layer (scans)
  int64_t chunk_count = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Chunk {
  Id id = 0;
  Id document_id = 0;
  Id collection_id = 0;
  int64_t seq = 0;  // order within the document
  std::string text;
  int64_t page_start = 0;
  int64_t page_end = 0;
  std::vector<std::string> heading_path;
};

// A file uploaded for later use (OpenAI's /v1/files): fine-tuning data. Its bytes live in
// the data directory under their SHA-256; the row says who owns them.
struct StoredFile {
  Id id = 0;
  Id owner_id = 0;
  Id org_id = 0;
  std::string filename;
  std::string purpose;  // "fine-tune"
  int64_t bytes = 0;
  std::string sha256;  // hex, the name of its bytes on disk
  int64_t created_at = 0;
};

// --- Fine-tuning -------------------------------------------------------------------------

// A fine-tuning job's state, as OpenAI names them. SUCCEEDED, FAILED and CANCELLED are final.
enum class FineTuneStatus { VALIDATING_FILES, QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED };

// One fine-tuning job (OpenAI's fine_tuning.job). The JSON fields are kept as the API shows
// them; the store never interprets them.
struct FineTuneJob {
  Id id = 0;
  Id owner_id = 0;
  Id org_id = 0;
  std::string model;  // the base model's public name
  Id training_file = 0;
  Id validation_file = 0;  // 0: none
  std::string suffix;
  int64_t seed = 0;
  std::string method = "supervised";
  std::string requested;        // JSON object: the hyper-parameters asked for ("auto" kept)
  std::string hyperparameters;  // JSON object: the values used; "" until resolved
  std::string lora;             // JSON object: rank, alpha, target_modules as asked or resolved
  FineTuneStatus status = FineTuneStatus::VALIDATING_FILES;
  std::string error;  // JSON object {code, message, param}; "" when none
  int64_t created_at = 0;
  std::optional<int64_t> started_at;
  std::optional<int64_t> finished_at;
  int64_t trained_tokens = 0;
  std::string fine_tuned_model;             // "" until it succeeds
  std::string estimate;                     // JSON object; "" until the files are read
  std::string provenance;                   // JSON object; "" until the files are read
  std::string result_dir;                   // the job's folder under the data directory
  std::optional<int64_t> model_deleted_at;  // when its owner deleted fine_tuned_model
  std::vector<Id> shared_groups;            // groups fine_tuned_model is shared with
  std::vector<Id> result_files;             // the files of its step metrics (CSV)
};

// One line of a job's log (OpenAI's fine_tuning.job.event).
struct FineTuneEvent {
  Id id = 0;
  Id job_id = 0;
  int64_t created_at = 0;
  std::string level = "info";  // info, warn, error
  std::string message;
  std::string data;  // JSON object, "" for none
};

// A checkpoint a job wrote (OpenAI's fine_tuning.job.checkpoint).
struct FineTuneCheckpoint {
  Id id = 0;
  Id job_id = 0;
  int64_t step = 0;        // optimiser steps done
  std::string metrics;     // JSON object: train_loss, valid_loss, ...
  std::string model_name;  // fine_tuned_model_checkpoint
  std::string dir;
  int64_t created_at = 0;
};

}  // namespace socle::store
