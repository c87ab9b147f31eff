#include "tenancy/audit.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <limits>

#include "base/hash.h"
#include "base/json.h"
#include "tenancy/audit_key.h"

namespace socle::tenancy {
namespace {

// Distinct prefixes so that an entry's MAC can never pass for a checkpoint's, or the reverse.
constexpr std::string_view ENTRY_DOMAIN = "socle.audit.entry.v1";
constexpr std::string_view CHECKPOINT_DOMAIN = "socle.audit.checkpoint.v1";
// verify() reads the log in pages of this many entries, so that its memory does not grow with
// the log.
constexpr int64_t VERIFY_PAGE = 1000;

// Length-prefixed fields: no two different field lists can encode to the same bytes.
void put_int(std::string& out, int64_t v) {
  auto u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((u >> shift) & 0xFF));
}

void put_bytes(std::string& out, std::string_view bytes) {
  put_int(out, static_cast<int64_t>(bytes.size()));
  out.append(bytes);
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  std::string out(AUDIT_MAC_BYTES, '\0');
  unsigned int len = 0;
  const unsigned char* ok =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(),
           reinterpret_cast<unsigned char*>(out.data()), &len);
  SOCLE_CHECK(ok != nullptr && len == AUDIT_MAC_BYTES, "HMAC-SHA256 with OpenSSL cannot fail");
  return out;
}

Result<std::string> from_hex(std::string_view hex, const char* field) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() != 2 * AUDIT_MAC_BYTES) {
    return invalid_argument(std::string("'") + field + "' must be " +
                                std::to_string(2 * AUDIT_MAC_BYTES) + " hex digits",
                            field);
  }
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return invalid_argument(std::string("'") + field + "' is not hex", field);
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string genesis_mac() {
  return std::string(AUDIT_MAC_BYTES, '\0');
}

}  // namespace

AuditEvent audit_event(std::string_view action, std::string_view target_type, int64_t target_id,
                       boost::json::object details) {
  return AuditEvent{std::string(action), std::string(target_type), std::to_string(target_id),
                    std::move(details)};
}

std::string audit_entry_mac(std::string_view key, const store::AuditEntry& e,
                            std::string_view prev_mac) {
  std::string m;
  put_bytes(m, ENTRY_DOMAIN);
  put_int(m, e.seq);
  put_int(m, e.time);
  put_int(m, e.actor_user_id);
  put_bytes(m, e.action);
  put_bytes(m, e.target_type);
  put_bytes(m, e.target_id);
  put_bytes(m, e.details);
  put_bytes(m, prev_mac);
  return hmac_sha256(key, m);
}

std::string audit_checkpoint_mac(std::string_view key, const store::AuditCheckpoint& cp) {
  std::string m;
  put_bytes(m, CHECKPOINT_DOMAIN);
  put_int(m, cp.seq);
  put_bytes(m, cp.head_mac);
  put_int(m, cp.time);
  return hmac_sha256(key, m);
}

// ---- checking ----

AuditChainChecker::AuditChainChecker(std::string key,
                                     std::vector<store::AuditCheckpoint> checkpoints)
    : key_(std::move(key)), checkpoints_(std::move(checkpoints)), prev_mac_(genesis_mac()) {
  std::stable_sort(checkpoints_.begin(), checkpoints_.end(),
                   [](const auto& a, const auto& b) { return a.seq < b.seq; });
}

void AuditChainChecker::fail(int64_t seq, std::string what) {
  if (!report_.problem) report_.problem = AuditProblem{seq, std::move(what)};
}

bool AuditChainChecker::signature_ok(const store::AuditCheckpoint& cp) {
  if (cp.mac.size() == AUDIT_MAC_BYTES &&
      CRYPTO_memcmp(cp.mac.data(), audit_checkpoint_mac(key_, cp).data(), AUDIT_MAC_BYTES) == 0) {
    return true;
  }
  fail(cp.seq, "the checkpoint at seq " + std::to_string(cp.seq) +
                   " has a bad signature: it was edited or forged");
  return false;
}

bool AuditChainChecker::start_after_pruning(const store::AuditEntry& e) {
  const int64_t anchor = e.seq - 1;
  // Checkpoints of pruned entries name nothing left to compare with.
  while (next_checkpoint_ < checkpoints_.size() && checkpoints_[next_checkpoint_].seq < anchor)
    ++next_checkpoint_;
  bool anchored = false;
  while (next_checkpoint_ < checkpoints_.size() && checkpoints_[next_checkpoint_].seq == anchor) {
    const auto& cp = checkpoints_[next_checkpoint_++];
    ++report_.checkpoints;
    if (!signature_ok(cp)) return false;
    if (anchored && cp.head_mac != prev_mac_) {
      fail(cp.seq, "two checkpoints at seq " + std::to_string(cp.seq) + " disagree");
      return false;
    }
    anchored = true;
    prev_mac_ = cp.head_mac;
  }
  if (!anchored) {
    fail(1, "entries 1 to " + std::to_string(anchor) + " are missing: the log starts at seq " +
                std::to_string(e.seq) + " with no signed checkpoint at seq " +
                std::to_string(anchor) + " (entries deleted from its start)");
    return false;
  }
  prev_seq_ = anchor;
  report_.pruned_through = anchor;
  return true;
}

bool AuditChainChecker::add(const store::AuditEntry& e) {
  if (report_.problem) return false;
  if (!started_) {
    started_ = true;
    if (e.seq > 1 && !start_after_pruning(e)) return false;
  }
  int64_t expected = prev_seq_ + 1;
  // Checkpoints at earlier seqs were checked at their entries; one left over names a seq below
  // 1, which no entry can have.
  if (next_checkpoint_ < checkpoints_.size() && checkpoints_[next_checkpoint_].seq < expected) {
    const auto& cp = checkpoints_[next_checkpoint_];
    fail(cp.seq, "the checkpoint at seq " + std::to_string(cp.seq) +
                     " names no entry of the chain: it was forged");
    return false;
  }
  if (e.seq != expected) {
    fail(expected, "entry " + std::to_string(expected) + " is missing or out of place: after seq " +
                       std::to_string(prev_seq_) + " comes seq " + std::to_string(e.seq) +
                       " (entries deleted, inserted or renumbered)");
    return false;
  }
  ++report_.entries;
  report_.head_seq = e.seq;
  if (e.mac.size() != AUDIT_MAC_BYTES ||
      CRYPTO_memcmp(e.mac.data(), audit_entry_mac(key_, e, prev_mac_).data(), AUDIT_MAC_BYTES) !=
          0) {
    fail(e.seq, "entry " + std::to_string(e.seq) +
                    "'s MAC does not match: its fields were edited, the entries before it were "
                    "reordered or replaced, or it was written without the audit key");
    return false;
  }
  if (!check_checkpoints_at(e)) return false;
  if (report_.pruned_through > 0 && e.action == AUDIT_PRUNE_ACTION) {
    Result<boost::json::value> details = json::parse(e.details);
    const boost::json::object* o = details.is_ok() ? details->if_object() : nullptr;
    const boost::json::value* up_to = o != nullptr ? o->if_contains("up_to_seq") : nullptr;
    if (up_to != nullptr && up_to->is_int64() && up_to->as_int64() == report_.pruned_through)
      prune_recorded_ = true;
  }
  prev_mac_ = e.mac;
  prev_seq_ = e.seq;
  return true;
}

bool AuditChainChecker::check_checkpoints_at(const store::AuditEntry& e) {
  while (next_checkpoint_ < checkpoints_.size() && checkpoints_[next_checkpoint_].seq == e.seq) {
    const auto& cp = checkpoints_[next_checkpoint_++];
    ++report_.checkpoints;
    if (!signature_ok(cp)) return false;
    if (cp.head_mac != e.mac) {
      fail(e.seq, "entry " + std::to_string(e.seq) + " differs from the checkpoint signed at " +
                      std::to_string(cp.time) + ": the log was rewritten from there on");
      return false;
    }
  }
  return true;
}

AuditVerifyReport AuditChainChecker::finish() {
  if (!report_.problem && report_.pruned_through > 0 && !prune_recorded_) {
    // A signed checkpoint is not enough: one is signed every AUDIT_CHECKPOINT_EVERY entries,
    // so whoever deletes entries up to one of them would otherwise pass for retention.
    fail(1, "entries 1 to " + std::to_string(report_.pruned_through) + " are missing and no " +
                std::string(AUDIT_PRUNE_ACTION) +
                " entry records their deletion by retention (entries deleted from its start)");
  }
  if (!report_.problem && next_checkpoint_ < checkpoints_.size()) {
    // The latest checkpoint first: it tells how much is missing.
    const auto& cp = checkpoints_.back();
    if (signature_ok(cp)) {
      fail(prev_seq_ + 1, "entries " + std::to_string(prev_seq_ + 1) + " to " +
                              std::to_string(cp.seq) + " are missing: a checkpoint signed at " +
                              std::to_string(cp.time) + " covers seq " + std::to_string(cp.seq) +
                              " but the log ends at seq " + std::to_string(prev_seq_) +
                              " (truncated tail)");
    }
  }
  return report_;
}

// ---- the log ----

AuditLog::AuditLog(store::Store& store, std::string key, const Clock& clock)
    : store_(store), key_(std::move(key)), clock_(clock) {
  SOCLE_CHECK(key_.size() == AUDIT_KEY_BYTES, "the audit key was checked when it was loaded");
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(store::Store& store, const std::string& key_path,
                                                 const Clock& clock) {
  Result<std::string> key = load_audit_key(key_path);
  if (!key.is_ok() && key.status().code() == StatusCode::NOT_FOUND) {
    SOCLE_ASSIGN_OR_RETURN(std::optional<store::AuditEntry> head,
                           store.audit().last(store::Actor::system()));
    if (head) {
      return Status{StatusCode::FAILED_PRECONDITION,
                    "the audit log has " + std::to_string(head->seq) +
                        " entries but its key file " + key_path +
                        " is missing; restore it from its backup (a new key would leave every "
                        "earlier entry unverifiable)"};
    }
    key = create_audit_key(key_path);
  }
  SOCLE_RETURN_IF_ERROR(key.status_or_ok());
  return std::make_unique<AuditLog>(store, std::move(key).value(), clock);
}

Result<store::AuditEntry> AuditLog::append(const store::Actor& actor, const AuditEvent& event) {
  store::AuditEntry e;
  e.actor_user_id = actor.user_id;
  e.action = event.action;
  e.target_type = event.target_type;
  e.target_id = event.target_id;
  e.details = json::dump(event.details);
  // The transaction holds the write lock from its start (BEGIN IMMEDIATE, or the caller's), so
  // no other process can append between reading the head and writing after it.
  Status s = store_.transaction([&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(std::optional<store::AuditEntry> head, store_.audit().last(actor));
    e.seq = head ? head->seq + 1 : 1;
    e.time = clock_.unix_seconds();
    e.mac = audit_entry_mac(key_, e, head ? head->mac : genesis_mac());
    SOCLE_RETURN_IF_ERROR(store_.audit().append(actor, e));
    if (e.seq % AUDIT_CHECKPOINT_EVERY != 0) return Status::ok();
    store::AuditCheckpoint cp{e.seq, e.mac, e.time, {}};
    cp.mac = audit_checkpoint_mac(key_, cp);
    return store_.audit().add_checkpoint(actor, cp);
  });
  SOCLE_RETURN_IF_ERROR(s);
  return e;
}

Result<store::AuditCheckpoint> AuditLog::checkpoint() {
  store::Actor sys = store::Actor::system();
  store::AuditCheckpoint cp;
  Status s = store_.transaction([&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(std::optional<store::AuditEntry> head, store_.audit().last(sys));
    if (!head) return {StatusCode::FAILED_PRECONDITION, "the audit log is empty: nothing to sign"};
    cp = {head->seq, head->mac, clock_.unix_seconds(), {}};
    cp.mac = audit_checkpoint_mac(key_, cp);
    return store_.audit().add_checkpoint(sys, cp);
  });
  SOCLE_RETURN_IF_ERROR(s);
  return cp;
}

Result<int64_t> AuditLog::prune_before(const store::Actor& actor, int64_t time) {
  store::Actor sys = store::Actor::system();
  // The whole log is verified first, and the cut taken from verified entries: the times are
  // under the MAC, so no one without the key can make retention delete what is not old, or
  // delete entries of theirs and have retention sign over the gap.
  int64_t head_seq = 0;
  int64_t run_last = 0;  // the last of the entries older than `time` from the start
  bool in_run = true;
  std::string run_last_mac;
  std::string before_head_mac;  // the MAC of the entry before the newest
  std::string head_mac;
  SOCLE_ASSIGN_OR_RETURN(AuditVerifyReport report, check_all({}, [&](const store::AuditEntry& e) {
                           before_head_mac = head_mac;
                           head_mac = e.mac;
                           head_seq = e.seq;
                           in_run = in_run && e.time < time;
                           if (in_run) {
                             run_last = e.seq;
                             run_last_mac = e.mac;
                           }
                         }));
  if (!report.ok()) {
    return Status{StatusCode::FAILED_PRECONDITION,
                  "the audit log fails verification at seq " + std::to_string(report.problem->seq) +
                      " (" + report.problem->what +
                      "): retention deletes nothing from a damaged log; see socle audit verify"};
  }
  // The newest entry stays: the prune entry chains to it.
  const int64_t through = std::min(run_last, head_seq - 1);
  if (through < 1) return int64_t{0};
  const std::string& through_mac = through == run_last ? run_last_mac : before_head_mac;
  int64_t removed = 0;
  Status s = store_.transaction([&]() -> Status {
    store::AuditQuery q;
    q.after_seq = through - 1;
    q.limit = 1;
    SOCLE_ASSIGN_OR_RETURN(std::vector<store::AuditEntry> anchor, store_.audit().list(sys, q));
    if (anchor.empty() || anchor.front().seq != through || anchor.front().mac != through_mac) {
      return Status{StatusCode::FAILED_PRECONDITION,
                    "audit entry " + std::to_string(through) +
                        " changed while retention verified the log; nothing deleted"};
    }
    store::AuditCheckpoint cp{through, through_mac, clock_.unix_seconds(), {}};
    cp.mac = audit_checkpoint_mac(key_, cp);
    SOCLE_RETURN_IF_ERROR(store_.audit().add_checkpoint(sys, cp));
    SOCLE_ASSIGN_OR_RETURN(removed, store_.audit().remove_through(sys, through));
    AuditEvent pruned{std::string(AUDIT_PRUNE_ACTION),
                      "audit_log",
                      std::to_string(through),
                      {{"up_to_seq", through}, {"entries", removed}, {"older_than", time}}};
    return append(actor, pruned).status_or_ok();
  });
  SOCLE_RETURN_IF_ERROR(s);
  return removed;
}

Result<AuditVerifyReport> AuditLog::verify(const std::vector<store::AuditCheckpoint>& external) {
  // One snapshot: a pruning or an append committed meanwhile (by a server running on the
  // same data) is not mistaken for entries gone.
  AuditVerifyReport report;
  SOCLE_RETURN_IF_ERROR(store_.read_snapshot([&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(report, check_all(external, {}));
    return Status::ok();
  }));
  return report;
}

Result<AuditVerifyReport> AuditLog::check_all(
    const std::vector<store::AuditCheckpoint>& external,
    const std::function<void(const store::AuditEntry&)>& accepted) {
  store::Actor sys = store::Actor::system();
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::AuditCheckpoint> cps, store_.audit().checkpoints(sys));
  cps.insert(cps.end(), external.begin(), external.end());
  AuditChainChecker checker(key_, std::move(cps));
  store::AuditQuery q;
  q.limit = VERIFY_PAGE;
  // From the lowest possible seq: a row renumbered below 1 must show up, not hide.
  q.after_seq = std::numeric_limits<int64_t>::min();
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(std::vector<store::AuditEntry> page, store_.audit().list(sys, q));
    for (const auto& e : page) {
      if (!checker.add(e)) return checker.finish();
      if (accepted) accepted(e);
    }
    if (static_cast<int64_t>(page.size()) < q.limit) break;
    q.after_seq = page.back().seq;
  }
  AuditVerifyReport report = checker.finish();
  if (!report.ok() || report.entries == 0) return report;
  // Every row was read: one that shares its seq with another sits out of the pages.
  SOCLE_ASSIGN_OR_RETURN(int64_t rows, store_.audit().count_through(sys, report.head_seq));
  if (rows != report.entries) {
    report.problem = AuditProblem{
        report.head_seq, "the log holds " + std::to_string(rows) + " rows up to seq " +
                             std::to_string(report.head_seq) + " but its chain has " +
                             std::to_string(report.entries) +
                             " entries: rows were added outside the chain (a seq given twice, or "
                             "none)"};
  }
  return report;
}

// ---- JSON ----

boost::json::object audit_entry_json(const store::AuditEntry& e) {
  boost::json::object o{{"object", "audit.entry"},
                        {"id", e.seq},
                        {"seq", e.seq},
                        {"time", e.time},
                        {"actor_user_id", e.actor_user_id},
                        {"action", e.action},
                        {"target_type", e.target_type},
                        {"target_id", e.target_id},
                        {"details", boost::json::object()},
                        {"mac", to_hex(e.mac)}};
  Result<boost::json::value> details = json::parse(e.details);
  // Stored details that no longer parse (a tampered row) are shown as they are.
  if (details.is_ok()) {
    o["details"] = std::move(details).value();
  } else {
    o["details"] = e.details;
  }
  return o;
}

boost::json::object audit_checkpoint_json(const store::AuditCheckpoint& cp) {
  return {{"object", "audit.checkpoint"},
          {"seq", cp.seq},
          {"time", cp.time},
          {"head_mac", to_hex(cp.head_mac)},
          {"mac", to_hex(cp.mac)}};
}

Result<store::AuditCheckpoint> audit_checkpoint_from_json(std::string_view text) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object o, json::parse_object(text));
  std::optional<int64_t> seq;
  std::optional<int64_t> time;
  std::optional<std::string> head_mac;
  std::optional<std::string> mac;
  SOCLE_RETURN_IF_ERROR(json::get_int(o, "seq", true, &seq));
  SOCLE_RETURN_IF_ERROR(json::get_int(o, "time", true, &time));
  SOCLE_RETURN_IF_ERROR(json::get_string(o, "head_mac", true, &head_mac));
  SOCLE_RETURN_IF_ERROR(json::get_string(o, "mac", true, &mac));
  store::AuditCheckpoint cp{*seq, {}, *time, {}};
  SOCLE_ASSIGN_OR_RETURN(cp.head_mac, from_hex(*head_mac, "head_mac"));
  SOCLE_ASSIGN_OR_RETURN(cp.mac, from_hex(*mac, "mac"));
  return cp;
}

}  // namespace socle::tenancy
