#include "base/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/json/serializer.hpp>
#include <boost/json/string.hpp>
#include <chrono>
#include <memory>

#include "base/json.h"

namespace socle::log {
namespace {

std::atomic<Level> g_level{Level::INFO};
thread_local std::string_view t_request_id;

const char* level_name(Level level) {
  switch (level) {
    case Level::DEBUG:
      return "debug";
    case Level::INFO:
      return "info";
    case Level::WARN:
      return "warn";
    case Level::ERROR:
      return "error";
    case Level::OFF:
      return "off";
  }
  return "info";
}

// spdlog's stderr sink serialises writers so that concurrent lines never interleave.
spdlog::logger& sink_logger() {
  static auto logger = [] {
    auto l = std::make_shared<spdlog::logger>("socle",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

std::string utc_timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

bool parse_level(std::string_view name, Level* out) {
  for (Level l : {Level::DEBUG, Level::INFO, Level::WARN, Level::ERROR, Level::OFF}) {
    if (name == level_name(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

void set_level(Level level) {
  g_level.store(level, std::memory_order_relaxed);
}

bool enabled(Level level) {
  return level != Level::OFF && level >= g_level.load(std::memory_order_relaxed);
}

std::string format_line(Level level, std::string_view msg, Fields fields,
                        std::string_view request_id) {
  std::string line;
  line.reserve(128);
  line += "{\"ts\":\"";
  line += utc_timestamp();
  line += "\",\"level\":\"";
  line += level_name(level);
  line += '"';
  if (!request_id.empty()) {
    line += ",\"request_id\":";
    json::append_quoted(line, request_id);
  }
  line += ",\"msg\":";
  json::append_quoted(line, msg);
  for (const Field& f : fields) {
    line += ',';
    json::append_quoted(line, f.key);
    line += ':';
    std::visit(
        [&line](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::string_view>) {
            json::append_quoted(line, v);
          } else if constexpr (std::is_same_v<V, bool>) {
            line += v ? "true" : "false";
          } else if constexpr (std::is_same_v<V, double>) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.6g", v);
            line += buf;
          } else {
            line += std::to_string(v);
          }
        },
        f.value);
  }
  line += '}';
  return line;
}

void write(Level level, std::string_view msg, Fields fields) {
  if (!enabled(level)) return;
  sink_logger().log(spdlog::level::info, format_line(level, msg, fields, t_request_id));
}

ScopedRequestId::ScopedRequestId(std::string_view request_id) : previous_(t_request_id) {
  t_request_id = request_id;
}
ScopedRequestId::~ScopedRequestId() {
  t_request_id = previous_;
}

std::string_view current_request_id() {
  return t_request_id;
}

}  // namespace socle::log
