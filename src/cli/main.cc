// socle: one binary for the server and its operator commands.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "base/version.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "socle: a self-hosted generative-AI platform (OpenAI-compatible API, RAG, fine-tuning)"};
  app.require_subcommand(1);
  int exit_code = socle::cli::EXIT_OK;

  app.add_subcommand("version", "Print the version")->callback([] {
    std::printf("socle %s\n", socle::version_string());
  });
  socle::cli::add_serve_command(app, &exit_code);
  socle::cli::add_admin_command(app, &exit_code);
  socle::cli::add_audit_command(app, &exit_code);
  socle::cli::add_tokenizer_commands(app, &exit_code);
  socle::cli::add_index_command(app, &exit_code);
  socle::cli::add_model_command(app, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? socle::cli::EXIT_OK : socle::cli::EXIT_USAGE;
  }
  return exit_code;
}
