// socle audit: check and export the audit log of a data directory, with or without a server
// running on it. None of these commands creates a key or writes an entry.
//   verify      checks the chain and the checkpoints; exit 0 with a summary when intact, exit
//               1 naming the first bad entry otherwise
//   export      the entries (or, with --checkpoints, the checkpoints) as JSON lines
//   checkpoint  signs the current head now and prints the checkpoint, to keep elsewhere
#include "tenancy/audit.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>

#include "base/clock.h"
#include "base/config.h"
#include "base/file.h"
#include "base/json.h"
#include "cli/commands.h"
#include "cli/data_dir.h"
#include "tenancy/audit_key.h"

namespace socle::cli {
namespace {

// Export reads the log in pages of this many entries.
constexpr int64_t EXPORT_PAGE = 1000;

struct AuditFlags {
  std::string config;
  std::string data;
  std::string checkpoint_file;  // verify: checkpoints exported earlier, one JSON object a line
  int64_t since = 1;            // export: the first seq printed
  bool checkpoints = false;     // export: the checkpoints instead of the entries
};

struct Opened {
  std::string data_dir;
  std::map<std::string, std::string> env;
  std::unique_ptr<store::Store> store;
};

// The data directory's store, which must exist already: these commands inspect, never create.
Result<Opened> open_existing(const AuditFlags& f) {
  SOCLE_ASSIGN_OR_RETURN(Config config, load_command_config(f.config, f.data));
  Opened o{config.data_dir, socle_environment(), nullptr};
  SOCLE_ASSIGN_OR_RETURN(o.store, open_existing_store(config.data_dir));
  return o;
}

Result<tenancy::AuditLog> open_log(Opened& o) {
  SOCLE_ASSIGN_OR_RETURN(std::string key,
                         tenancy::load_audit_key(tenancy::audit_key_path(o.data_dir, o.env)));
  return tenancy::AuditLog(*o.store, std::move(key), SystemClock::instance());
}

Result<std::vector<store::AuditCheckpoint>> read_checkpoint_file(const std::string& path) {
  std::vector<store::AuditCheckpoint> out;
  if (path.empty()) return out;
  SOCLE_ASSIGN_OR_RETURN(std::string text, read_file(path));
  std::istringstream lines(text);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Result<store::AuditCheckpoint> cp = tenancy::audit_checkpoint_from_json(line);
    if (!cp.is_ok()) {
      return invalid_argument(path + " line " + std::to_string(n) + ": " + cp.status().message());
    }
    out.push_back(std::move(cp).value());
  }
  return out;
}

Status verify(const AuditFlags& f, bool* intact) {
  SOCLE_ASSIGN_OR_RETURN(Opened o, open_existing(f));
  SOCLE_ASSIGN_OR_RETURN(tenancy::AuditLog log, open_log(o));
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::AuditCheckpoint> external,
                         read_checkpoint_file(f.checkpoint_file));
  SOCLE_ASSIGN_OR_RETURN(tenancy::AuditVerifyReport r, log.verify(external));
  *intact = r.ok();
  if (r.ok()) {
    std::printf("audit log intact: %lld entries (seq %lld to %lld), %lld checkpoints checked",
                static_cast<long long>(r.entries), static_cast<long long>(r.pruned_through) + 1,
                static_cast<long long>(r.head_seq), static_cast<long long>(r.checkpoints));
    if (r.pruned_through > 0) {
      std::printf("; seq 1 to %lld deleted by retention (audit.prune)",
                  static_cast<long long>(r.pruned_through));
    }
    std::printf("\n");
  } else {
    std::printf("audit log damaged at seq %lld: %s\n", static_cast<long long>(r.problem->seq),
                r.problem->what.c_str());
  }
  return Status::ok();
}

Status export_log(const AuditFlags& f) {
  SOCLE_ASSIGN_OR_RETURN(Opened o, open_existing(f));
  store::Actor sys = store::Actor::system();
  if (f.checkpoints) {
    SOCLE_ASSIGN_OR_RETURN(std::vector<store::AuditCheckpoint> cps,
                           o.store->audit().checkpoints(sys));
    for (const auto& cp : cps) {
      if (cp.seq >= f.since)
        std::printf("%s\n", json::dump(tenancy::audit_checkpoint_json(cp)).c_str());
    }
    return Status::ok();
  }
  store::AuditQuery q;
  q.limit = EXPORT_PAGE;
  q.after_seq = f.since <= std::numeric_limits<int64_t>::min() + 1 ? f.since : f.since - 1;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(std::vector<store::AuditEntry> page, o.store->audit().list(sys, q));
    for (const auto& e : page)
      std::printf("%s\n", json::dump(tenancy::audit_entry_json(e)).c_str());
    if (static_cast<int64_t>(page.size()) < q.limit) break;
    q.after_seq = page.back().seq;
  }
  return Status::ok();
}

Status checkpoint(const AuditFlags& f) {
  SOCLE_ASSIGN_OR_RETURN(Opened o, open_existing(f));
  SOCLE_ASSIGN_OR_RETURN(tenancy::AuditLog log, open_log(o));
  SOCLE_ASSIGN_OR_RETURN(store::AuditCheckpoint cp, log.checkpoint());
  std::printf("%s\n", json::dump(tenancy::audit_checkpoint_json(cp)).c_str());
  return Status::ok();
}

int report(const Status& s) {
  if (s.is_ok()) return EXIT_OK;
  std::fprintf(stderr, "socle audit: %s\n", s.message().c_str());
  return s.code() == StatusCode::INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILURE_RUNTIME;
}

}  // namespace

void add_audit_command(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<AuditFlags>();
  CLI::App* audit = app.add_subcommand("audit", "Verify and export the audit log");
  audit->require_subcommand(1);
  // --data and --config are accepted before the subcommand (as for `socle admin`) and after it
  // (`socle audit verify --data DIR`).
  auto add_data_options = [f](CLI::App* cmd) {
    cmd->add_option("--data", f->data, "data directory (default ./data, or SOCLE_DATA)");
    cmd->add_option("--config", f->config, "TOML file (default: ./socle.toml if present)");
  };
  add_data_options(audit);

  CLI::App* v = audit->add_subcommand(
      "verify", "Check the chain and checkpoints: exit 0 if intact, 1 naming the first bad entry");
  add_data_options(v);
  v->add_option("--checkpoint", f->checkpoint_file,
                "checkpoints kept outside the data directory (JSON lines from 'audit checkpoint')");
  v->callback([f, exit_code] {
    bool intact = false;
    Status s = verify(*f, &intact);
    *exit_code = s.is_ok() ? (intact ? EXIT_OK : EXIT_FAILURE_RUNTIME) : report(s);
  });

  CLI::App* e = audit->add_subcommand("export", "Print the entries as JSON lines (for a SIEM)");
  add_data_options(e);
  e->add_option("--since", f->since, "the first seq to print (default 1)");
  e->add_flag("--checkpoints", f->checkpoints, "print the checkpoints instead of the entries");
  e->callback([f, exit_code] { *exit_code = report(export_log(*f)); });

  CLI::App* c = audit->add_subcommand("checkpoint", "Sign the current head now and print it");
  add_data_options(c);
  c->callback([f, exit_code] { *exit_code = report(checkpoint(*f)); });
}

}  // namespace socle::cli
