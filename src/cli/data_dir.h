// The data directory: created owner-only if missing, holding the SQLite store and, unless
// SOCLE_AUDIT_KEY_FILE puts it elsewhere, the audit log's key.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "base/config.h"
#include "base/status.h"
#include "store/store.h"
#include "tenancy/audit.h"

namespace socle::cli {

struct DataDir {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<tenancy::AuditLog> audit;  // over *store
};

// Creates `dir` (mode 0700) if needed, opens DIR/socle.db with migrations applied, opens the
// audit log (creating its key on first start, tenancy/audit_key.h; `env` may name the key
// file), and makes sure the default organisation and roles exist.
Result<DataDir> open_data_dir(const std::string& dir,
                              const std::map<std::string, std::string>& env);

// The configuration a maintenance command runs with: defaults < TOML (`config_file`, or
// ./socle.toml) < SOCLE_* variables < --data.
Result<Config> load_command_config(const std::string& config_file, const std::string& data);

// The store of an existing data directory (NOT_FOUND, saying so, where there is none): for the
// commands that inspect or rebuild, never create.
Result<std::unique_ptr<store::Store>> open_existing_store(const std::string& data_dir);

}  // namespace socle::cli
