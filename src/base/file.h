// Files that must survive a crash whole or not at all.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace socle {

// Writes `content` to `path` through a temporary file in the same directory, fsyncs it and
// renames it into place, so readers see the old file or the new one, never a torn one.
// `mode` sets the permissions the file is created with (0600 for secrets).
Status write_file_atomic(const std::string& path, std::string_view content, unsigned mode = 0644);

Result<std::string> read_file(const std::string& path);

// Creates `path` and its parents if needed, with mode 0700 for new directories.
Status make_dirs(const std::string& path);

// Removes `path` and everything under it; a missing path is not an error. Entries that others
// add or remove meanwhile (an upload writing into a folder being deleted) do not stop it: it
// goes over the tree again, a few times, until the path is gone.
Status remove_tree(const std::string& path);

}  // namespace socle
