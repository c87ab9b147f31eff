// Server configuration: every option has a TOML key, an environment variable and a default,
// listed once in config.cc's option table, which also feeds `socle config` and the docs test.
// Precedence, lowest first: defaults < the TOML file < SOCLE_* environment < command-line flags.
#pragma once

#include <boost/json/array.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace socle {

struct Config {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  std::string data_dir = "./data";
  int64_t io_threads = 0;  // 0: one per core, at least 2

  int64_t http_max_header_bytes = int64_t{16} * 1024;
  int64_t http_max_body_bytes = int64_t{16} * 1024 * 1024;
  int64_t http_max_upload_bytes = int64_t{100} * 1024 * 1024;  // multipart routes (audio, OCR)
  int64_t files_max_bytes = int64_t{512} * 1024 * 1024;        // POST /v1/files
  int64_t http_idle_timeout_ms = 60'000;     // keep-alive wait for the next request
  int64_t http_request_timeout_ms = 30'000;  // to receive one whole request
  int64_t http_write_timeout_ms = 30'000;    // for each write to the client
  int64_t http_max_connections = 10'000;
  int64_t shutdown_grace_ms = 30'000;  // in-flight requests get this long after SIGTERM

  bool metrics_public = false;
  std::string log_level = "info";
  int64_t store_poll_ms = 250;  // how often a server looks for changes made elsewhere

  std::string port_file;  // if set, the bound port is written there (tests use port 0)

  // Gateway: how upstream providers are watched and given up on.
  int64_t gateway_health_interval_ms = 10'000;
  int64_t gateway_breaker_failures = 5;  // consecutive failures that open the breaker
  int64_t gateway_breaker_cooldown_ms = 10'000;
  int64_t gateway_max_attempts = 3;  // providers tried for one request

  // Admission and usage accounting.
  int64_t limits_default_max_tokens = 1024;
  int64_t usage_flush_ms = 500;
  int64_t usage_queue_capacity = 100'000;
  double energy_joules_per_flop = 2.5e-12;  // ~0.4 TFLOP per joule: an accelerator serving
  double energy_pue = 1.2;
  double energy_grid_gco2_per_kwh = 56;  // mainland France, yearly average

  // Retention (tenancy/retention.h): 0 keeps everything.
  int64_t retention_usage_days = 0;
  int64_t retention_audit_days = 0;
  int64_t retention_interval_s = 3600;  // how often the retention job runs

  // Fine-tuning jobs (docs/fine-tuning.md).
  int64_t fine_tuning_concurrent_jobs = 1;     // jobs trained at once on this node
  int64_t fine_tuning_memory_mb = 8192;        // a job whose estimate exceeds this fails
  int64_t fine_tuning_checkpoint_every = 10;   // optimiser steps between checkpoints
  double fine_tuning_flops_per_second = 2e10;  // this node's training speed, for estimates

  // The [[models]] tables of the file, as JSON; providers/ validates them. Only the file
  // can set them.
  boost::json::array models;
};

struct OptionSpec {
  const char* key;   // TOML key, dotted for tables: "http.max_body_bytes"
  const char* env;   // environment variable
  const char* flag;  // command-line flag of `socle serve`, or nullptr
  const char* type;  // "string", "integer", "number" or "boolean"
  const char* help;
  std::function<std::string(const Config&)> get;
  std::function<Status(Config&, const std::string&)> set;
};

// The options, in documentation order.
const std::vector<OptionSpec>& config_options();

struct ConfigSources {
  // --config; when empty, $SOCLE_CONFIG, then ./socle.toml if it exists.
  std::string config_file;
  std::map<std::string, std::string> env;    // usually from environ
  std::map<std::string, std::string> flags;  // TOML key -> value, from the command line
};

// Applies the sources in order of precedence; any bad value is an INVALID_ARGUMENT naming the
// key and its source. A file value must have the option's TOML type (an integer option takes a
// TOML integer, a number option an integer or a float, a boolean a boolean, a string a string);
// environment variables and flags are text, parsed by the option's type.
Result<Config> load_config(const ConfigSources& sources);

// The SOCLE_* variables of this process.
std::map<std::string, std::string> socle_environment();

}  // namespace socle
