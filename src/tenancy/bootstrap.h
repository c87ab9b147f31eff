// What a new store needs before anyone can use it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "store/store.h"
#include "tenancy/audit.h"

namespace socle::tenancy {

// Creates the default organisation and the "admin" and "user" roles if they are missing, and
// records each creation in `audit`. Idempotent; the CLI and the server both call it.
Status ensure_reference_data(store::Store& store, AuditLog& audit);

// The environment variable that supplies the first admin key (docs/configuration.md).
inline constexpr std::string_view ADMIN_KEY_VARIABLE = "SOCLE_ADMIN_KEY";

struct BootstrapResult {
  bool created = false;  // false: the store already had users, nothing was done
  std::string key_path;  // where the generated key was written; empty if it was supplied
};

// On a store with no user: creates the "admin" user with the admin role and one key. The
// key is `supplied_key` if given (SOCLE_ADMIN_KEY), otherwise generated and written to
// DATA_DIR/admin-key with mode 0600 before the user is committed. The key is never logged.
// The user and the key are recorded in `audit` in the same transaction.
// A malformed `supplied_key` is a configuration error: INVALID_ARGUMENT with param
// ADMIN_KEY_VARIABLE and a message that names the variable (never its value); nothing is
// created then.
Result<BootstrapResult> bootstrap_admin(store::Store& store, AuditLog& audit,
                                        const std::string& data_dir,
                                        const std::optional<std::string>& supplied_key);

}  // namespace socle::tenancy
