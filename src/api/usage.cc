// Usage accounting: GET /v1/me/usage (the caller's own requests) and GET /v1/admin/usage
// (read_usage: an organisation's, or everyone's for administrators). Raw records are paged
// by id (`after`, `limit`); `group_by` sums them by day, model, user or organisation. Both
// answer JSON in OpenAI's list shape, or CSV (RFC 4180) with `format=csv` or
// `Accept: text/csv`. Filters: `since`/`until` (Unix seconds or a UTC date YYYY-MM-DD),
// `model`, `endpoint`, and on the admin route `user_id` and `org_id`.
#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <charconv>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "api/auth.h"
#include "api/params.h"
#include "tenancy/permissions.h"

namespace socle::api {
namespace {

constexpr int64_t DEFAULT_LIMIT = 1000;
// One page is bounded so that a single request cannot make the server read every record.
constexpr int64_t MAX_LIMIT = 10'000;
constexpr int64_t MS_PER_SECOND = 1000;
constexpr int64_t SECONDS_PER_DAY = 86'400;
// The largest Unix time in seconds whose milliseconds still fit in an int64.
constexpr int64_t MAX_UNIX_SECONDS = std::numeric_limits<int64_t>::max() / MS_PER_SECOND;
constexpr int MIN_YEAR = 1970;  // dates before the epoch have no usage
constexpr int MAX_YEAR = 9999;  // four digits

enum class Scope { OWN, ADMIN };

struct UsageRequest {
  store::UsageQuery query;
  bool grouped = false;
  std::vector<store::UsageGroup> group_by;
  std::vector<std::string> group_names;  // as asked, for the response
  bool csv = false;
};

// The admin-only filters get their own message on /v1/me/usage, which would otherwise call
// them unknown.
Status check_usage_param_names(std::string_view query, Scope scope) {
  if (scope == Scope::ADMIN) {
    return check_param_names(query, {"since", "until", "model", "endpoint", "user_id", "org_id",
                                     "group_by", "limit", "after", "format"});
  }
  for (std::string_view rest = query; !rest.empty();) {
    size_t amp = rest.find('&');
    std::string_view name = rest.substr(0, std::min(amp, rest.find('=')));
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (name == "user_id" || name == "org_id") {
      return invalid_argument("'" + std::string(name) +
                                  "' is only accepted on /v1/admin/usage; /v1/me/usage always "
                                  "shows the caller's own usage",
                              std::string(name));
    }
  }
  return check_param_names(
      query, {"since", "until", "model", "endpoint", "group_by", "limit", "after", "format"});
}

// Days from 1970-01-01 to the proleptic Gregorian date y-m-d (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = y / 400;  // y >= 1969 here, so no negative rounding
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146'097 + doe - 719'468;
}

int days_in_month(int y, int m) {
  static constexpr int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : DAYS[m - 1];
}

// "YYYY-MM-DD" as days since the epoch; nullopt unless it is exactly that and a real date.
std::optional<int64_t> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  std::optional<int> y = digits(0, 4), m = digits(5, 2), d = digits(8, 2);
  if (!y || !m || !d || *y < MIN_YEAR || *y > MAX_YEAR || *m < 1 || *m > 12) return std::nullopt;
  if (*d < 1 || *d > days_in_month(*y, *m)) return std::nullopt;
  return days_from_civil(*y, *m, *d);
}

// Unix seconds, or a date meaning its UTC midnight; as Unix milliseconds.
Result<int64_t> time_param(const std::string& text, const char* name) {
  if (std::optional<int64_t> days = parse_date(text)) {
    return *days * SECONDS_PER_DAY * MS_PER_SECOND;
  }
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < 0 ||
      v > MAX_UNIX_SECONDS) {
    return invalid_argument("'" + std::string(name) +
                                "' must be a Unix time in seconds or a date YYYY-MM-DD (UTC "
                                "midnight), not '" +
                                text + "'",
                            name);
  }
  return v * MS_PER_SECOND;
}

Result<std::optional<std::string>> text_param(const http::Request& req, const char* name) {
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> v, param(req, name));
  if (v && v->empty()) return invalid_argument("'" + std::string(name) + "' is empty", name);
  return v;
}

Status parse_group_by(const std::string& text, UsageRequest* out) {
  std::string_view rest = text;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view name = rest.substr(0, comma);
    store::UsageGroup g{};
    if (name == "day") {
      g = store::UsageGroup::DAY;
    } else if (name == "model") {
      g = store::UsageGroup::MODEL;
    } else if (name == "user") {
      g = store::UsageGroup::USER;
    } else if (name == "organisation") {
      g = store::UsageGroup::ORGANISATION;
    } else {
      return invalid_argument(
          "'group_by' is a comma-separated list of day, model, user and "
          "organisation, not '" +
              text + "'",
          "group_by");
    }
    for (store::UsageGroup seen : out->group_by) {
      if (seen == g) {
        return invalid_argument("'group_by' names '" + std::string(name) + "' twice", "group_by");
      }
    }
    out->group_by.push_back(g);
    out->group_names.emplace_back(name);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  out->grouped = true;
  return Status::ok();
}

Status parse_format(const http::Request& req, UsageRequest* out) {
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> format, param(req, "format"));
  if (format) {
    if (*format != "csv" && *format != "json") {
      return invalid_argument("'format' is csv or json, not '" + *format + "'", "format");
    }
    out->csv = *format == "csv";
    return Status::ok();
  }
  std::optional<std::string_view> accept = req.header("accept");
  out->csv = accept && accept->find("text/csv") != std::string_view::npos;
  return Status::ok();
}

Result<UsageRequest> parse_request(const http::Request& req, Scope scope) {
  SOCLE_RETURN_IF_ERROR(check_usage_param_names(req.query, scope));
  UsageRequest r;
  store::UsageQuery& q = r.query;
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> since, param(req, "since"));
  if (since) {
    SOCLE_ASSIGN_OR_RETURN(q.since, time_param(*since, "since"));
  }
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> until, param(req, "until"));
  if (until) {
    SOCLE_ASSIGN_OR_RETURN(q.until, time_param(*until, "until"));
  }
  if (q.since && q.until && *q.until <= *q.since) {
    return invalid_argument("'until' must be after 'since'", "until");
  }
  SOCLE_ASSIGN_OR_RETURN(q.model, text_param(req, "model"));
  SOCLE_ASSIGN_OR_RETURN(q.endpoint, text_param(req, "endpoint"));
  if (scope == Scope::ADMIN) {
    constexpr int64_t MAX_ID = std::numeric_limits<int64_t>::max();
    SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> user_id, param(req, "user_id"));
    if (user_id) {
      SOCLE_ASSIGN_OR_RETURN(q.user_id, int_param(*user_id, "user_id", 1, MAX_ID));
    }
    SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> org_id, param(req, "org_id"));
    if (org_id) {
      SOCLE_ASSIGN_OR_RETURN(q.org_id, int_param(*org_id, "org_id", 1, MAX_ID));
    }
  }
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> group_by, param(req, "group_by"));
  if (group_by) SOCLE_RETURN_IF_ERROR(parse_group_by(*group_by, &r));
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> limit, param(req, "limit"));
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> after, param(req, "after"));
  // Grouped answers are whole: paging them would split a group's sums across pages.
  if (r.grouped && limit) {
    return invalid_argument("'limit' pages raw records; it cannot be used with 'group_by'",
                            "limit");
  }
  if (r.grouped && after) {
    return invalid_argument("'after' pages raw records; it cannot be used with 'group_by'",
                            "after");
  }
  q.limit = DEFAULT_LIMIT;
  if (limit) {
    SOCLE_ASSIGN_OR_RETURN(q.limit, int_param(*limit, "limit", 1, MAX_LIMIT));
  }
  if (after) {
    SOCLE_ASSIGN_OR_RETURN(q.after_id,
                           int_param(*after, "after", 0, std::numeric_limits<int64_t>::max()));
  }
  SOCLE_RETURN_IF_ERROR(parse_format(req, &r));
  return r;
}

// --- JSON ---

boost::json::object entry_json(const store::UsageEntry& e) {
  return {{"id", e.id},
          {"time", e.time},
          {"request_id", e.request_id},
          {"user_id", e.user_id},
          {"key_id", e.key_id},
          {"organisation_id", e.org_id},
          {"model", e.model},
          {"provider", e.provider},
          {"endpoint", e.endpoint},
          {"status", e.status},
          {"prompt_tokens", e.prompt_tokens},
          {"completion_tokens", e.completion_tokens},
          {"total_tokens", e.prompt_tokens + e.completion_tokens},
          {"latency_ms", e.latency_ms},
          {"first_token_ms", e.first_token_ms},
          {"energy_kwh", e.energy_kwh},
          {"co2_g", e.co2_g}};
}

boost::json::object total_json(const store::UsageTotal& t,
                               const std::vector<store::UsageGroup>& group_by) {
  boost::json::object o;
  for (store::UsageGroup g : group_by) {
    switch (g) {
      case store::UsageGroup::DAY:
        o["day"] = t.day;
        break;
      case store::UsageGroup::MODEL:
        o["model"] = t.model;
        break;
      case store::UsageGroup::USER:
        o["user_id"] = t.user_id;
        break;
      case store::UsageGroup::ORGANISATION:
        o["organisation_id"] = t.org_id;
        break;
    }
  }
  o["requests"] = t.requests;
  o["errors"] = t.errors;
  o["prompt_tokens"] = t.prompt_tokens;
  o["completion_tokens"] = t.completion_tokens;
  o["total_tokens"] = t.prompt_tokens + t.completion_tokens;
  o["energy_kwh"] = t.energy_kwh;
  o["co2_g"] = t.co2_g;
  return o;
}

// --- CSV (RFC 4180: comma-separated, CRLF line ends, fields with a comma, quote or line
// break quoted, quotes doubled) ---

// Text fields come from clients (the model name asked for, the request id). A cell that
// starts with = + - @ or a tab or CR is a formula to a spreadsheet opening the export, so it
// is prefixed with ' (OWASP's advice on CSV injection). Numbers are written as they are.
void csv_text(std::string& out, std::string_view v) {
  bool formula =
      !v.empty() && std::string_view("=+-@\t\r").find(v.front()) != std::string_view::npos;
  bool quote = formula || v.find_first_of(",\"\r\n") != std::string_view::npos;
  if (quote) out += '"';
  if (formula) out += '\'';
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  if (quote) out += '"';
}

void csv_int(std::string& out, int64_t v) {
  out += std::to_string(v);
}

void csv_real(std::string& out, double v) {
  char buf[32];  // the shortest round-trip form of a double fits in 24 characters
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, ec == std::errc() ? ptr : buf);
}

void csv_header(std::string& out, std::initializer_list<std::string_view> names) {
  bool first = true;
  for (std::string_view n : names) {
    if (!first) out += ',';
    out += n;
    first = false;
  }
  out += "\r\n";
}

std::string entries_csv(const std::vector<store::UsageEntry>& entries) {
  std::string out;
  csv_header(out, {"id", "time", "request_id", "user_id", "key_id", "organisation_id", "model",
                   "provider", "endpoint", "status", "prompt_tokens", "completion_tokens",
                   "total_tokens", "latency_ms", "first_token_ms", "energy_kwh", "co2_g"});
  for (const store::UsageEntry& e : entries) {
    csv_int(out, e.id);
    out += ',';
    csv_int(out, e.time);
    out += ',';
    csv_text(out, e.request_id);
    out += ',';
    csv_int(out, e.user_id);
    out += ',';
    csv_int(out, e.key_id);
    out += ',';
    csv_int(out, e.org_id);
    out += ',';
    csv_text(out, e.model);
    out += ',';
    csv_text(out, e.provider);
    out += ',';
    csv_text(out, e.endpoint);
    out += ',';
    csv_int(out, e.status);
    out += ',';
    csv_int(out, e.prompt_tokens);
    out += ',';
    csv_int(out, e.completion_tokens);
    out += ',';
    csv_int(out, e.prompt_tokens + e.completion_tokens);
    out += ',';
    csv_real(out, e.latency_ms);
    out += ',';
    csv_real(out, e.first_token_ms);
    out += ',';
    csv_real(out, e.energy_kwh);
    out += ',';
    csv_real(out, e.co2_g);
    out += "\r\n";
  }
  return out;
}

std::string totals_csv(const std::vector<store::UsageTotal>& totals,
                       const std::vector<store::UsageGroup>& group_by) {
  std::string out;
  for (store::UsageGroup g : group_by) {
    switch (g) {
      case store::UsageGroup::DAY:
        out += "day,";
        break;
      case store::UsageGroup::MODEL:
        out += "model,";
        break;
      case store::UsageGroup::USER:
        out += "user_id,";
        break;
      case store::UsageGroup::ORGANISATION:
        out += "organisation_id,";
        break;
    }
  }
  csv_header(out, {"requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens",
                   "energy_kwh", "co2_g"});
  for (const store::UsageTotal& t : totals) {
    for (store::UsageGroup g : group_by) {
      switch (g) {
        case store::UsageGroup::DAY:
          csv_text(out, t.day);
          break;
        case store::UsageGroup::MODEL:
          csv_text(out, t.model);
          break;
        case store::UsageGroup::USER:
          csv_int(out, t.user_id);
          break;
        case store::UsageGroup::ORGANISATION:
          csv_int(out, t.org_id);
          break;
      }
      out += ',';
    }
    csv_int(out, t.requests);
    out += ',';
    csv_int(out, t.errors);
    out += ',';
    csv_int(out, t.prompt_tokens);
    out += ',';
    csv_int(out, t.completion_tokens);
    out += ',';
    csv_int(out, t.prompt_tokens + t.completion_tokens);
    out += ',';
    csv_real(out, t.energy_kwh);
    out += ',';
    csv_real(out, t.co2_g);
    out += "\r\n";
  }
  return out;
}

http::Response csv_response(std::string body) {
  http::Response r = http::Response::text(200, std::move(body), "text/csv; charset=utf-8");
  r.set_header("content-disposition", "attachment; filename=\"usage.csv\"");
  return r;
}

// --- handlers ---

Result<http::Response> list_records(Services& s, const store::Actor& actor, const UsageRequest& r) {
  store::UsageQuery q = r.query;
  q.limit = r.query.limit + 1;  // one more than asked tells whether there is more
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::UsageEntry> entries, s.store.usage().list(actor, q));
  bool has_more = static_cast<int64_t>(entries.size()) > r.query.limit;
  if (has_more) entries.resize(static_cast<size_t>(r.query.limit));
  if (r.csv) {
    // The CSV body is the rows alone; paging travels in headers.
    http::Response resp = csv_response(entries_csv(entries));
    resp.set_header("x-has-more", has_more ? "true" : "false");
    if (!entries.empty()) resp.set_header("x-last-id", std::to_string(entries.back().id));
    return resp;
  }
  boost::json::array data;
  for (const store::UsageEntry& e : entries)
    data.emplace_back(entry_json(e));
  boost::json::object out{
      {"object", "list"}, {"data", std::move(data)}, {"has_more", has_more}, {"last_id", nullptr}};
  if (!entries.empty()) out["last_id"] = entries.back().id;
  return json_response(200, out);
}

Result<http::Response> list_totals(Services& s, const store::Actor& actor, const UsageRequest& r) {
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::UsageTotal> totals,
                         s.store.usage().totals(actor, r.query, r.group_by));
  if (r.csv) return csv_response(totals_csv(totals, r.group_by));
  boost::json::array data;
  for (const store::UsageTotal& t : totals)
    data.emplace_back(total_json(t, r.group_by));
  boost::json::array names;
  for (const std::string& n : r.group_names)
    names.emplace_back(n);
  return json_response(
      200, boost::json::object{
               {"object", "list"}, {"group_by", std::move(names)}, {"data", std::move(data)}});
}

Result<http::Response> get_usage(Services& s, const http::Request& req, const store::Actor& actor,
                                 Scope scope) {
  SOCLE_ASSIGN_OR_RETURN(UsageRequest r, parse_request(req, scope));
  // A filter on a user or an organisation the caller cannot see is answered as such, not
  // with an empty list that would look like "no usage".
  if (r.query.user_id)
    SOCLE_RETURN_IF_ERROR(s.store.users().get(actor, *r.query.user_id).status_or_ok());
  if (r.query.org_id)
    SOCLE_RETURN_IF_ERROR(s.store.orgs().get(actor, *r.query.org_id).status_or_ok());
  return r.grouped ? list_totals(s, actor, r) : list_records(s, actor, r);
}

}  // namespace

void register_usage_routes(http::Router& router, Services& s) {
  router.add("GET", "/v1/me/usage",
             with_key(s, "", [&s](http::Request& req, const tenancy::Principal& p) {
               return get_usage(s, req, store::Actor::user(p.user_id, p.org_id), Scope::OWN);
             }));
  // read_usage holders read their organisation's usage, administrators everyone's.
  router.add(
      "GET", "/v1/admin/usage",
      with_actor(s, tenancy::PERM_READ_USAGE, [&s](http::Request& req, const store::Actor& actor) {
        return get_usage(s, req, actor, Scope::ADMIN);
      }));
}

}  // namespace socle::api
