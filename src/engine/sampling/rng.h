// The random numbers of sampling: xoshiro256** seeded through SplitMix64, one generator per
// sequence, so that a sequence's draws depend on its seed and its own steps alone, never on
// what else is in the batch (DESIGN.md, principle 6). Not for secrets (base/random.h).
#pragma once

#include <cstdint>

namespace socle::engine::sampling {

class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  // Uniform in [0, 1), 53 bits.
  double uniform();

 private:
  uint64_t s_[4];
};

}  // namespace socle::engine::sampling
