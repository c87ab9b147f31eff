// The bytes of stored files (/v1/files): written once under data/files/<sha256> (mode 0600)
// before the row that names them, so that a crash leaves at most unnamed bytes, never a row
// without its bytes. And the routes' shared permission wrapper.
#pragma once

#include <string>
#include <string_view>

#include "api/auth.h"
#include "api/services.h"
#include "base/status.h"
#include "store/records.h"
#include "tenancy/permissions.h"

namespace socle::api {

// Writes `data` (if no file holds the same bytes yet) and records a file of `actor`'s named
// `filename` with `purpose`.
Result<store::StoredFile> store_file_bytes(Services& s, const store::Actor& actor,
                                           const std::string& filename, const std::string& purpose,
                                           std::string_view data);

// Deletes `actor`'s file `id` and, when no other file names the same bytes, the bytes.
Status delete_stored_file(Services& s, const store::Actor& actor, store::Id id);

// "file-<id>".
std::string file_public_id(store::Id id);

// A route of the fine-tuning API (files, jobs, fine-tuned models): f(s, req, principal) for a
// key whose role carries the fine_tune permission.
template <typename F>
http::Handler fine_tune_handler(Services& s, F f) {
  return with_key(
      s, tenancy::PERM_FINE_TUNE,
      [&s, f](http::Request& req, const tenancy::Principal& p) { return f(s, req, p); });
}

}  // namespace socle::api
