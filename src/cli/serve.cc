// socle serve: load the configuration, open the store, make sure an administrator exists,
// then serve the API until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include "api/metrics.h"
#include "api/services.h"
#include "api/usage_log.h"
#include "base/config.h"
#include "base/file.h"
#include "base/log.h"
#include "cli/commands.h"
#include "cli/data_dir.h"
#include "http/client.h"
#include "http/server.h"
#include "providers/health.h"
#include "providers/model_spec.h"
#include "providers/registry.h"
#include "tenancy/bootstrap.h"
#include "tenancy/change_watcher.h"
#include "tenancy/key_cache.h"
#include "tenancy/limits.h"
#include "tenancy/usage_writer.h"

namespace socle::cli {
namespace {

struct ServeFlags {
  std::string config;
  std::string listen;
  std::string data;
  std::string port_file;
};

Status split_listen(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return invalid_argument("listen address '" + listen + "' must be HOST:PORT");
  }
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  int p = 0;
  try {
    size_t used = 0;
    p = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) p = -1;
  } catch (const std::exception&) {
    p = -1;
  }
  if (p < 0 || p > 65535) return invalid_argument("port in '" + listen + "' must be 0 to 65535");
  *port = static_cast<uint16_t>(p);
  return Status::ok();
}

int fail(int code, const Status& s) {
  log::error("cannot start", {{"error", s.to_string()}});
  std::fprintf(stderr, "socle: %s\n", s.message().c_str());
  return code;
}

int run_serve(const ServeFlags& flags) {
  ConfigSources sources;
  sources.config_file = flags.config;
  sources.env = socle_environment();
  if (!flags.listen.empty()) sources.flags["listen"] = flags.listen;
  if (!flags.data.empty()) sources.flags["data"] = flags.data;
  if (!flags.port_file.empty()) sources.flags["port_file"] = flags.port_file;
  Result<Config> loaded = load_config(sources);
  if (!loaded.is_ok()) return fail(EXIT_USAGE, loaded.status());
  const Config& config = *loaded;

  log::Level level = log::Level::INFO;
  if (!log::parse_level(config.log_level, &level)) {
    return fail(EXIT_USAGE, invalid_argument("log.level '" + config.log_level + "' is unknown"));
  }
  log::set_level(level);

  std::string host;
  uint16_t port = 0;
  if (Status s = split_listen(config.listen, &host, &port); !s.is_ok()) return fail(EXIT_USAGE, s);

  Result<DataDir> opened = open_data_dir(config.data_dir, sources.env);
  if (!opened.is_ok()) return fail(EXIT_FAILURE_RUNTIME, opened.status());
  store::Store& store = *opened->store;
  tenancy::AuditLog& audit = *opened->audit;

  std::optional<std::string> supplied_key;
  if (auto it = sources.env.find("SOCLE_ADMIN_KEY"); it != sources.env.end())
    supplied_key = it->second;
  Result<tenancy::BootstrapResult> boot =
      tenancy::bootstrap_admin(store, audit, config.data_dir, supplied_key);
  if (!boot.is_ok()) return fail(EXIT_FAILURE_RUNTIME, boot.status());
  if (boot->created && !boot->key_path.empty()) {
    log::info("first start: admin user created", {{"admin_key_file", boot->key_path}});
    std::printf("socle: first start. The admin API key is in %s (readable by its owner only).\n",
                boot->key_path.c_str());
    std::fflush(stdout);
  } else if (boot->created) {
    log::info("first start: admin user created with the key from SOCLE_ADMIN_KEY");
  }

  const Clock& clock = SystemClock::instance();
  tenancy::KeyCache keys(store, clock);
  if (Status s = keys.reload(); !s.is_ok()) return fail(EXIT_FAILURE_RUNTIME, s);

  Result<std::vector<providers::ModelSpec>> specs = providers::parse_model_specs(config.models);
  if (!specs.is_ok()) return fail(EXIT_USAGE, specs.status());
  providers::Registry registry(
      std::move(specs).value(),
      {config.gateway_breaker_failures, config.gateway_breaker_cooldown_ms}, clock);

  // Declared before the client: relays that the client's threads still hold at shutdown
  // settle their admissions and record their usage into these.
  tenancy::Limiter limiter(clock);
  if (Status s = tenancy::load_limit_rules(store, limiter); !s.is_ok())
    return fail(EXIT_FAILURE_RUNTIME, s);
  tenancy::UsageWriterSettings writer_settings;
  writer_settings.capacity = static_cast<size_t>(config.usage_queue_capacity);
  writer_settings.flush_ms = config.usage_flush_ms;
  writer_settings.max_retry_ms =
      std::max<int64_t>(writer_settings.max_retry_ms, config.usage_flush_ms);
  writer_settings.energy = {config.energy_joules_per_flop, config.energy_pue,
                            config.energy_grid_gco2_per_kwh};
  if (Status s = tenancy::check_usage_writer_settings(writer_settings); !s.is_ok())
    return fail(EXIT_USAGE, s);
  tenancy::UsageWriter usage_writer(
      store.usage(),
      [&registry](const std::string& model) {
        const providers::Model* m = registry.find(model);
        return m != nullptr ? m->spec().parameters_billions : 0.0;
      },
      writer_settings);
  api::HttpMetrics metrics;
  api::UsageLog usage_log(metrics);
  tenancy::UsageFanout usage({&usage_log, &usage_writer});

  std::unique_ptr<http::HttpClient> client = http::HttpClient::create({});
  api::Services services{config,   store,   keys,  clock, metrics,
                         registry, *client, usage, audit, limiter};
  http::Router router;
  api::register_routes(router, services);

  http::ServerOptions opts;
  opts.host = host;
  opts.port = port;
  opts.io_threads = config.io_threads > 0
                        ? static_cast<int>(config.io_threads)
                        : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  opts.max_header_bytes = config.http_max_header_bytes;
  opts.max_body_bytes = config.http_max_body_bytes;
  opts.idle_timeout_ms = config.http_idle_timeout_ms;
  opts.request_timeout_ms = config.http_request_timeout_ms;
  opts.write_timeout_ms = config.http_write_timeout_ms;
  opts.max_connections = config.http_max_connections;
  opts.shutdown_grace_ms = config.shutdown_grace_ms;
  Result<std::unique_ptr<http::Server>> created =
      http::Server::create(opts, router, api::server_hooks(services));
  if (!created.is_ok()) return fail(EXIT_FAILURE_RUNTIME, created.status());
  http::Server& server = **created;
  services.open_connections = [&server] { return server.open_connections(); };

  if (!config.port_file.empty()) {
    Status s = write_file_atomic(config.port_file, std::to_string(server.port()) + "\n");
    if (!s.is_ok()) return fail(EXIT_FAILURE_RUNTIME, s);
  }

  tenancy::ChangeWatcher watcher(store, config.store_poll_ms, [&keys, &store, &limiter] {
    Status s = keys.refresh();
    if (!s.is_ok()) log::error("key cache refresh failed", {{"error", s.message()}});
    s = tenancy::load_limit_rules(store, limiter);
    if (!s.is_ok()) log::error("limit rules reload failed", {{"error", s.message()}});
  });

  std::optional<providers::HealthChecker> health;
  if (!registry.models().empty())
    health.emplace(registry, *client, config.gateway_health_interval_ms);

  log::info("listening", {{"host", host},
                          {"port", static_cast<int>(server.port())},
                          {"data", config.data_dir},
                          {"io_threads", opts.io_threads},
                          {"models", static_cast<uint64_t>(registry.models().size())}});
  server.run(/*handle_signals=*/true);
  log::info("stopped");
  return EXIT_OK;
}

}  // namespace

void add_serve_command(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the API (defaults: 127.0.0.1:8080, ./data)");
  cmd->add_option("--config", flags->config, "TOML file (default: ./socle.toml if present)");
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on");
  cmd->add_option("--data", flags->data, "data directory");
  cmd->add_option("--port-file", flags->port_file, "write the bound port to this file");
  cmd->callback([flags, exit_code] { *exit_code = run_serve(*flags); });
}

}  // namespace socle::cli
