// Requests and responses as handlers see them: plain structs, no Beast types, so that
// the code above the http module compiles without Boost.Beast.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace socle::http {

// Header names are stored lowercase; lookups are by lowercase name.
using Headers = std::vector<std::pair<std::string, std::string>>;

std::optional<std::string_view> find_header(const Headers& headers, std::string_view lower_name);

struct PathParam {
  std::string name;
  std::string value;  // percent-decoded
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // target before '?'
  std::string query;   // target after '?', without it
  Headers headers;
  std::string body;
  std::string remote;      // peer address "ip:port"
  std::string request_id;  // from x-request-id when well-formed, else generated

  // Filled in by the router and the layers above it.
  std::string route;  // the matched pattern ("/v1/documents/{id}"), or "" when none
  std::vector<PathParam> params;
  std::string user_id;  // set by authentication, for the access log

  std::optional<std::string_view> header(std::string_view lower_name) const {
    return find_header(headers, lower_name);
  }
  // The value of path parameter `name`; empty if absent.
  std::string_view param(std::string_view name) const;
  // The percent-decoded value of query parameter `name`, if present.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body, std::string content_type = "text/plain");
  void set_header(std::string lower_name, std::string value);
};

// Percent-decodes `s` ('+' stays '+'); false on a malformed escape.
bool percent_decode(std::string_view s, std::string* out);

// For the server's and the client's writers: appends "name: value\r\n" for each header
// except those named in `skip` (lowercase; the writer sets them itself) and those whose name
// is empty or whose name or value holds CR, LF or NUL (they would split the head).
void append_header_lines(std::string* out, const Headers& headers,
                         std::initializer_list<std::string_view> skip);

}  // namespace socle::http
