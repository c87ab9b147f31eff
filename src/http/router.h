// Routes a method and path to a handler. Patterns are literal segments and "{name}"
// parameters ("/v1/documents/{id}/chunks"); a literal segment wins over a parameter at the
// same place. Lookups take no lock: register every route before the server starts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "http/responder.h"

namespace socle::http {

using Handler = std::function<Response(Request&)>;
using AsyncHandler = std::function<void(Request&, ResponderPtr)>;

struct RouteOptions {
  int64_t max_body_bytes = 0;  // 0: the server's limit
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;  // exactly one of handler and async_handler is set
  AsyncHandler async_handler;
  RouteOptions options;
};

enum class MatchKind { FOUND, NOT_FOUND, METHOD_NOT_ALLOWED };

struct Match {
  MatchKind kind = MatchKind::NOT_FOUND;
  const Route* route = nullptr;
  std::vector<PathParam> params;
  std::string allowed;  // "GET, POST" when METHOD_NOT_ALLOWED
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  void add_async(std::string method, std::string pattern, AsyncHandler handler,
                 RouteOptions options = {});

  // Matches a raw request path (percent-escapes are decoded per segment, after splitting,
  // so that "%2F" inside a parameter stays inside it).
  Match match(std::string_view method, std::string_view path) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  // One segment of a route's pattern: literal text, or a parameter's name.
  struct Segment {
    std::string text;
    bool param = false;
  };
  static bool more_specific(const std::vector<Segment>& a, const std::vector<Segment>& b);
  void add_route(std::unique_ptr<Route> route);
  std::vector<std::unique_ptr<Route>> routes_;
  std::vector<std::vector<Segment>> segments_;  // routes_[i]'s pattern, split
};

}  // namespace socle::http
