// The learning rate of each optimiser step: linear warm-up, then cosine decay to a floor.
#pragma once

#include <cstdint>

namespace socle::train {

struct LrSchedule {
  double peak = 2e-4;        // the rate after warm-up
  double floor_ratio = 0.1;  // the last step's rate is peak * floor_ratio
  int64_t warmup_steps = 0;  // steps 0 .. warmup_steps - 1 ramp up
  int64_t total_steps = 1;   // steps 0 .. total_steps - 1
};

// Step k (0-based): peak * (k + 1) / warmup_steps during warm-up; then, with
// p = (k - warmup_steps) / (total_steps - warmup_steps - 1) going from 0 to 1,
// floor + (peak - floor) * (1 + cos(pi p)) / 2 with floor = peak * floor_ratio (peak when
// only one step remains after warm-up; the floor past the last step).
double lr_at(const LrSchedule& schedule, int64_t step);

}  // namespace socle::train
