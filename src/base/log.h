// Structured logs: one JSON object per line on stderr, with the time, the level, the
// request id of the request being served on this thread (if any), the message and
// extra fields. Secrets, Authorization headers and request bodies are never passed here.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace socle::log {

enum class Level { DEBUG, INFO, WARN, ERROR, OFF };

// Parses "debug", "info", "warn", "error" or "off"; false if the name is unknown.
bool parse_level(std::string_view name, Level* out);

// Sets the threshold; call once at start-up. Thread-safe afterwards.
void set_level(Level level);
bool enabled(Level level);

struct Field {
  using Value = std::variant<std::string_view, int64_t, double, bool>;
  std::string_view key;
  Value value;

  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, unsigned v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, uint64_t v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
};
using Fields = std::initializer_list<Field>;

void write(Level level, std::string_view msg, Fields fields = {});
inline void debug(std::string_view msg, Fields f = {}) {
  write(Level::DEBUG, msg, f);
}
inline void info(std::string_view msg, Fields f = {}) {
  write(Level::INFO, msg, f);
}
inline void warn(std::string_view msg, Fields f = {}) {
  write(Level::WARN, msg, f);
}
inline void error(std::string_view msg, Fields f = {}) {
  write(Level::ERROR, msg, f);
}

// Formats one log line (without the newline); exposed for tests.
std::string format_line(Level level, std::string_view msg, Fields fields,
                        std::string_view request_id);

// While alive, every log line written on this thread carries `request_id`.
class ScopedRequestId {
 public:
  explicit ScopedRequestId(std::string_view request_id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string_view previous_;
};

std::string_view current_request_id();

}  // namespace socle::log
