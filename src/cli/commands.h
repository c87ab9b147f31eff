// The subcommands of the socle binary. Each adds itself to the CLI11 app and, when chosen,
// stores its exit status in *exit_code.
#pragma once

#include <CLI/App.hpp>

namespace socle::cli {

void add_serve_command(CLI::App& app, int* exit_code);
void add_admin_command(CLI::App& app, int* exit_code);
void add_audit_command(CLI::App& app, int* exit_code);
void add_tokenizer_commands(CLI::App& app, int* exit_code);
void add_index_command(CLI::App& app, int* exit_code);
void add_model_command(CLI::App& app, int* exit_code);

// Exit statuses: 0 success, 1 runtime failure, 2 bad usage or configuration.
inline constexpr int EXIT_OK = 0;
inline constexpr int EXIT_FAILURE_RUNTIME = 1;
inline constexpr int EXIT_USAGE = 2;

}  // namespace socle::cli
