// The audit log's HMAC key: 32 random bytes in a file outside the database, so that whoever
// can write the database but not this file cannot forge or recompute the audit chain.
// Default place: DATA_DIR/audit.key (mode 0600); SOCLE_AUDIT_KEY_FILE names another file
// (another disk, a secrets mount), which is then created there if missing.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "base/status.h"

namespace socle::tenancy {

inline constexpr size_t AUDIT_KEY_BYTES = 32;  // HMAC-SHA256's block of security: 256 bits
inline constexpr std::string_view AUDIT_KEY_FILE_NAME = "audit.key";
inline constexpr std::string_view AUDIT_KEY_FILE_ENV = "SOCLE_AUDIT_KEY_FILE";

// $SOCLE_AUDIT_KEY_FILE if `env` sets it, DATA_DIR/audit.key otherwise.
std::string audit_key_path(const std::string& data_dir,
                           const std::map<std::string, std::string>& env);

// The key in `path`: NOT_FOUND if the file is missing, FAILED_PRECONDITION unless it holds
// exactly AUDIT_KEY_BYTES bytes.
Result<std::string> load_audit_key(const std::string& path);

// Creates `path` with AUDIT_KEY_BYTES from the CSPRNG, mode 0600, written to a temporary
// file, fsynced and then linked into place, so that a reader never sees a partial key and
// two processes starting together end up with the same one. Returns the key in the file
// (the other process's if it won the race). Never replaces an existing key.
Result<std::string> create_audit_key(const std::string& path);

}  // namespace socle::tenancy
