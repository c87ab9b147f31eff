// The audit log: every control-plane change (users, keys, and later roles, groups, limits,
// models, collections, fine-tuning jobs), append-only and tamper-evident.
//
// Each entry's MAC is HMAC-SHA256, under a key kept outside the database (audit_key.h), over
// the entry's fields and the previous entry's MAC (32 zero bytes before the first), so the
// entries form one chain. Every AUDIT_CHECKPOINT_EVERY entries, and on demand, a checkpoint
// signs (seq, head MAC, time) with the same key. verify() then detects an edited entry, a
// deleted or inserted one, a reordering, a chain recomputed without the key, and a truncated
// tail up to the latest checkpoint it is given (stored, or exported earlier and kept apart).
//
// Retention (prune_before) deletes the oldest entries up to some seq P: it signs a checkpoint
// at P first, which anchors the chain that is left, and appends an `audit.prune` entry naming
// P. A log that starts after seq 1 verifies only with both: a checkpoint at the seq before its
// first entry, and a later entry (under the key) saying that the entries up to it were pruned.
//
// Recording a change is one line inside the transaction that makes it:
//
//   store.transaction([&]() -> Status {
//     SOCLE_ASSIGN_OR_RETURN(store::ApiKey key, store.keys().create(actor, new_key));
//     return audit.append(actor, audit_event("key.create", "api_key", key.id, {...}));
//   });
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/store.h"

namespace socle::tenancy {

// A checkpoint is signed automatically at every multiple of this seq: often enough that a
// truncation loses little unnoticed even without external checkpoints, rarely enough to
// cost nothing (control-plane changes are few).
inline constexpr int64_t AUDIT_CHECKPOINT_EVERY = 100;
inline constexpr size_t AUDIT_MAC_BYTES = 32;  // SHA-256's output

// What happened, without who and when (the log adds those).
struct AuditEvent {
  std::string action;       // "<target>.<verb>": "key.create", "user.disable", ...
  std::string target_type;  // "api_key", "user", "organisation", "role", ...
  std::string target_id;
  boost::json::object details;  // context for a reader; never a secret
};

AuditEvent audit_event(std::string_view action, std::string_view target_type, int64_t target_id,
                       boost::json::object details = {});

// The MAC of `entry` (its fields other than mac) chained to `prev_mac`.
std::string audit_entry_mac(std::string_view key, const store::AuditEntry& entry,
                            std::string_view prev_mac);
// The MAC of a checkpoint's seq, head_mac and time.
std::string audit_checkpoint_mac(std::string_view key, const store::AuditCheckpoint& checkpoint);

// The first thing found wrong, at the lowest seq where it shows.
struct AuditProblem {
  int64_t seq = 0;
  std::string what;
};

// The action of the entry that records a retention pruning; details.up_to_seq names the last
// seq deleted.
inline constexpr std::string_view AUDIT_PRUNE_ACTION = "audit.prune";

struct AuditVerifyReport {
  int64_t entries = 0;         // entries checked, up to and including the bad one
  int64_t head_seq = 0;        // the last seq read
  int64_t checkpoints = 0;     // checkpoints checked
  int64_t pruned_through = 0;  // entries 1 to this were deleted by retention (0: none)
  std::optional<AuditProblem> problem;
  bool ok() const { return !problem; }
};

// Checks a chain fed in seq order against the key and the given checkpoints. verify() runs it
// over the store; tests run it over vectors.
class AuditChainChecker {
 public:
  AuditChainChecker(std::string key, std::vector<store::AuditCheckpoint> checkpoints);
  // Checks the next entry; false once a problem is found (later entries are not looked at).
  bool add(const store::AuditEntry& entry);
  // The report, after the last entry: also checks that no checkpoint lies past the end.
  AuditVerifyReport finish();

 private:
  void fail(int64_t seq, std::string what);
  // Whether `checkpoint` carries its signature under the key; fails the check otherwise.
  bool signature_ok(const store::AuditCheckpoint& checkpoint);
  bool check_checkpoints_at(const store::AuditEntry& entry);
  // The first entry comes after seq 1: the chain starts from the signed checkpoint before it.
  bool start_after_pruning(const store::AuditEntry& entry);

  std::string key_;
  std::vector<store::AuditCheckpoint> checkpoints_;  // sorted by seq
  size_t next_checkpoint_ = 0;
  std::string prev_mac_;
  int64_t prev_seq_ = 0;
  bool started_ = false;
  bool prune_recorded_ = false;  // an audit.prune entry names report_.pruned_through
  AuditVerifyReport report_;
};

class AuditLog {
 public:
  // `key` is AUDIT_KEY_BYTES long (load_audit_key).
  AuditLog(store::Store& store, std::string key, const Clock& clock);

  // The log with the key in `key_path`. A missing key file is created when the log is empty;
  // when the log has entries it is FAILED_PRECONDITION (restore the key from its backup: a
  // new key would make every earlier entry unverifiable).
  static Result<std::unique_ptr<AuditLog>> open(store::Store& store, const std::string& key_path,
                                                const Clock& clock);

  // Appends what `actor` did (actor.user_id is recorded; 0 is the operator or the server).
  // Runs in a transaction that nests in the caller's: call it inside the transaction that
  // makes the change, so that both are committed or neither.
  Result<store::AuditEntry> append(const store::Actor& actor, const AuditEvent& event);

  // Signs and stores a checkpoint of the current head. FAILED_PRECONDITION on an empty log.
  Result<store::AuditCheckpoint> checkpoint();

  // Checks every entry and every stored checkpoint, and `external` ones kept elsewhere.
  Result<AuditVerifyReport> verify(const std::vector<store::AuditCheckpoint>& external = {});

  // Retention: verifies the whole log (FAILED_PRECONDITION, deleting nothing, if it is
  // damaged), then deletes the entries older than `time` (Unix seconds) from its start,
  // always keeping the newest, in one transaction that signs a checkpoint at the last one
  // deleted and appends an `audit.prune` entry (by `actor`) naming it. Returns the number
  // deleted (0: nothing was old enough, and nothing is written).
  Result<int64_t> prune_before(const store::Actor& actor, int64_t time);

 private:
  // verify(), calling `accepted` with each entry found good, in seq order.
  Result<AuditVerifyReport> check_all(
      const std::vector<store::AuditCheckpoint>& external,
      const std::function<void(const store::AuditEntry&)>& accepted);

  store::Store& store_;
  std::string key_;
  const Clock& clock_;
};

// The JSON shapes of `socle audit export`, GET /v1/admin/audit and checkpoint files. MACs are
// lowercase hex.
boost::json::object audit_entry_json(const store::AuditEntry& entry);
boost::json::object audit_checkpoint_json(const store::AuditCheckpoint& checkpoint);
// Reads what audit_checkpoint_json wrote; INVALID_ARGUMENT naming the field otherwise.
Result<store::AuditCheckpoint> audit_checkpoint_from_json(std::string_view text);

}  // namespace socle::tenancy
