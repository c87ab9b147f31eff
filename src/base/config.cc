#include "base/config.h"

#include <toml++/toml.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string_view>

#include "base/log.h"

namespace socle {
namespace {

// A century of retention, a year between its runs: beyond, the cut-off times overflow.
constexpr int64_t MAX_RETENTION_DAYS = 36'500;
constexpr int64_t MAX_RETENTION_INTERVAL_S = 31'536'000;

Status parse_int(const std::string& text, int64_t min, int64_t max, int64_t* out) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return invalid_argument("'" + text + "' is not an integer");
  }
  if (v < min) return invalid_argument(text + " is below the minimum " + std::to_string(min));
  if (v > max) return invalid_argument(text + " is above the maximum " + std::to_string(max));
  *out = v;
  return Status::ok();
}

Status parse_bool(const std::string& text, bool* out) {
  if (text == "true" || text == "1") {
    *out = true;
  } else if (text == "false" || text == "0") {
    *out = false;
  } else {
    return invalid_argument("'" + text + "' is not a boolean (true or false)");
  }
  return Status::ok();
}

OptionSpec string_option(const char* key, const char* env, const char* flag, const char* help,
                         std::string Config::*field) {
  return {key,
          env,
          flag,
          "string",
          help,
          [field](const Config& c) { return c.*field; },
          [field](Config& c, const std::string& v) {
            c.*field = v;
            return Status::ok();
          }};
}

OptionSpec int_option(const char* key, const char* env, const char* help, int64_t Config::*field,
                      int64_t min, int64_t max = std::numeric_limits<int64_t>::max()) {
  return {key,
          env,
          nullptr,
          "integer",
          help,
          [field](const Config& c) { return std::to_string(c.*field); },
          [field, min, max](Config& c, const std::string& v) {
            return parse_int(v, min, max, &(c.*field));
          }};
}

Status parse_double(const std::string& text, double min, double* out) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return invalid_argument("'" + text + "' is not a number");
  }
  // from_chars reads "inf" and "nan", which no option means.
  if (!std::isfinite(v)) return invalid_argument("'" + text + "' is not a finite number");
  if (!(v >= min)) return invalid_argument(text + " is below the minimum " + std::to_string(min));
  *out = v;
  return Status::ok();
}

OptionSpec double_option(const char* key, const char* env, const char* help, double Config::*field,
                         double min) {
  return {
      key,
      env,
      nullptr,
      "number",
      help,
      [field](const Config& c) {
        char buf[64];
        auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, c.*field);
        return ec == std::errc() ? std::string(buf, ptr) : std::string("?");
      },
      [field, min](Config& c, const std::string& v) { return parse_double(v, min, &(c.*field)); }};
}

OptionSpec bool_option(const char* key, const char* env, const char* help, bool Config::*field) {
  return {key,
          env,
          nullptr,
          "boolean",
          help,
          [field](const Config& c) { return std::string(c.*field ? "true" : "false"); },
          [field](Config& c, const std::string& v) { return parse_bool(v, &(c.*field)); }};
}

// log.level: a string, one of the names log::parse_level knows.
OptionSpec log_level_option(const char* key, const char* env, const char* help,
                            std::string Config::*field) {
  return {key,
          env,
          nullptr,
          "string",
          help,
          [field](const Config& c) { return c.*field; },
          [field](Config& c, const std::string& v) {
            log::Level level = log::Level::INFO;
            if (!log::parse_level(v, &level)) {
              return invalid_argument("'" + v +
                                      "' is not a log level (debug, info, warn, error or off)");
            }
            c.*field = v;
            return Status::ok();
          }};
}

const OptionSpec* find_option(std::string_view key) {
  for (const OptionSpec& o : config_options()) {
    if (key == o.key) return &o;
  }
  return nullptr;
}

// A TOML value as JSON, for the structured sections ([[models]]) that providers/ validates.
Result<boost::json::value> to_json(const toml::node& node, const std::string& where) {
  if (const toml::table* t = node.as_table()) {
    boost::json::object o;
    for (const auto& [k, v] : *t) {
      SOCLE_ASSIGN_OR_RETURN(boost::json::value jv, to_json(v, where + "." + std::string(k.str())));
      o[k.str()] = std::move(jv);
    }
    return boost::json::value(std::move(o));
  }
  if (const toml::array* a = node.as_array()) {
    boost::json::array out;
    for (size_t i = 0; i < a->size(); ++i) {
      SOCLE_ASSIGN_OR_RETURN(boost::json::value jv,
                             to_json(*a->get(i), where + "[" + std::to_string(i) + "]"));
      out.push_back(std::move(jv));
    }
    return boost::json::value(std::move(out));
  }
  if (node.is_string()) return boost::json::value(*node.value<std::string>());
  if (node.is_integer()) return boost::json::value(*node.value<int64_t>());
  if (node.is_floating_point()) return boost::json::value(*node.value<double>());
  if (node.is_boolean()) return boost::json::value(*node.value<bool>());
  return invalid_argument(where + ": dates and times are not supported here");
}

// Flattens a TOML table into dotted keys; the values stay TOML nodes owned by `table`, so
// that their types can be checked against the options'.
void flatten(const toml::table& table, const std::string& prefix,
             std::map<std::string, const toml::node*>* out) {
  for (const auto& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const toml::table* sub = node.as_table()) {
      flatten(*sub, key, out);
    } else {
      (*out)[key] = &node;
    }
  }
}

// What an error message calls a TOML value of this type.
const char* toml_type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// A file value as the text `o.set` parses, if its TOML type is the one `o` declares: integer
// options take TOML integers, booleans TOML booleans, strings TOML strings, and numbers TOML
// integers or floats. Turning any scalar into text first would let `io_threads = "4"` or
// `metrics.public = 1` through, which the file's types say are something else.
Result<std::string> toml_value_text(const toml::node& node, const OptionSpec& o,
                                    const std::string& where) {
  std::string_view type = o.type;
  if (type == "string" && node.is_string()) return *node.value<std::string>();
  if (type == "integer" && node.is_integer()) return std::to_string(*node.value<int64_t>());
  if (type == "boolean" && node.is_boolean()) {
    return std::string(*node.value<bool>() ? "true" : "false");
  }
  if (type == "number" && node.is_integer()) return std::to_string(*node.value<int64_t>());
  if (type == "number" && node.is_floating_point()) {
    char buf[64];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, *node.value<double>());
    SOCLE_CHECK(ec == std::errc(), "64 bytes hold any double's shortest form");
    return std::string(buf, ptr);
  }
  std::string expected = type == "integer"   ? "an integer"
                         : type == "number"  ? "a number (integer or floating-point)"
                         : type == "boolean" ? "a boolean (true or false)"
                                             : "a string";
  return invalid_argument(where + " must be " + expected + ", found " +
                          toml_type_name(node.type()));
}

Status apply(Config& config, const OptionSpec& o, const std::string& value,
             const std::string& source) {
  Status s = o.set(config, value);
  if (s.is_ok()) return s;
  return invalid_argument(source + ": " + s.message());
}

}  // namespace

const std::vector<OptionSpec>& config_options() {
  static const std::vector<OptionSpec> options = {
      string_option("listen", "SOCLE_LISTEN", "--listen",
                    "Address and port to serve on, HOST:PORT. Port 0 picks a free port.",
                    &Config::listen),
      string_option("data", "SOCLE_DATA", "--data",
                    "Data directory: the SQLite store, the admin key file, indexes.",
                    &Config::data_dir),
      int_option("io_threads", "SOCLE_IO_THREADS",
                 "Threads serving HTTP connections and the upstream calls they relay; 0 means one "
                 "per core, at least 2.",
                 &Config::io_threads, 0),
      int_option("http.max_header_bytes", "SOCLE_HTTP_MAX_HEADER_BYTES",
                 "Largest request line plus headers; larger requests get 431.",
                 &Config::http_max_header_bytes, 1024),
      int_option("http.max_body_bytes", "SOCLE_HTTP_MAX_BODY_BYTES",
                 "Largest request body; larger bodies get 413.", &Config::http_max_body_bytes, 1),
      int_option("http.max_upload_bytes", "SOCLE_HTTP_MAX_UPLOAD_BYTES",
                 "Largest body of the multipart routes (documents, audio transcription, OCR); "
                 "larger get 413.",
                 &Config::http_max_upload_bytes, 1),
      int_option("files.max_bytes", "SOCLE_FILES_MAX_BYTES",
                 "Largest file accepted by POST /v1/files (fine-tuning data); larger get 413.",
                 &Config::files_max_bytes, 1),
      int_option("http.idle_timeout_ms", "SOCLE_HTTP_IDLE_TIMEOUT_MS",
                 "How long a keep-alive connection may wait for its next request.",
                 &Config::http_idle_timeout_ms, 1),
      int_option("http.request_timeout_ms", "SOCLE_HTTP_REQUEST_TIMEOUT_MS",
                 "How long a client has to send a whole request once it has started; then 408.",
                 &Config::http_request_timeout_ms, 1),
      int_option("http.write_timeout_ms", "SOCLE_HTTP_WRITE_TIMEOUT_MS",
                 "How long one write to a client may take before the connection is dropped.",
                 &Config::http_write_timeout_ms, 1),
      int_option("http.max_connections", "SOCLE_HTTP_MAX_CONNECTIONS",
                 "Open connections accepted at once; the next ones get 503 and are closed.",
                 &Config::http_max_connections, 1),
      int_option("http.shutdown_grace_ms", "SOCLE_HTTP_SHUTDOWN_GRACE_MS",
                 "On SIGTERM or SIGINT, how long in-flight requests have to finish.",
                 &Config::shutdown_grace_ms, 0),
      bool_option("metrics.public", "SOCLE_METRICS_PUBLIC",
                  "Serve /metrics and /health/models without a key (otherwise a key with "
                  "read_metrics is needed).",
                  &Config::metrics_public),
      log_level_option("log.level", "SOCLE_LOG_LEVEL", "debug, info, warn, error or off.",
                       &Config::log_level),
      int_option("store.poll_ms", "SOCLE_STORE_POLL_MS",
                 "How often the server checks the store for changes made by the CLI or other "
                 "nodes (keys, users); a revocation takes effect within this delay.",
                 &Config::store_poll_ms, 10),
      int_option("gateway.health_interval_ms", "SOCLE_GATEWAY_HEALTH_INTERVAL_MS",
                 "How often each upstream provider's health is checked.",
                 &Config::gateway_health_interval_ms, 100),
      int_option("gateway.breaker_failures", "SOCLE_GATEWAY_BREAKER_FAILURES",
                 "Consecutive failures after which a provider is taken out of rotation.",
                 &Config::gateway_breaker_failures, 1),
      int_option("gateway.breaker_cooldown_ms", "SOCLE_GATEWAY_BREAKER_COOLDOWN_MS",
                 "How long a provider stays out after its breaker opens, before one trial request.",
                 &Config::gateway_breaker_cooldown_ms, 1),
      int_option("gateway.max_attempts", "SOCLE_GATEWAY_MAX_ATTEMPTS",
                 "Providers tried for one request before the client gets an error (failover "
                 "happens only before the first byte reaches the client).",
                 &Config::gateway_max_attempts, 1),
      int_option("limits.default_max_tokens", "SOCLE_LIMITS_DEFAULT_MAX_TOKENS",
                 "Completion tokens reserved against token limits for a request that gives no "
                 "max_tokens, on a model with neither default_max_tokens nor context_length.",
                 &Config::limits_default_max_tokens, 0),
      int_option("usage.flush_ms", "SOCLE_USAGE_FLUSH_MS",
                 "Usage records are written to the store in batches at least this often.",
                 &Config::usage_flush_ms, 10),
      int_option("retention.usage_days", "SOCLE_RETENTION_USAGE_DAYS",
                 "Usage records older than this many days are deleted (audited as "
                 "usage.prune); 0 keeps them.",
                 &Config::retention_usage_days, 0, MAX_RETENTION_DAYS),
      int_option("retention.audit_days", "SOCLE_RETENTION_AUDIT_DAYS",
                 "Audit entries older than this many days are deleted, the log still "
                 "verifying (audit.prune); 0 keeps them.",
                 &Config::retention_audit_days, 0, MAX_RETENTION_DAYS),
      int_option("retention.interval_s", "SOCLE_RETENTION_INTERVAL_S",
                 "How often the retention job runs (also once at start).",
                 &Config::retention_interval_s, 1, MAX_RETENTION_INTERVAL_S),
      int_option("usage.queue_capacity", "SOCLE_USAGE_QUEUE_CAPACITY",
                 "Usage records waiting to be written; beyond it new ones are dropped and "
                 "counted (socle_usage_records_dropped_total).",
                 &Config::usage_queue_capacity, 1),
      double_option("energy.joules_per_flop", "SOCLE_ENERGY_JOULES_PER_FLOP",
                    "Energy per floating-point operation of the serving hardware, for the "
                    "usage records' kWh estimate (docs/tenancy.md).",
                    &Config::energy_joules_per_flop, 0),
      double_option("energy.pue", "SOCLE_ENERGY_PUE",
                    "Power usage effectiveness of the data centre (1 = no overhead).",
                    &Config::energy_pue, 1),
      double_option("energy.grid_gco2_per_kwh", "SOCLE_ENERGY_GRID_GCO2_PER_KWH",
                    "Carbon intensity of the electricity, in grams of CO2 per kWh (the default "
                    "is mainland France's average).",
                    &Config::energy_grid_gco2_per_kwh, 0),
      int_option("fine_tuning.concurrent_jobs", "SOCLE_FINE_TUNING_CONCURRENT_JOBS",
                 "Fine-tuning jobs trained at once on this node; the others wait, queued.",
                 &Config::fine_tuning_concurrent_jobs, 1),
      int_option("fine_tuning.memory_mb", "SOCLE_FINE_TUNING_MEMORY_MB",
                 "Memory a fine-tuning job may use beyond the base model's weights (activations, "
                 "adapter, optimiser); a job whose estimate exceeds it fails at once.",
                 &Config::fine_tuning_memory_mb, 1),
      int_option("fine_tuning.checkpoint_every", "SOCLE_FINE_TUNING_CHECKPOINT_EVERY",
                 "Optimiser steps between a job's checkpoints: a restart resumes from the last "
                 "one and loses at most this many steps.",
                 &Config::fine_tuning_checkpoint_every, 1),
      double_option("fine_tuning.flops_per_second", "SOCLE_FINE_TUNING_FLOPS_PER_SECOND",
                    "This node's training speed in floating-point operations per second, for "
                    "the estimated duration of fine-tuning jobs.",
                    &Config::fine_tuning_flops_per_second, 1),
      string_option("port_file", "SOCLE_PORT_FILE", "--port-file",
                    "If set, the port actually bound is written to this file (for port 0).",
                    &Config::port_file),
  };
  return options;
}

Result<Config> load_config(const ConfigSources& sources) {
  Config config;

  std::string path = sources.config_file;
  bool explicit_path = !path.empty();
  if (path.empty()) {
    if (auto it = sources.env.find("SOCLE_CONFIG");
        it != sources.env.end() && !it->second.empty()) {
      path = it->second;
      explicit_path = true;
    } else if (std::filesystem::exists("socle.toml")) {
      path = "socle.toml";
    }
  }
  if (!path.empty()) {
    if (explicit_path && !std::filesystem::exists(path)) {
      return invalid_argument("config file " + path + " does not exist");
    }
    // Debian's toml++ is built with exceptions: parse errors arrive as toml::parse_error.
    toml::table table;
    try {
      table = toml::parse_file(path);
    } catch (const toml::parse_error& err) {
      return invalid_argument(path + ":" + std::to_string(err.source().begin.line) + ":" +
                              std::to_string(err.source().begin.column) + ": " +
                              std::string(err.description()));
    }
    if (const toml::node* models = table.get("models")) {
      if (!models->is_array_of_tables()) {
        return invalid_argument(path + ": 'models' must be an array of tables ([[models]])");
      }
      SOCLE_ASSIGN_OR_RETURN(boost::json::value m, to_json(*models, "models"));
      config.models = std::move(m.as_array());
      table.erase("models");
    }
    std::map<std::string, const toml::node*> values;
    flatten(table, "", &values);
    for (const auto& [key, node] : values) {
      const OptionSpec* o = find_option(key);
      if (o == nullptr) {
        return invalid_argument(path + ": unknown option '" + key +
                                "' (docs/configuration.md lists them)");
      }
      std::string where = path + ": " + key;
      SOCLE_ASSIGN_OR_RETURN(std::string text, toml_value_text(*node, *o, where));
      SOCLE_RETURN_IF_ERROR(apply(config, *o, text, where));
    }
  }

  for (const OptionSpec& o : config_options()) {
    if (auto it = sources.env.find(o.env); it != sources.env.end()) {
      SOCLE_RETURN_IF_ERROR(apply(config, o, it->second, o.env));
    }
  }
  for (const auto& [key, value] : sources.flags) {
    const OptionSpec* o = find_option(key);
    SOCLE_CHECK(o != nullptr, "command-line flags map to known option keys");
    SOCLE_RETURN_IF_ERROR(apply(config, *o, value, o->flag ? o->flag : key));
  }
  return config;
}

std::map<std::string, std::string> socle_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (!kv.starts_with("SOCLE_")) continue;
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

}  // namespace socle
