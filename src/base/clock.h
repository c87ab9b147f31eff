// Time as socle's code sees it. Code that depends on the time takes a Clock& so that
// tests can move time by hand instead of sleeping.
#pragma once

#include <atomic>
#include <cstdint>

namespace socle {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch (wall time, for records and expiry).
  virtual int64_t unix_seconds() const = 0;
  // Milliseconds since the Unix epoch (wall time, for usage records).
  virtual int64_t unix_ms() const = 0;
  // Monotonic milliseconds (for durations and timeouts).
  virtual int64_t monotonic_ms() const = 0;
};

// The real clocks.
class SystemClock final : public Clock {
 public:
  int64_t unix_seconds() const override;
  int64_t unix_ms() const override;
  int64_t monotonic_ms() const override;
  static SystemClock& instance();
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t unix_seconds = 1'700'000'000)
      : start_s_(unix_seconds), unix_s_(unix_seconds) {}
  int64_t unix_seconds() const override { return unix_s_.load(); }
  int64_t unix_ms() const override { return start_s_ * 1000 + mono_ms_.load(); }
  int64_t monotonic_ms() const override { return mono_ms_.load(); }
  void advance_ms(int64_t ms) {
    mono_ms_ += ms;
    unix_s_ = start_s_ + mono_ms_ / 1000;
  }

 private:
  int64_t start_s_ = 1'700'000'000;
  std::atomic<int64_t> unix_s_;
  std::atomic<int64_t> mono_ms_{0};
};

}  // namespace socle
