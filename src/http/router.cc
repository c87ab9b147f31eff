#include "http/router.h"

#include <array>

#include "base/check.h"

namespace socle::http {
namespace {

// A request path has at most this many segments to be matched: no route is deeper.
constexpr size_t MAX_SEGMENTS = 16;
using PathSegments = std::array<std::string_view, MAX_SEGMENTS>;

// Splits "/a/b/c" into its segments, without allocating (every request is matched);
// returns their count, or MAX_SEGMENTS + 1 when there are more than MAX_SEGMENTS.
size_t split_path(std::string_view path, PathSegments* out) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t n = 0;
  while (true) {
    if (n == MAX_SEGMENTS) return MAX_SEGMENTS + 1;
    size_t slash = path.find('/');
    (*out)[n++] = path.substr(0, slash);
    if (slash == std::string_view::npos) return n;
    path.remove_prefix(slash + 1);
  }
}

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

// Specificity: literal segments before parameters, compared left to right.
bool Router::more_specific(const std::vector<Segment>& a, const std::vector<Segment>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i].param != b[i].param) return !a[i].param;
  }
  return false;
}

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
  // Split once here rather than on every request.
  PathSegments parts;
  size_t n = split_path(route->pattern, &parts);
  SOCLE_CHECK(n <= MAX_SEGMENTS, "route patterns have at most MAX_SEGMENTS segments");
  std::vector<Segment> segments;
  for (size_t i = 0; i < n; ++i) {
    bool param = is_param(parts[i]);
    segments.push_back(
        {std::string(param ? parts[i].substr(1, parts[i].size() - 2) : parts[i]), param});
  }
  segments_.push_back(std::move(segments));
  routes_.push_back(std::move(route));
}

Match Router::match(std::string_view method, std::string_view path) const {
  PathSegments want;
  size_t n = split_path(path, &want);
  Match best;
  const std::vector<Segment>* best_parts = nullptr;
  std::string allowed;
  for (size_t k = 0; k < routes_.size(); ++k) {
    const Route* r = routes_[k].get();
    const std::vector<Segment>& parts = segments_[k];
    if (parts.size() != n) continue;
    // Literal segments first: a route that does not match costs no allocation.
    bool ok = true;
    for (size_t i = 0; i < n && ok; ++i) {
      ok = parts[i].param ? !want[i].empty() : parts[i].text == want[i];
    }
    if (!ok) continue;
    std::vector<PathParam> params;
    for (size_t i = 0; i < n && ok; ++i) {
      if (!parts[i].param) continue;
      std::string value;
      ok = percent_decode(want[i], &value);
      if (ok) params.push_back({parts[i].text, std::move(value)});
    }
    if (!ok) continue;
    if (r->method != method) {
      if (allowed.find(r->method) == std::string::npos) {
        if (!allowed.empty()) allowed += ", ";
        allowed += r->method;
      }
      continue;
    }
    if (best.route == nullptr || more_specific(parts, *best_parts)) {
      best.kind = MatchKind::FOUND;
      best.route = r;
      best.params = std::move(params);
      best_parts = &parts;
    }
  }
  if (best.route == nullptr && !allowed.empty()) {
    best.kind = MatchKind::METHOD_NOT_ALLOWED;
    best.allowed = std::move(allowed);
  }
  return best;
}

}  // namespace socle::http
