// socle index rebuild: rebuilds every collection's lexical and dense indexes from the store
// (the documents' stored originals), e.g. after restoring a backup of the database alone, or
// when an index file is damaged. Run it with the server stopped: both would write the indexes.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "api/embedder.h"
#include "base/clock.h"
#include "base/config.h"
#include "cli/commands.h"
#include "cli/data_dir.h"
#include "http/client.h"
#include "providers/model_spec.h"
#include "providers/registry.h"
#include "rag/service.h"
#include "store/store.h"

namespace socle::cli {
namespace {

struct IndexFlags {
  std::string config;
  std::string data;
};

Status rebuild(const IndexFlags& f) {
  SOCLE_ASSIGN_OR_RETURN(Config config, load_command_config(f.config, f.data));
  SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, open_existing_store(config.data_dir));
  SOCLE_ASSIGN_OR_RETURN(std::vector<providers::ModelSpec> specs,
                         providers::parse_model_specs(config.models));
  providers::Registry registry(
      std::move(specs), {config.gateway_breaker_failures, config.gateway_breaker_cooldown_ms},
      SystemClock::instance());
  std::unique_ptr<http::HttpClient> client = http::HttpClient::create({});
  api::RegistryEmbedder embedder(registry, *client, config.gateway_max_attempts);
  rag::Rag rag(*store, config.data_dir, embedder, rag::RagOptions{});
  SOCLE_RETURN_IF_ERROR(rag.rebuild_all());
  std::printf("socle: indexes rebuilt in %s/collections\n", config.data_dir.c_str());
  return Status::ok();
}

}  // namespace

void add_index_command(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<IndexFlags>();
  CLI::App* index = app.add_subcommand("index", "Maintain the RAG indexes");
  index->require_subcommand(1);
  CLI::App* r = index->add_subcommand(
      "rebuild", "Rebuild every collection's indexes from the store (stop the server first)");
  r->add_option("--data", f->data, "data directory (default ./data, or SOCLE_DATA)");
  r->add_option("--config", f->config,
                "TOML file with the embedding models (default ./socle.toml)");
  r->callback([f, exit_code] {
    Status s = rebuild(*f);
    if (!s.is_ok()) std::fprintf(stderr, "socle index rebuild: %s\n", s.message().c_str());
    *exit_code =
        s.is_ok() ? EXIT_OK
                  : (s.code() == StatusCode::INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILURE_RUNTIME);
  });
}

}  // namespace socle::cli
