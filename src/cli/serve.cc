// socle serve: load the configuration, open the store, make sure an administrator exists,
// then serve the API until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "api/app.h"
#include "base/config.h"
#include "base/file.h"
#include "base/json.h"
#include "base/log.h"
#include "cli/commands.h"
#include "cli/data_dir.h"
#include "engine/format/gguf.h"
#include "engine/format/hf_config.h"
#include "tenancy/bootstrap.h"

namespace socle::cli {
namespace {

struct ServeFlags {
  std::string config;
  std::string listen;
  std::string data;
  std::string port_file;
  std::vector<std::string> models;  // --model PATH, each served under its folder or file name
  std::string model_kind;           // for every --model; guessed when empty
};

// The [[models]] entry `socle serve --model PATH` adds: named after the folder or file (less
// .gguf), of `kind` or else a guess from the files: a bert-family folder or GGUF file is an
// embedding model (a rerank model with a classification head), a decoder with a chat template
// a chat model, one without a completion model.
Result<boost::json::object> model_entry(const std::string& path, const std::string& kind) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return invalid_argument("--model " + path +
                            " does not exist; give a Hugging Face model folder or a GGUF file");
  }
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  std::string name = p.filename().string();
  if (p.extension() == ".gguf") name = p.stem().string();
  boost::json::object entry{{"name", name}, {"path", path}};
  if (!kind.empty()) {
    entry["kind"] = kind;
    return entry;
  }
  bool gguf = fs::is_regular_file(path, ec);
  bool has_template = false;
  if (gguf) {
    SOCLE_ASSIGN_OR_RETURN(engine::GgufFile file, engine::GgufFile::open(path));
    const engine::GgufValue* arch = file.value("general.architecture");
    if (arch != nullptr && arch->type == engine::GgufType::STRING && arch->s == "bert") {
      entry["kind"] = file.find("cls.output.weight") != nullptr ? "rerank" : "embedding";
      return entry;
    }
    has_template = file.metadata().contains("tokenizer.chat_template");
  } else {
    SOCLE_ASSIGN_OR_RETURN(engine::HfConfig config, engine::hf_config_read(path));
    if (!engine::model_family_is_decoder(config.family)) {
      entry["kind"] = config.head == engine::ModelHead::ENCODER ? "embedding" : "rerank";
      return entry;
    }
    Result<std::string> tc = read_file((fs::path(path) / "tokenizer_config.json").string());
    if (tc.is_ok()) {
      Result<boost::json::value> v = json::parse(*tc);
      has_template = v.is_ok() && v->is_object() && v->as_object().contains("chat_template");
    }
  }
  entry["kind"] = has_template ? "chat" : "completion";
  return entry;
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
  for (const std::string& path : flags.models) {
    Result<boost::json::object> entry = model_entry(path, flags.model_kind);
    if (!entry.is_ok()) return fail(EXIT_USAGE, entry.status());
    loaded->models.emplace_back(std::move(entry).value());
  }
  const Config& config = *loaded;

  log::Level level = log::Level::INFO;
  bool known_level = log::parse_level(config.log_level, &level);
  SOCLE_CHECK(known_level, "load_config accepts only the levels log::parse_level knows");
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
  if (auto it = sources.env.find(std::string(tenancy::ADMIN_KEY_VARIABLE)); it != sources.env.end())
    supplied_key = it->second;
  Result<tenancy::BootstrapResult> boot =
      tenancy::bootstrap_admin(store, audit, config.data_dir, supplied_key);
  if (!boot.is_ok()) {
    // A malformed SOCLE_ADMIN_KEY is a configuration error like any other (exit 2); a store
    // that cannot be written is not.
    bool bad_variable = boot.status().param() == tenancy::ADMIN_KEY_VARIABLE;
    return fail(bad_variable ? EXIT_USAGE : EXIT_FAILURE_RUNTIME, boot.status());
  }
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
  cmd->add_option("--config", flags->config,
                  "TOML file (default: $SOCLE_CONFIG, else ./socle.toml if present)");
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on");
  cmd->add_option("--data", flags->data, "data directory");
  cmd->add_option("--port-file", flags->port_file, "write the bound port to this file");
  cmd->add_option("--model", flags->models,
                  "serve this model on socle's engine (a Hugging Face folder or a GGUF file), "
                  "named after it; repeatable");
  cmd->add_option("--model-kind", flags->model_kind,
                  "chat, completion, embedding or rerank for every --model (default: guessed)");
  cmd->callback([flags, exit_code] { *exit_code = run_serve(*flags); });
}

}  // namespace socle::cli
