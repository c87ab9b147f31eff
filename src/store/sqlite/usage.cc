// Usage records: appended in batches, read back filtered and paged, summed by day, model,
// user or organisation, and deleted by age for retention. Appends take a savepoint of their
// own instead of write_in_savepoint: usage is not configuration, and moving the change
// counter would make every server reload its key cache once per batch.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite/stores.h"

namespace socle::store::sqlite {
namespace {

constexpr const char* ENTRY_COLUMNS =
    "id, time, request_id, user_id, key_id, org_id, model, provider, endpoint, status, "
    "prompt_tokens, completion_tokens, latency_ms, first_token_ms, energy_kwh, co2_g";

// The rows an actor sees (Actor::sees), and the query's filters; unset filters bind NULL and
// match everything. Parameters ?1 to ?10, bound by bind_filters().
constexpr const char* WHERE_VISIBLE_AND_MATCHING =
    " WHERE (?1 OR user_id = ?2 OR (?3 AND org_id = ?4))"
    " AND (?5 IS NULL OR time >= ?5)"
    " AND (?6 IS NULL OR time < ?6)"
    " AND (?7 IS NULL OR user_id = ?7)"
    " AND (?8 IS NULL OR org_id = ?8)"
    " AND (?9 IS NULL OR model = ?9)"
    " AND (?10 IS NULL OR endpoint = ?10)";

void bind_filters(Stmt& s, const Actor& actor, const UsageQuery& q) {
  s.bind(1, static_cast<int64_t>(actor.all_tenants))
      .bind(2, actor.user_id)
      .bind(3, static_cast<int64_t>(actor.org_wide))
      .bind(4, actor.org_id)
      .bind(5, q.since)
      .bind(6, q.until)
      .bind(7, q.user_id)
      .bind(8, q.org_id)
      .bind_opt_text(9, q.model)
      .bind_opt_text(10, q.endpoint);
}

UsageEntry read_entry_row(const Stmt& s) {
  UsageEntry e;
  e.id = s.column_int(0);
  e.time = s.column_int(1);
  e.request_id = s.column_text(2);
  e.user_id = s.column_int(3);
  e.key_id = s.column_int(4);
  e.org_id = s.column_int(5);
  e.model = s.column_text(6);
  e.provider = s.column_text(7);
  e.endpoint = s.column_text(8);
  e.status = static_cast<int>(s.column_int(9));
  e.prompt_tokens = s.column_int(10);
  e.completion_tokens = s.column_int(11);
  e.latency_ms = s.column_double(12);
  e.first_token_ms = s.column_double(13);
  e.energy_kwh = s.column_double(14);
  e.co2_g = s.column_double(15);
  return e;
}

Status insert_all(Db& db, const std::vector<UsageEntry>& entries) {
  SOCLE_ASSIGN_OR_RETURN(
      Stmt st, db.prepare(std::string("INSERT INTO usage_records (") + ENTRY_COLUMNS +
                          ") VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  for (const UsageEntry& e : entries) {
    st.reset();
    st.bind(1, e.time)
        .bind(2, std::string_view(e.request_id))
        .bind(3, e.user_id)
        .bind(4, e.key_id)
        .bind(5, e.org_id)
        .bind(6, std::string_view(e.model))
        .bind(7, std::string_view(e.provider))
        .bind(8, std::string_view(e.endpoint))
        .bind(9, static_cast<int64_t>(e.status))
        .bind(10, e.prompt_tokens)
        .bind(11, e.completion_tokens)
        .bind_double(12, e.latency_ms)
        .bind_double(13, e.first_token_ms)
        .bind_double(14, e.energy_kwh)
        .bind_double(15, e.co2_g);
    SOCLE_RETURN_IF_ERROR(st.run());
  }
  return Status::ok();
}

// The SQL expression and the name of one grouping key.
const char* group_expression(UsageGroup g) {
  switch (g) {
    case UsageGroup::DAY:
      return "strftime('%Y-%m-%d', time / 1000, 'unixepoch')";
    case UsageGroup::MODEL:
      return "model";
    case UsageGroup::USER:
      return "user_id";
    case UsageGroup::ORGANISATION:
      return "org_id";
  }
  return "NULL";
}

Status check_group_by(const std::vector<UsageGroup>& group_by) {
  for (size_t i = 0; i < group_by.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (group_by[i] == group_by[j]) {
        return invalid_argument("usage cannot be grouped twice by the same key", "group_by");
      }
    }
  }
  return Status::ok();
}

}  // namespace

Status SqliteUsageStore::append(const Actor& /*actor*/, const std::vector<UsageEntry>& entries) {
  // Any actor may append: the server appends as the system actor on behalf of whoever made
  // the request, and the rows carry their own owner.
  if (entries.empty()) return Status::ok();
  std::lock_guard lock(c_.mu);
  // A savepoint is a transaction of its own outside one, and nests inside Store::transaction.
  SOCLE_RETURN_IF_ERROR(c_.db.exec("SAVEPOINT socle_usage"));
  Status s = insert_all(c_.db, entries);
  if (s.is_ok()) s = c_.db.exec("RELEASE socle_usage");
  if (!s.is_ok()) {
    // Also after a failed RELEASE (a busy commit), which leaves the savepoint open.
    (void)c_.db.exec("ROLLBACK TO socle_usage");
    (void)c_.db.exec("RELEASE socle_usage");
  }
  return s;
}

Result<std::vector<UsageEntry>> SqliteUsageStore::list(const Actor& actor, const UsageQuery& q) {
  if (q.limit < 1) return invalid_argument("a usage page holds at least one record", "limit");
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c_.db.prepare(std::string("SELECT ") + ENTRY_COLUMNS + " FROM usage_records" +
                            WHERE_VISIBLE_AND_MATCHING + " AND id > ?11 ORDER BY id LIMIT ?12"));
  bind_filters(s, actor, q);
  s.bind(11, q.after_id).bind(12, q.limit);
  std::vector<UsageEntry> out;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back(read_entry_row(s));
  }
  return out;
}

Result<std::vector<UsageTotal>> SqliteUsageStore::totals(const Actor& actor, const UsageQuery& q,
                                                         const std::vector<UsageGroup>& group_by) {
  SOCLE_RETURN_IF_ERROR(check_group_by(group_by));
  std::string keys;
  for (UsageGroup g : group_by) {
    if (!keys.empty()) keys += ", ";
    keys += group_expression(g);
  }
  // Without keys the aggregate still yields its one row, so the sums must not be NULL.
  std::string sql = "SELECT " + (keys.empty() ? std::string() : keys + ", ") +
                    "COUNT(*), COALESCE(SUM(status >= 400), 0), COALESCE(SUM(prompt_tokens), 0),"
                    " COALESCE(SUM(completion_tokens), 0), TOTAL(energy_kwh), TOTAL(co2_g)"
                    " FROM usage_records" +
                    WHERE_VISIBLE_AND_MATCHING;
  if (!keys.empty()) sql += " GROUP BY " + keys + " ORDER BY " + keys;
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(sql));
  bind_filters(s, actor, q);
  std::vector<UsageTotal> out;
  const int first_sum = static_cast<int>(group_by.size());
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    UsageTotal t;
    for (int i = 0; i < first_sum; ++i) {
      switch (group_by[static_cast<size_t>(i)]) {
        case UsageGroup::DAY:
          t.day = s.column_text(i);
          break;
        case UsageGroup::MODEL:
          t.model = s.column_text(i);
          break;
        case UsageGroup::USER:
          t.user_id = s.column_int(i);
          break;
        case UsageGroup::ORGANISATION:
          t.org_id = s.column_int(i);
          break;
      }
    }
    t.requests = s.column_int(first_sum);
    t.errors = s.column_int(first_sum + 1);
    t.prompt_tokens = s.column_int(first_sum + 2);
    t.completion_tokens = s.column_int(first_sum + 3);
    t.energy_kwh = s.column_double(first_sum + 4);
    t.co2_g = s.column_double(first_sum + 5);
    out.push_back(std::move(t));
  }
  return out;
}

Result<int64_t> SqliteUsageStore::remove_before(const Actor& actor, int64_t before) {
  if (!actor.all_tenants) {
    return Status{StatusCode::PERMISSION_DENIED,
                  "only an administrator can delete usage records (retention)"};
  }
  // Not configuration either: the change counter stays where it is.
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare("DELETE FROM usage_records WHERE time < ?1"));
  SOCLE_RETURN_IF_ERROR(s.bind(1, before).run());
  return c_.db.changes();
}

}  // namespace socle::store::sqlite
