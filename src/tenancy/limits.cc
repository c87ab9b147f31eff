#include "tenancy/limits.h"

#include <algorithm>
#include <functional>
#include <limits>

#include "base/check.h"

namespace socle::tenancy {
namespace {

constexpr int64_t MINUTE_MS = 60'000;
constexpr int64_t DAY_MS = 86'400'000;
constexpr int64_t SECOND_MS = 1'000;
constexpr std::string_view ANY_MODEL = "*";
// A full concurrency counter frees when some request of the same user ends, which nothing
// here can foresee: one second is the shortest wait retry-after can say.
constexpr int64_t CONCURRENCY_RETRY_MS = SECOND_MS;
// admit() sweeps when the counters reach twice what the last sweep left (amortised O(1) per
// new counter), and never below this many, so that small deployments never sweep on the
// request path.
constexpr size_t SWEEP_MIN_COUNTERS = 1024;
// The fractional part of the golden ratio, to spread the bits of combined hashes.
constexpr size_t HASH_MIX = 0x9e3779b97f4a7c15ULL;

constexpr std::string_view WHOSE_USER = "your";
constexpr std::string_view WHOSE_ORG = "your organisation's";

// a + b, held at the int64 bounds: a reservation may be as large as int64 allows (a huge
// max_tokens), and a counter that wrapped would admit what it should refuse.
int64_t add_saturating(int64_t a, int64_t b) {
  constexpr int64_t MOST = std::numeric_limits<int64_t>::max();
  constexpr int64_t LEAST = std::numeric_limits<int64_t>::min();
  if (b > 0 && a > MOST - b) return MOST;
  if (b < 0 && a < LEAST - b) return LEAST;
  return a + b;
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

// Rolls `w` forward to window `index`. A wall clock that steps back keeps counting in the
// later window rather than reopening an earlier one.
void roll(LimitCounter::Window& w, int64_t index) {
  if (index > w.index) w = {index, 0, 0};
}

int64_t until_end_ms(int64_t index, int64_t length_ms, int64_t now_ms) {
  return std::max<int64_t>(1, (index + 1) * length_ms - now_ms);
}

int64_t ceil_seconds(int64_t ms) {
  return std::max<int64_t>(1, (ms + SECOND_MS - 1) / SECOND_MS);
}

bool any_set(const store::LimitValues& v) {
  return v.requests_per_minute || v.requests_per_day || v.tokens_per_minute || v.tokens_per_day ||
         v.concurrent_requests;
}

// One counter that a LimitValues may limit, named for messages.
struct Check {
  std::optional<int64_t> store::LimitValues::*limit;
  std::string_view what;
  bool tokens;        // counts tokens, else requests
  bool concurrency;   // counts requests in flight, in no window
  int64_t window_ms;  // MINUTE_MS or DAY_MS (unused for concurrency)
};
constexpr Check CHECKS[] = {
    {&store::LimitValues::requests_per_minute, "requests per minute", false, false, MINUTE_MS},
    {&store::LimitValues::requests_per_day, "requests per day", false, false, DAY_MS},
    {&store::LimitValues::tokens_per_minute, "tokens per minute", true, false, MINUTE_MS},
    {&store::LimitValues::tokens_per_day, "tokens per day", true, false, DAY_MS},
    {&store::LimitValues::concurrent_requests, "concurrent requests", false, true, 0},
};

const LimitCounter::Window& window_of(const LimitCounter& c, const Check& check) {
  return check.window_ms == MINUTE_MS ? c.minute : c.day;
}

// The count a check compares with its limit.
int64_t used_of(const LimitCounter& c, const Check& check) {
  if (check.concurrency) return c.concurrent;
  const LimitCounter::Window& w = window_of(c, check);
  return check.tokens ? w.tokens : w.requests;
}

// A limit that applies to one request: whose it is, its values, and (once locked) its counter.
struct Applied {
  const store::LimitValues* values = nullptr;
  int kind = 0;  // Limiter's USER_COUNTER or ORG_COUNTER
  std::string_view whose;
  LimitCounter* counter = nullptr;
};

std::string quoted(std::string_view model) {
  return "'" + std::string(model) + "'";
}

// Keeps the most constraining window: least remaining, and on a tie the later reset.
void consider(std::optional<RateState::Window>& best, const std::optional<int64_t>& limit,
              int64_t used, int64_t reset_ms) {
  if (!limit) return;
  RateState::Window w{*limit, std::max<int64_t>(0, *limit - used), reset_ms};
  if (!best || w.remaining < best->remaining ||
      (w.remaining == best->remaining && w.reset_ms > best->reset_ms)) {
    best = w;
  }
}

RateState rate_of(const Applied* applied, size_t n, int64_t now_ms) {
  RateState s;
  for (size_t i = 0; i < n; ++i) {
    const store::LimitValues& v = *applied[i].values;
    const LimitCounter& c = *applied[i].counter;
    int64_t minute_reset = until_end_ms(c.minute.index, MINUTE_MS, now_ms);
    int64_t day_reset = until_end_ms(c.day.index, DAY_MS, now_ms);
    consider(s.requests, v.requests_per_minute, c.minute.requests, minute_reset);
    consider(s.requests, v.requests_per_day, c.day.requests, day_reset);
    consider(s.tokens, v.tokens_per_minute, c.minute.tokens, minute_reset);
    consider(s.tokens, v.tokens_per_day, c.day.tokens, day_reset);
  }
  return s;
}

void refuse(Verdict& v, Refusal why, std::string message, int64_t retry_ms) {
  v.admitted = false;
  v.refusal = why;
  v.message = std::move(message);
  v.retry_after_s = ceil_seconds(retry_ms);
  v.headers = rate_headers(v.rate);
  v.headers.emplace_back("retry-after", std::to_string(v.retry_after_s));
}

}  // namespace

size_t detail::ModelKeyHash::operator()(const ModelKeyView& k) const {
  size_t h = std::hash<std::string_view>{}(k.model);
  h ^= std::hash<int64_t>{}(k.id) + HASH_MIX + (h << 6) + (h >> 2);
  h ^= std::hash<int>{}(k.kind) + HASH_MIX + (h << 6) + (h >> 2);
  return h;
}

LimitTable::LimitTable(std::vector<store::LimitRule> rules) {
  rules_.reserve(rules.size());
  for (auto& r : rules) {
    rules_.insert_or_assign(
        detail::ModelKey{static_cast<int>(r.scope), r.scope_id, std::move(r.model)}, r.values);
  }
}

const store::LimitValues* LimitTable::find(store::LimitScope scope, store::Id id,
                                           std::string_view model) const {
  auto it = rules_.find(detail::ModelKeyView{static_cast<int>(scope), id, model});
  return it == rules_.end() ? nullptr : &it->second;
}

std::optional<store::LimitValues> LimitTable::for_user(store::Id user_id, store::Id role_id,
                                                       std::string_view model) const {
  if (rules_.empty()) return std::nullopt;
  const std::pair<store::LimitScope, store::Id> levels[] = {{store::LimitScope::USER, user_id},
                                                            {store::LimitScope::ROLE, role_id}};
  for (const auto& [scope, id] : levels) {
    if (const auto* v = find(scope, id, model)) return *v;
    if (const auto* v = find(scope, id, ANY_MODEL)) return *v;
  }
  return std::nullopt;
}

std::optional<store::LimitValues> LimitTable::for_org(store::Id org_id,
                                                      std::string_view model) const {
  if (rules_.empty()) return std::nullopt;
  if (const auto* v = find(store::LimitScope::ORGANISATION, org_id, model)) return *v;
  if (const auto* v = find(store::LimitScope::ORGANISATION, org_id, ANY_MODEL)) return *v;
  return std::nullopt;
}

std::string format_reset(int64_t ms) {
  if (ms <= 0) return "0s";
  if (ms < SECOND_MS) return std::to_string(ms) + "ms";
  int64_t s = (ms + SECOND_MS - 1) / SECOND_MS;
  int64_t h = s / 3600, m = s % 3600 / 60;
  std::string out;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  out += std::to_string(s % 60) + "s";
  return out;
}

std::vector<std::pair<std::string, std::string>> rate_headers(const RateState& state) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](const std::optional<RateState::Window>& w, std::string_view kind) {
    if (!w) return;
    std::string k(kind);
    out.emplace_back("x-ratelimit-limit-" + k, std::to_string(w->limit));
    out.emplace_back("x-ratelimit-remaining-" + k, std::to_string(w->remaining));
    out.emplace_back("x-ratelimit-reset-" + k, format_reset(w->reset_ms));
  };
  add(state.requests, "requests");
  add(state.tokens, "tokens");
  return out;
}

Admission::Admission(Admission&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)),
      user_(std::exchange(other.user_, nullptr)),
      org_(std::exchange(other.org_, nullptr)),
      reserved_(std::exchange(other.reserved_, 0)),
      minute_(other.minute_),
      day_(other.day_) {}

Admission& Admission::operator=(Admission&& other) noexcept {
  if (this == &other) return *this;
  release(std::nullopt);
  limiter_ = std::exchange(other.limiter_, nullptr);
  user_ = std::exchange(other.user_, nullptr);
  org_ = std::exchange(other.org_, nullptr);
  reserved_ = std::exchange(other.reserved_, 0);
  minute_ = other.minute_;
  day_ = other.day_;
  return *this;
}

Admission::~Admission() {
  release(std::nullopt);
}

void Admission::settle(int64_t actual_tokens) {
  release(std::max<int64_t>(0, actual_tokens));
}

void Admission::release(std::optional<int64_t> actual_tokens) {
  if (limiter_ == nullptr) return;
  limiter_->release(*this, actual_tokens);
  limiter_ = nullptr;
  user_ = nullptr;
  org_ = nullptr;
  reserved_ = 0;
}

Limiter::Limiter(const Clock& clock) : clock_(clock), sweep_at_size_(SWEEP_MIN_COUNTERS) {}

Limiter::~Limiter() {
  std::lock_guard lock(mu_);
  for (const auto& [key, c] : counters_) {
    SOCLE_CHECK(c.concurrent == 0,
                "every Admission is settled or dropped before the Limiter that issued it");
  }
}

void Limiter::set_table(std::shared_ptr<const LimitTable> table) {
  table_.store(std::move(table));
}

LimitCounter& Limiter::counter_locked(int kind, store::Id id, std::string_view model) {
  auto it = counters_.find(detail::ModelKeyView{kind, id, model});
  if (it != counters_.end()) return it->second;
  return counters_.emplace(detail::ModelKey{kind, id, std::string(model)}, LimitCounter{})
      .first->second;
}

Verdict Limiter::admit(const AdmissionRequest& req) {
  Verdict v;
  std::optional<store::LimitValues> user_values, org_values;
  if (std::shared_ptr<const LimitTable> table = table_.load()) {
    user_values = table->for_user(req.user_id, req.role_id, req.model);
    org_values = table->for_org(req.org_id, req.model);
  }
  Applied applied[2];
  size_t n = 0;
  if (user_values && any_set(*user_values)) {
    applied[n++] = {&*user_values, USER_COUNTER, WHOSE_USER};
  }
  if (org_values && any_set(*org_values)) applied[n++] = {&*org_values, ORG_COUNTER, WHOSE_ORG};
  if (n == 0) {
    v.admitted = true;
    return v;
  }

  const int64_t tokens = std::max<int64_t>(0, req.tokens);
  const int64_t now_ms = clock_.unix_ms();
  const int64_t minute = floor_div(now_ms, MINUTE_MS);
  const int64_t day = floor_div(now_ms, DAY_MS);

  // Refusals that no counter can change come first and need no lock: a limit of 0, and a
  // reservation that alone exceeds a tokens limit. Retrying the same request cannot help, so
  // their retry-after is when the window ends (the day, for no access).
  for (size_t i = 0; i < n; ++i) {
    for (const Check& c : CHECKS) {
      const std::optional<int64_t>& limit = applied[i].values->*c.limit;
      if (!limit || *limit != 0) continue;
      refuse(v, Refusal::NO_ACCESS,
             "no access to model " + quoted(req.model) + " (" + std::string(applied[i].whose) +
                 " limit of " + std::string(c.what) + " is 0); ask an administrator for access",
             until_end_ms(day, DAY_MS, now_ms));
      return v;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    for (const Check& c : CHECKS) {
      const std::optional<int64_t>& limit = applied[i].values->*c.limit;
      if (!c.tokens || !limit || tokens <= *limit) continue;
      refuse(v, Refusal::RESERVATION_TOO_LARGE,
             "the request's reservation (" + std::to_string(tokens) +
                 " tokens: prompt plus max completion tokens) by itself exceeds " +
                 std::string(applied[i].whose) + " limit of " + std::string(c.what) +
                 " for model " + quoted(req.model) + " (limit " + std::to_string(*limit) +
                 "); lower max_tokens or shorten the prompt",
             until_end_ms(floor_div(now_ms, c.window_ms), c.window_ms, now_ms));
      return v;
    }
  }

  std::unique_lock lock(mu_);
  // Before taking any counter: a sweep must not drop one that this admission holds.
  if (counters_.size() >= sweep_at_size_) sweep_locked(day);
  for (size_t i = 0; i < n; ++i) {
    store::Id id = applied[i].kind == ORG_COUNTER ? req.org_id : req.user_id;
    LimitCounter* c = &counter_locked(applied[i].kind, id, req.model);
    roll(c->minute, minute);
    roll(c->day, day);
    applied[i].counter = c;
  }

  // The full counter that frees last decides the refusal: retrying sooner cannot succeed.
  const Check* full = nullptr;
  const Applied* full_of = nullptr;
  int64_t full_retry_ms = 0;
  for (size_t i = 0; i < n; ++i) {
    for (const Check& c : CHECKS) {
      const std::optional<int64_t>& limit = applied[i].values->*c.limit;
      if (!limit) continue;
      int64_t asked = c.tokens ? tokens : 1;
      if (asked <= *limit - used_of(*applied[i].counter, c)) continue;
      int64_t retry_ms = c.concurrency ? CONCURRENCY_RETRY_MS
                                       : until_end_ms(window_of(*applied[i].counter, c).index,
                                                      c.window_ms, now_ms);
      if (full != nullptr && retry_ms <= full_retry_ms) continue;
      full = &c;
      full_of = &applied[i];
      full_retry_ms = retry_ms;
    }
  }
  if (full != nullptr) {
    v.rate = rate_of(applied, n, now_ms);
    lock.unlock();
    refuse(v, Refusal::LIMIT_REACHED,
           "rate limit reached: " + std::string(full->what) + " for model " + quoted(req.model) +
               " (" + std::string(full_of->whose) +
               " limit: " + std::to_string(*(full_of->values->*full->limit)) + "); retry in " +
               format_reset(ceil_seconds(full_retry_ms) * SECOND_MS),
           full_retry_ms);
    return v;
  }

  for (size_t i = 0; i < n; ++i) {
    LimitCounter& c = *applied[i].counter;
    ++c.minute.requests;
    ++c.day.requests;
    c.minute.tokens = add_saturating(c.minute.tokens, tokens);
    c.day.tokens = add_saturating(c.day.tokens, tokens);
    // Counted even without a concurrency limit: it keeps the counter from being swept while
    // the ticket points to it, and a limit added later then sees the requests in flight.
    ++c.concurrent;
    (applied[i].kind == ORG_COUNTER ? v.ticket.org_ : v.ticket.user_) = &c;
  }
  v.rate = rate_of(applied, n, now_ms);
  lock.unlock();
  v.ticket.limiter_ = this;
  v.ticket.reserved_ = tokens;
  v.ticket.minute_ = minute;
  v.ticket.day_ = day;
  v.admitted = true;
  v.headers = rate_headers(v.rate);
  return v;
}

size_t Limiter::sweep() {
  int64_t day = floor_div(clock_.unix_ms(), DAY_MS);
  std::lock_guard lock(mu_);
  return sweep_locked(day);
}

size_t Limiter::sweep_locked(int64_t day) {
  size_t dropped = std::erase_if(counters_, [day](const auto& kv) {
    const LimitCounter& c = kv.second;
    if (c.concurrent != 0) return false;
    return c.day.index < day || (c.day.requests == 0 && c.day.tokens == 0);
  });
  sweep_at_size_ = std::max(SWEEP_MIN_COUNTERS, 2 * counters_.size());
  return dropped;
}

size_t Limiter::counter_count() const {
  std::lock_guard lock(mu_);
  return counters_.size();
}

void Limiter::release(Admission& ticket, std::optional<int64_t> actual_tokens) {
  std::lock_guard lock(mu_);
  for (LimitCounter* c : {ticket.user_, ticket.org_}) {
    if (c == nullptr) continue;
    SOCLE_CHECK(c->concurrent > 0, "a held ticket holds one concurrency slot on each counter");
    --c->concurrent;
    if (!actual_tokens) continue;
    // Only the windows the reservation went to: a window that has rolled over since never
    // saw it, and the request's tokens are not charged to the new one.
    int64_t delta = *actual_tokens - ticket.reserved_;
    if (c->minute.index == ticket.minute_) {
      c->minute.tokens = std::max<int64_t>(0, add_saturating(c->minute.tokens, delta));
    }
    if (c->day.index == ticket.day_) {
      c->day.tokens = std::max<int64_t>(0, add_saturating(c->day.tokens, delta));
    }
  }
}

Status load_limit_rules(store::Store& store, Limiter& limiter) {
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::LimitRule> rules,
                         store.limits().list_all(store::Actor::system()));
  limiter.set_table(std::make_shared<const LimitTable>(std::move(rules)));
  return Status::ok();
}

}  // namespace socle::tenancy
