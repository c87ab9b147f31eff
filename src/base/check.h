// SOCLE_CHECK: an invariant that must hold whatever the input. Always on, in every build;
// a failure prints the belief that turned out false, where, and stops the process. Never
// use it on user input: that is what Status is for.
#pragma once

namespace socle::detail {
[[noreturn]] void check_failed(const char* expr, const char* belief, const char* file, int line);
}  // namespace socle::detail

#define SOCLE_CHECK(cond, belief)                                       \
  do {                                                                  \
    if (!(cond)) [[unlikely]]                                           \
      ::socle::detail::check_failed(#cond, belief, __FILE__, __LINE__); \
  } while (0)
