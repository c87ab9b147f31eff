// The data directory: created owner-only if missing, holding the SQLite store.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "store/store.h"

namespace socle::cli {

// Creates `dir` (mode 0700) if needed, opens DIR/socle.db with migrations applied, and
// makes sure the default organisation and roles exist.
Result<std::unique_ptr<store::Store>> open_data_dir(const std::string& dir);

}  // namespace socle::cli
