// The memory bandwidth that bounds a decode step, measured on the machine in the same run:
// every thread of a pool reads (or copies) its share of a buffer far larger than the caches.
#pragma once

#include <cstdint>

#include "engine/kernels/thread_pool.h"

namespace socle::engine::bench {

struct MemoryBandwidth {
  double read_gbs = 0;  // bytes read per second / 1e9 (each byte loaded once)
  double copy_gbs = 0;  // (bytes read + bytes written) per second / 1e9, memcpy
};

// The best of `passes` passes over `bytes` bytes (rounded down to 64), on `pool`.
MemoryBandwidth memory_bandwidth_measure(ThreadPool& pool, uint64_t bytes, int passes);

}  // namespace socle::engine::bench
