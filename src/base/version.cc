#include "base/version.h"

namespace socle {
const char* version_string() {
  return SOCLE_VERSION;
}
}  // namespace socle
