#include "http/message.h"

namespace socle::http {

std::optional<std::string_view> find_header(const Headers& headers, std::string_view lower_name) {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return std::string_view(v);
  }
  return std::nullopt;
}

void append_header_lines(std::string* out, const Headers& headers,
                         std::initializer_list<std::string_view> skip) {
  auto unsafe = [](std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
  };
  for (const auto& [k, v] : headers) {
    bool skipped = k.empty() || unsafe(k) || unsafe(v);
    for (std::string_view name : skip)
      skipped = skipped || k == name;
    if (skipped) continue;
    out->append(k).append(": ").append(v).append("\r\n");
  }
}

std::string_view Request::param(std::string_view name) const {
  for (const PathParam& p : params) {
    if (p.name == name) return p.value;
  }
  return {};
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key != name) continue;
    std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::string plus_as_space(raw);
    for (char& c : plus_as_space) {
      if (c == '+') c = ' ';
    }
    std::string value;
    if (!percent_decode(plus_as_space, &value)) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("content-type", "application/json");
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("content-type", std::move(content_type));
  return r;
}

void Response::set_header(std::string lower_name, std::string value) {
  for (auto& [k, v] : headers) {
    if (k == lower_name) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(lower_name), std::move(value));
}

bool percent_decode(std::string_view s, std::string* out) {
  out->clear();
  out->reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      *out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    int hi = hex(s[i + 1]);
    int lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

}  // namespace socle::http
