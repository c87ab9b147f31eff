// The version this binary was built as (CMake's project version).
#pragma once

namespace socle {
const char* version_string();
}  // namespace socle
