// The data directory: created owner-only if missing, holding the SQLite store and, unless
// SOCLE_AUDIT_KEY_FILE puts it elsewhere, the audit log's key.
#pragma once

#include <map>
#include <memory>
#include <string>

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

}  // namespace socle::cli
