#include "http/router.h"

#include "base/check.h"

namespace socle::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Specificity: literal segments before parameters, compared left to right.
bool more_specific(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    bool pa = is_param(a[i]);
    bool pb = is_param(b[i]);
    if (pa != pb) return !pa;
  }
  return false;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  auto r = std::make_unique<Route>();
  r->method = std::move(method);
  r->pattern = std::move(pattern);
  r->handler = std::move(handler);
  r->options = options;
  add_route(std::move(r));
}

void Router::add_async(std::string method, std::string pattern, AsyncHandler handler,
                       RouteOptions options) {
  auto r = std::make_unique<Route>();
  r->method = std::move(method);
  r->pattern = std::move(pattern);
  r->async_handler = std::move(handler);
  r->options = options;
  add_route(std::move(r));
}

void Router::add_route(std::unique_ptr<Route> route) {
  SOCLE_CHECK(!route->pattern.empty() && route->pattern.front() == '/',
              "route patterns are absolute paths");
  for (const auto& r : routes_) {
    SOCLE_CHECK(!(r->method == route->method && r->pattern == route->pattern),
                "each method and pattern is registered once");
  }
  routes_.push_back(std::move(route));
}

Match Router::match(std::string_view method, std::string_view path) const {
  std::vector<std::string_view> want = split_path(path);
  Match best;
  std::vector<std::string_view> best_parts;
  std::string allowed;
  for (const auto& r : routes_) {
    std::vector<std::string_view> parts = split_path(r->pattern);
    if (parts.size() != want.size()) continue;
    std::vector<PathParam> params;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      if (is_param(parts[i])) {
        std::string value;
        ok = !want[i].empty() && percent_decode(want[i], &value);
        if (ok) {
          params.push_back(
              {std::string(parts[i].substr(1, parts[i].size() - 2)), std::move(value)});
        }
      } else {
        ok = parts[i] == want[i];
      }
    }
    if (!ok) continue;
    if (r->method != method) {
      if (allowed.find(r->method) == std::string::npos) {
        if (!allowed.empty()) allowed += ", ";
        allowed += r->method;
      }
      continue;
    }
    if (best.route == nullptr || more_specific(parts, best_parts)) {
      best.kind = MatchKind::FOUND;
      best.route = r.get();
      best.params = std::move(params);
      best_parts = std::move(parts);
    }
  }
  if (best.route == nullptr && !allowed.empty()) {
    best.kind = MatchKind::METHOD_NOT_ALLOWED;
    best.allowed = std::move(allowed);
  }
  return best;
}

}  // namespace socle::http
