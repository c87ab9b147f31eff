#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace socle::train {

double lr_at(const LrSchedule& s, int64_t step) {
  if (step < s.warmup_steps) {
    return s.peak * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  }
  const double floor = s.peak * s.floor_ratio;
  const int64_t span = s.total_steps - s.warmup_steps - 1;
  if (span <= 0) return step < s.total_steps ? s.peak : floor;
  double p = std::min(1.0, static_cast<double>(step - s.warmup_steps) / static_cast<double>(span));
  return floor + (s.peak - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * p));
}

}  // namespace socle::train
