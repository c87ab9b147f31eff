// Admission against per-model limits, in memory. Every model request is admitted before its
// work starts (Limiter::admit reserves a request and its tokens) and settled after with the
// real token count (Admission::settle). Nothing here reads the store: the rules arrive as an
// immutable LimitTable that the owner swaps in when they change, and the time comes from an
// injectable Clock.
//
// Which limits apply to a request for model M by user U (role R) of organisation O:
//   - the user's limits: the most specific of U's rule for M, U's rule for "*", R's rule for
//     M, R's rule for "*" applies, whole (its unset counters are unlimited even if a less
//     specific rule sets them);
//   - the organisation's ceiling: O's rule for M, else O's rule for "*".
// Both apply at once; a request is admitted only if every counter of both has room. Counters
// are per model: a "*" rule gives every model its own counters with that value. The user's
// counters are kept per (U, M) and the ceiling's per (O, M).
//
// Windows are fixed and in UTC: the minute floor(unix_ms / 60000) and the day
// floor(unix_ms / 86400000) of clock.unix_ms(). A counter whose window is past starts again
// at 0. The concurrency counter holds the requests admitted and not yet settled.
//
// In each LimitValues, an unset counter is unlimited and 0 means no access to the model.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "store/records.h"
#include "store/store.h"

namespace socle::tenancy {

namespace detail {

// A map keyed by (kind, id, model name) that is looked up with a string_view, without
// building a key string on each request.
struct ModelKey {
  int kind = 0;
  int64_t id = 0;
  std::string model;
};
struct ModelKeyView {
  int kind = 0;
  int64_t id = 0;
  std::string_view model;
};
struct ModelKeyHash {
  using is_transparent = void;
  size_t operator()(const ModelKeyView& k) const;
  size_t operator()(const ModelKey& k) const {
    return (*this)(ModelKeyView{k.kind, k.id, k.model});
  }
};
struct ModelKeyEqual {
  using is_transparent = void;
  static ModelKeyView view(const ModelKey& k) { return {k.kind, k.id, k.model}; }
  static ModelKeyView view(const ModelKeyView& k) { return k; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    ModelKeyView x = view(a), y = view(b);
    return x.kind == y.kind && x.id == y.id && x.model == y.model;
  }
};
template <typename Value>
using ModelKeyMap = std::unordered_map<ModelKey, Value, ModelKeyHash, ModelKeyEqual>;

}  // namespace detail

// An immutable snapshot of every limit rule, indexed for lookups on each request (one hash
// lookup per level tried, no allocation).
class LimitTable {
 public:
  // A later rule with the same (scope, scope_id, model) replaces an earlier one.
  explicit LimitTable(std::vector<store::LimitRule> rules);

  // The values that apply to a user for `model`: the first of the user's rule for `model`,
  // the user's rule for "*", the role's rule for `model`, the role's rule for "*".
  // nullopt when none exists (no limit at all).
  std::optional<store::LimitValues> for_user(store::Id user_id, store::Id role_id,
                                             std::string_view model) const;
  // The organisation's ceiling for `model`: its rule for `model`, else its rule for "*";
  // nullopt when none exists.
  std::optional<store::LimitValues> for_org(store::Id org_id, std::string_view model) const;

  size_t size() const { return rules_.size(); }

 private:
  const store::LimitValues* find(store::LimitScope scope, store::Id id,
                                 std::string_view model) const;

  detail::ModelKeyMap<store::LimitValues> rules_;  // (scope, scope_id, model) -> values
};

// What a request asks to be admitted for.
struct AdmissionRequest {
  store::Id user_id = 0;
  store::Id org_id = 0;
  store::Id role_id = 0;
  std::string model;   // the public model name
  int64_t tokens = 0;  // the reservation: prompt estimate + max completion tokens (< 0 reads 0)
};

// The state reported in OpenAI's x-ratelimit-* headers. For requests and for tokens, the
// most constraining window among those that have a limit (the user's and the organisation's,
// per minute and per day): the one with the least remaining; on a tie, the one that resets
// later. Unset when no such limit applies.
struct RateState {
  struct Window {
    int64_t limit = 0;
    int64_t remaining = 0;  // after this admission when admitted; now, when refused
    int64_t reset_ms = 0;   // until the window resets, in milliseconds (> 0)
  };
  std::optional<Window> requests;
  std::optional<Window> tokens;
};

// A reset duration the way OpenAI writes it: "250ms" under a second, else whole seconds
// rounded up, as "1s", "59s", "6m0s", "1h2m3s". `ms` <= 0 reads "0s".
std::string format_reset(int64_t ms);

// The headers for `state`, lower-case names, in this order and only for windows that are
// set: x-ratelimit-limit-requests, x-ratelimit-remaining-requests,
// x-ratelimit-reset-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens,
// x-ratelimit-reset-tokens.
std::vector<std::pair<std::string, std::string>> rate_headers(const RateState& state);

// Counters for one (user or organisation, model). Internal to the Limiter; here only so that
// an Admission can name the counters it holds.
struct LimitCounter {
  struct Window {
    int64_t index = -1;  // minute or day number since the epoch
    int64_t requests = 0;
    int64_t tokens = 0;
  };
  Window minute;
  Window day;
  int64_t concurrent = 0;  // admitted, not yet settled
};

class Limiter;

// The ticket of an admitted request: move-only, and may be settled or dropped on any thread.
// The Limiter that issued it must outlive it.
class Admission {
 public:
  Admission() = default;
  Admission(Admission&& other) noexcept;
  Admission& operator=(Admission&& other) noexcept;
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;
  // Without settle(): releases the concurrency slot and keeps the reservation as charged
  // (an abandoned or failed request still counts).
  ~Admission();

  // Replaces the reservation with `actual_tokens` (prompt plus completion; < 0 reads 0) in
  // the windows the reservation was charged to, where they are still current: a window that
  // has rolled over since is left alone (the new window is charged nothing for this request).
  // No counter goes below 0. Releases the concurrency slot. Later calls do nothing.
  void settle(int64_t actual_tokens);

  // True while the ticket holds counters: admitted under some limit and not yet settled.
  // An admission with no limit to count against holds none.
  bool holds_counters() const { return limiter_ != nullptr; }
  // The tokens reserved at admission (0 once settled or when it holds no counters).
  int64_t reserved_tokens() const { return reserved_; }

 private:
  friend class Limiter;
  void release(std::optional<int64_t> actual_tokens);

  Limiter* limiter_ = nullptr;
  LimitCounter* user_ = nullptr;  // the user's counters, or nullptr if no user limit applied
  LimitCounter* org_ = nullptr;   // the organisation's, or nullptr
  int64_t reserved_ = 0;
  int64_t minute_ = 0;  // the windows the reservation was charged to
  int64_t day_ = 0;
};

// Why a request was refused; the API layer picks the HTTP status from it.
enum class Refusal {
  NONE,                   // admitted
  NO_ACCESS,              // a limit of 0 applies: the model is not open to this user
  RESERVATION_TOO_LARGE,  // req.tokens alone exceeds a tokens limit: lower max_tokens
  LIMIT_REACHED,          // a counter is full: retry after retry_after_s
};

// The answer to an admission request.
struct Verdict {
  bool admitted = false;
  Refusal refusal = Refusal::NONE;
  // When refused: which limit, whose ("your" or "your organisation's"), and what to do, e.g.
  // "rate limit reached: requests per minute for model 'x' (your limit: 5); retry in 12s",
  // "no access to model 'x' (your organisation's limit of requests per day is 0); ask an
  // administrator for access", "the request's reservation (1500 tokens: prompt plus max
  // completion tokens) by itself exceeds your limit of tokens per minute for model 'x'
  // (limit 1000); lower max_tokens or shorten the prompt".
  std::string message;
  // When refused, >= 1: LIMIT_REACHED, until the full counter frees (the window's end, or 1
  // for concurrency); NO_ACCESS, until the day's window ends; RESERVATION_TOO_LARGE, until
  // that limit's window ends (retrying the same request cannot succeed for these two).
  int64_t retry_after_s = 0;
  // Set when admitted and for LIMIT_REACHED; empty for the other refusals, which are decided
  // from the rules alone without reading a counter.
  RateState rate;
  // rate_headers(rate), plus "retry-after" (retry_after_s) when refused.
  std::vector<std::pair<std::string, std::string>> headers;
  Admission ticket;  // when admitted
};

// Counts requests and tokens per (user, model) and (organisation, model) and admits or
// refuses against the current LimitTable. Thread-safe. A request with no applicable limit is
// admitted with an atomic load of the table and a few hash lookups: no lock, no counter, no
// headers. Otherwise the checks and increments of all of a request's counters happen under
// one lock, all or none.
//
// Counters that hold no concurrency and no count for the current day are dropped by sweep(),
// which admit() also runs whenever the number of counters has doubled since the last sweep,
// so an owner need not call it (it may, e.g. once a minute, to give memory back sooner).
// Memory is thus bounded by about twice the (user or organisation, model) pairs used in a day.
//
// The Limiter must outlive every Admission it issued (checked at destruction).
class Limiter {
 public:
  explicit Limiter(const Clock& clock);
  ~Limiter();
  Limiter(const Limiter&) = delete;
  Limiter& operator=(const Limiter&) = delete;

  // Replaces the rules (nullptr: no limits). Counters and tickets in flight are kept: a
  // changed limit applies to the counts already made in the current windows.
  void set_table(std::shared_ptr<const LimitTable> table);

  // Admits `req` and charges one request and req.tokens to every applicable counter, or
  // refuses it and charges nothing. Refusals, in order: a limit of 0 ("no access to model");
  // a token reservation larger than a tokens limit itself (lowering max_tokens is the fix);
  // otherwise a full counter. When several counters are full, the message names the one
  // that frees last and retry_after_s is its wait (1 s for concurrency).
  // req.model must be a model the gateway serves, checked before admission: under a "*" rule
  // every distinct name asked for gets counters of its own until the day ends.
  Verdict admit(const AdmissionRequest& req);

  // Drops the counters that hold no concurrency and whose day window is past (or counted
  // nothing); returns how many it dropped.
  size_t sweep();
  // The number of counters held (for tests and metrics).
  size_t counter_count() const;

 private:
  friend class Admission;
  // The kinds of counter keys.
  static constexpr int USER_COUNTER = 0;
  static constexpr int ORG_COUNTER = 1;

  LimitCounter& counter_locked(int kind, store::Id id, std::string_view model);
  size_t sweep_locked(int64_t day);
  void release(Admission& ticket, std::optional<int64_t> actual_tokens);

  const Clock& clock_;
  std::atomic<std::shared_ptr<const LimitTable>> table_;
  mutable std::mutex mu_;
  // Node-based, so an Admission may keep pointers to its counters; a counter with
  // concurrency (every held ticket's) is never swept.
  detail::ModelKeyMap<LimitCounter> counters_;  // guarded by mu_
  size_t sweep_at_size_ = 0;  // guarded by mu_; admit() sweeps when counters_ reaches it
};

// Reads every limit rule from the store and gives the limiter the new table.
Status load_limit_rules(store::Store& store, Limiter& limiter);

}  // namespace socle::tenancy
