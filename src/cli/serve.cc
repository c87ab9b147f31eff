// socle serve: load the configuration, open the store, make sure an administrator exists,
// then serve the API until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>

#include "api/app.h"
#include "base/config.h"
#include "base/file.h"
#include "base/log.h"
#include "cli/commands.h"
#include "cli/data_dir.h"
#include "tenancy/bootstrap.h"

namespace socle::cli {
namespace {

struct ServeFlags {
  std::string config;
  std::string listen;
  std::string data;
  std::string port_file;
};

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
  if (Status s = api::split_listen(config.listen, &host, &port); !s.is_ok())
    return fail(EXIT_USAGE, s);

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

  Result<std::unique_ptr<api::App>> app =
      api::App::create(config, store, audit, SystemClock::instance());
  if (!app.is_ok()) {
    StatusCode c = app.status().code();
    return fail(c == StatusCode::INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILURE_RUNTIME,
                app.status());
  }
  if (!config.port_file.empty()) {
    Status s = write_file_atomic(config.port_file, std::to_string((*app)->port()) + "\n");
    if (!s.is_ok()) return fail(EXIT_FAILURE_RUNTIME, s);
  }
  (*app)->run(/*handle_signals=*/true);
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
