// The bytes of stored files (/v1/files): written once under data/files/<sha256> (mode 0600)
// before the row that names them, so that a crash leaves at most unnamed bytes, never a row
// without its bytes.
#pragma once

#include <string>
#include <string_view>

#include "api/services.h"
#include "base/status.h"
#include "store/records.h"

namespace socle::api {

// Writes `data` (if no file holds the same bytes yet) and records a file of `actor`'s named
// `filename` with `purpose`.
Result<store::StoredFile> store_file_bytes(Services& s, const store::Actor& actor,
                                           const std::string& filename, const std::string& purpose,
                                           std::string_view data);

// "file-<id>".
std::string file_public_id(store::Id id);

}  // namespace socle::api
