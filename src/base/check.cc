#include "base/check.h"

#include <cstdio>
#include <cstdlib>

namespace socle::detail {

void check_failed(const char* expr, const char* belief, const char* file, int line) {
  std::fprintf(stderr, "socle: check failed at %s:%d: %s (%s)\n", file, line, expr, belief);
  std::fflush(stderr);
  std::abort();
}

}  // namespace socle::detail
