#include "api/params.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace socle::api {

namespace {

// The name of each `name=value` pair of `query`, in order (empty names skipped).
std::vector<std::string_view> query_names(std::string_view query) {
  std::vector<std::string_view> names;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::string_view name = pair.substr(0, pair.find('='));
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

Status repeated_param(std::string_view name) {
  return invalid_argument(
      "the query parameter '" + std::string(name) + "' is given more than once; give it once",
      std::string(name));
}

}  // namespace

Status check_param_names(std::string_view query, std::initializer_list<std::string_view> known) {
  std::vector<std::string_view> names = query_names(query);
  for (size_t i = 0; i < names.size(); ++i) {
    std::string_view name = names[i];
    bool found = false;
    std::string list;
    for (std::string_view k : known) {
      found = found || k == name;
      if (!list.empty()) list += ", ";
      list += k;
    }
    if (!found) {
      return invalid_argument("unknown query parameter '" + std::string(name) +
                                  "'; the parameters are " + (list.empty() ? "none" : list),
                              std::string(name));
    }
    auto earlier_end = names.begin() + static_cast<std::ptrdiff_t>(i);
    if (std::find(names.begin(), earlier_end, name) != earlier_end) return repeated_param(name);
  }
  return Status::ok();
}

Status check_form_fields_unique(const http::MultipartForm& form) {
  for (size_t i = 0; i < form.parts.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (form.parts[j].name == form.parts[i].name) {
        return invalid_argument(
            "the form field '" + form.parts[i].name + "' is given more than once; send it once",
            form.parts[i].name);
      }
    }
  }
  return Status::ok();
}

Result<std::optional<std::string>> param(const http::Request& req, const char* name) {
  std::vector<std::string_view> names = query_names(req.query);
  if (std::count(names.begin(), names.end(), std::string_view(name)) > 1) {
    return repeated_param(name);
  }
  std::optional<std::string> v = req.query_param(name);
  if (v) return v;
  std::string needle = std::string(name) + "=";
  std::string_view q = req.query;
  bool present = q.starts_with(needle) || q.find("&" + needle) != std::string_view::npos;
  if (present)
    return invalid_argument(std::string("'") + name + "' is not valid URL encoding", name);
  return std::optional<std::string>();
}

Result<int64_t> int_param(const std::string& text, const char* name, int64_t min, int64_t max) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() || v < min || v > max) {
    return invalid_argument("'" + std::string(name) + "' must be an integer from " +
                                std::to_string(min) + " to " + std::to_string(max) + ", not '" +
                                text + "'",
                            name);
  }
  return v;
}

Result<std::optional<int64_t>> optional_int_param(const http::Request& req, const char* name,
                                                  int64_t min, int64_t max) {
  SOCLE_ASSIGN_OR_RETURN(std::optional<std::string> text, param(req, name));
  if (!text) return std::optional<int64_t>();
  SOCLE_ASSIGN_OR_RETURN(int64_t v, int_param(*text, name, min, max));
  return std::optional<int64_t>(v);
}

Result<store::Id> path_id(std::string_view text, const char* what) {
  store::Id id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    return not_found(std::string("no ") + what + " '" + std::string(text) + "'");
  }
  return id;
}

}  // namespace socle::api
