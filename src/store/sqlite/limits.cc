// Limit rules: a role's limits, a user's overrides and an organisation's ceilings, per model.
// Written by administrators only; read whole by the server's admission cache.
#include "store/sqlite/stores.h"

namespace socle::store::sqlite {
namespace {

constexpr const char* RULE_COLUMNS =
    "id, scope, scope_id, model, requests_per_minute, requests_per_day, tokens_per_minute, "
    "tokens_per_day, concurrent_requests, created_at, updated_at";

std::string_view scope_name(LimitScope scope) {
  switch (scope) {
    case LimitScope::ROLE:
      return "role";
    case LimitScope::USER:
      return "user";
    case LimitScope::ORGANISATION:
      return "organisation";
  }
  return "role";
}

Result<LimitScope> parse_scope(const std::string& s) {
  if (s == "role") return LimitScope::ROLE;
  if (s == "user") return LimitScope::USER;
  if (s == "organisation") return LimitScope::ORGANISATION;
  return internal_error("a limit rule has the unknown scope '" + s + "'");
}

Result<LimitRule> read_rule_row(const Stmt& s) {
  LimitRule r;
  r.id = s.column_int(0);
  SOCLE_ASSIGN_OR_RETURN(r.scope, parse_scope(s.column_text(1)));
  r.scope_id = s.column_int(2);
  r.model = s.column_text(3);
  r.values.requests_per_minute = s.column_opt_int(4);
  r.values.requests_per_day = s.column_opt_int(5);
  r.values.tokens_per_minute = s.column_opt_int(6);
  r.values.tokens_per_day = s.column_opt_int(7);
  r.values.concurrent_requests = s.column_opt_int(8);
  r.created_at = s.column_int(9);
  r.updated_at = s.column_int(10);
  return r;
}

Status need_all_tenants(const Actor& actor) {
  if (actor.all_tenants) return Status::ok();
  return {StatusCode::PERMISSION_DENIED, "only an administrator can manage limits"};
}

// The table that holds the rule's subject, to check that it exists.
const char* subject_table(LimitScope scope) {
  switch (scope) {
    case LimitScope::ROLE:
      return "roles";
    case LimitScope::USER:
      return "users";
    case LimitScope::ORGANISATION:
      return "organisations";
  }
  return "roles";
}

Status check_value(const std::optional<int64_t>& v, const char* field) {
  if (v && *v < 0) return invalid_argument(std::string(field) + " must be 0 or more", field);
  return Status::ok();
}

}  // namespace

Status remove_limit_rules(Connection& c, LimitScope scope, Id scope_id) {
  SOCLE_ASSIGN_OR_RETURN(Stmt st,
                         c.db.prepare("DELETE FROM limit_rules WHERE scope = ? AND scope_id = ?"));
  return st.bind(1, scope_name(scope)).bind(2, scope_id).run();
}

Result<LimitRule> SqliteLimitStore::put(const Actor& actor, LimitScope scope, Id scope_id,
                                        const std::string& model, const LimitValues& v) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor));
  if (model.empty()) return invalid_argument("a limit needs a model name or \"*\"", "model");
  SOCLE_RETURN_IF_ERROR(check_value(v.requests_per_minute, "requests_per_minute"));
  SOCLE_RETURN_IF_ERROR(check_value(v.requests_per_day, "requests_per_day"));
  SOCLE_RETURN_IF_ERROR(check_value(v.tokens_per_minute, "tokens_per_minute"));
  SOCLE_RETURN_IF_ERROR(check_value(v.tokens_per_day, "tokens_per_day"));
  SOCLE_RETURN_IF_ERROR(check_value(v.concurrent_requests, "concurrent_requests"));
  int64_t now = c_.clock.unix_seconds();
  Result<LimitRule> out = internal_error("limit rule not written");
  Status s = write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(Stmt subject, c_.db.prepare(std::string("SELECT 1 FROM ") +
                                                       subject_table(scope) + " WHERE id = ?"));
    subject.bind(1, scope_id);
    SOCLE_ASSIGN_OR_RETURN(bool exists, subject.step());
    if (!exists) {
      // A field of the request names what does not exist: a bad request, not a missing path.
      return invalid_argument("'scope_id' names no " + std::string(scope_name(scope)) + ": no " +
                                  std::string(scope_name(scope)) + " " + std::to_string(scope_id) +
                                  " exists",
                              "scope_id");
    }
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st,
        c_.db.prepare("INSERT INTO limit_rules (scope, scope_id, model, requests_per_minute, "
                      "requests_per_day, tokens_per_minute, tokens_per_day, concurrent_requests, "
                      "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT (scope, scope_id, model) DO UPDATE SET "
                      "requests_per_minute = excluded.requests_per_minute, "
                      "requests_per_day = excluded.requests_per_day, "
                      "tokens_per_minute = excluded.tokens_per_minute, "
                      "tokens_per_day = excluded.tokens_per_day, "
                      "concurrent_requests = excluded.concurrent_requests, updated_at = "
                      "excluded.updated_at"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, scope_name(scope))
                              .bind(2, scope_id)
                              .bind(3, std::string_view(model))
                              .bind(4, v.requests_per_minute)
                              .bind(5, v.requests_per_day)
                              .bind(6, v.tokens_per_minute)
                              .bind(7, v.tokens_per_day)
                              .bind(8, v.concurrent_requests)
                              .bind(9, now)
                              .bind(10, now)
                              .run());
    SOCLE_ASSIGN_OR_RETURN(Stmt back, c_.db.prepare(std::string("SELECT ") + RULE_COLUMNS +
                                                    " FROM limit_rules WHERE scope = ? AND "
                                                    "scope_id = ? AND model = ?"));
    back.bind(1, scope_name(scope)).bind(2, scope_id).bind(3, std::string_view(model));
    SOCLE_ASSIGN_OR_RETURN(bool row, back.step());
    if (!row) return internal_error("the limit rule just written is gone");
    out = read_rule_row(back);
    return out.status_or_ok();
  });
  SOCLE_RETURN_IF_ERROR(s);
  return out;
}

Result<LimitRule> SqliteLimitStore::get(const Actor& actor, Id id) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor));
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + RULE_COLUMNS +
                                               " FROM limit_rules WHERE id = ?"));
  s.bind(1, id);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found("no limit rule " + std::to_string(id));
  return read_rule_row(s);
}

Result<std::vector<LimitRule>> SqliteLimitStore::list_all(const Actor& actor) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor));
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + RULE_COLUMNS +
                                               " FROM limit_rules ORDER BY id"));
  std::vector<LimitRule> out;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    SOCLE_ASSIGN_OR_RETURN(LimitRule r, read_rule_row(s));
    out.push_back(std::move(r));
  }
  return out;
}

Status SqliteLimitStore::remove(const Actor& actor, Id id) {
  SOCLE_RETURN_IF_ERROR(need_all_tenants(actor));
  return write_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare("DELETE FROM limit_rules WHERE id = ?"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, id).run());
    if (c_.db.changes() == 0) return not_found("no limit rule " + std::to_string(id));
    return Status::ok();
  });
}

}  // namespace socle::store::sqlite
