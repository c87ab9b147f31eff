// Seeded random inputs for kernel tests.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace socle::engine::testing {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> out(n);
  for (float& x : out)
    x = dist(rng);
  return out;
}

}  // namespace socle::engine::testing
