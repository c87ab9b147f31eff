// The audit log for administrators: GET /v1/admin/audit, in OpenAI's list shape, filtered by
// actor, action, time range and seq (to page: pass the last seq seen as `after`).
#include "tenancy/audit.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "api/auth.h"
#include "api/params.h"
#include "tenancy/permissions.h"

namespace socle::api {
namespace {

constexpr int64_t DEFAULT_LIMIT = 100;
// One page is bounded so that a single request cannot make the server read the whole log.
constexpr int64_t MAX_LIMIT = 1000;

Result<store::AuditQuery> parse_query(const http::Request& req) {
  SOCLE_RETURN_IF_ERROR(
      check_param_names(req.query, {"actor", "action", "since", "until", "after", "limit"}));
  store::AuditQuery q;
  q.limit = DEFAULT_LIMIT;
  constexpr int64_t MAX_INT = std::numeric_limits<int64_t>::max();
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> actor, param(req, "actor"));
  if (actor) {
    SOCLE_ASSIGN_OR_RETURN(q.actor_user_id, int_param(*actor, "actor", 0, MAX_INT));
  }
  SOCLE_ASSIGN_OR_RETURN(q.action, param(req, "action"));
  if (q.action && q.action->empty())
    return invalid_argument("'action' must not be empty", "action");
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> since, param(req, "since"));
  if (since) {
    SOCLE_ASSIGN_OR_RETURN(q.since, int_param(*since, "since", 0, MAX_INT));
  }
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> until, param(req, "until"));
  if (until) {
    SOCLE_ASSIGN_OR_RETURN(q.until, int_param(*until, "until", 0, MAX_INT));
  }
  if (q.since && q.until && *q.until <= *q.since) {
    return invalid_argument("'until' must be after 'since'", "until");
  }
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> after, param(req, "after"));
  if (after) {
    SOCLE_ASSIGN_OR_RETURN(q.after_seq, int_param(*after, "after", 0, MAX_INT));
  }
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> limit, param(req, "limit"));
  if (limit) {
    SOCLE_ASSIGN_OR_RETURN(q.limit, int_param(*limit, "limit", 1, MAX_LIMIT));
  }
  return q;
}

Result<http::Response> list_audit(Services& s, const http::Request& req,
                                  const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(store::AuditQuery q, parse_query(req));
  int64_t limit = q.limit;
  q.limit = limit + 1;  // one more than asked tells whether there is more
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::AuditEntry> entries,
                         s.store.audit().list(p.actor_for(tenancy::PERM_ADMIN), q));
  bool has_more = static_cast<int64_t>(entries.size()) > limit;
  if (has_more) entries.resize(static_cast<size_t>(limit));
  boost::json::array data;
  for (const auto& e : entries)
    data.emplace_back(tenancy::audit_entry_json(e));
  boost::json::object out{{"object", "list"},
                          {"data", std::move(data)},
                          {"first_id", nullptr},
                          {"last_id", nullptr},
                          {"has_more", has_more}};
  if (!entries.empty()) {
    out["first_id"] = entries.front().seq;
    out["last_id"] = entries.back().seq;
  }
  return json_response(200, out);
}

}  // namespace

void register_audit_routes(http::Router& router, Services& s) {
  router.add(
      "GET", "/v1/admin/audit",
      with_key(s, tenancy::PERM_ADMIN, [&s](http::Request& req, const tenancy::Principal& p) {
        return list_audit(s, req, p);
      }));
}

}  // namespace socle::api
