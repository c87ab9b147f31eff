#include "memory_bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

namespace socle::engine::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Two 64-bit words, 16-aligned as operator new aligns any vector's data.
using Lane = uint64_t __attribute__((vector_size(16)));

constexpr int64_t LINE_WORDS = 8;  // 64-byte cache lines of uint64_t
constexpr int64_t STREAMS = 4;     // 8 measured less: 32 accumulators spill out of 16 registers
constexpr int64_t LINE_LANES = 4;  // Lanes per line
constexpr int64_t GRAIN_LINES = 1 << 14;  // 1 MiB per range at least

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

MemoryBandwidth memory_bandwidth_measure(ThreadPool& pool, uint64_t bytes, int passes) {
  const int64_t lines = static_cast<int64_t>(bytes / 64);
  std::vector<uint64_t> src(static_cast<size_t>(lines * LINE_WORDS));
  std::vector<uint64_t> dst(src.size());
  // Touch every page (and give the sum something to add) on the threads that will read it.
  pool.parallel_for(lines, GRAIN_LINES, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin * LINE_WORDS; i < end * LINE_WORDS; ++i) {
      src[static_cast<size_t>(i)] = static_cast<uint64_t>(i);
      dst[static_cast<size_t>(i)] = 0;
    }
  });
  std::atomic<uint64_t> sink{0};
  MemoryBandwidth best;
  for (int p = 0; p < passes; ++p) {
    Clock::time_point start = Clock::now();
    pool.parallel_for(lines, GRAIN_LINES, [&](int64_t begin, int64_t end) {
      // STREAMS sequential streams at once, each summed in 16-byte vectors (GCC's vector
      // extension, SSE2 at least): a matmul reads several weight rows side by side, and
      // several streams keep more cache-line fills in flight than one can, so one core
      // reaches what the memory gives it rather than what a single stream's prefetch does.
      Lane acc[STREAMS][LINE_LANES] = {};
      const int64_t per_stream = (end - begin) / STREAMS;
      const Lane* w[STREAMS];
      for (int64_t k = 0; k < STREAMS; ++k)
        w[k] = reinterpret_cast<const Lane*>(src.data() + (begin + k * per_stream) * LINE_WORDS);
      for (int64_t l = 0; l < per_stream; ++l) {
        for (int64_t k = 0; k < STREAMS; ++k) {
          for (int64_t j = 0; j < LINE_LANES; ++j)
            acc[k][j] += w[k][l * LINE_LANES + j];
        }
      }
      // The lines the split into streams left over.
      Lane rest = {};
      const auto* tail =
          reinterpret_cast<const Lane*>(src.data() + (begin + STREAMS * per_stream) * LINE_WORDS);
      for (int64_t i = 0; i < (end - begin - STREAMS * per_stream) * LINE_LANES; ++i)
        rest += tail[i];
      uint64_t total = rest[0] + rest[1];
      for (const auto& stream : acc) {
        for (const Lane& a : stream)
          total += a[0] + a[1];
      }
      // An atomic side effect: the reads cannot be optimised away.
      sink.fetch_add(total, std::memory_order_relaxed);
    });
    best.read_gbs =
        std::max(best.read_gbs, static_cast<double>(lines * 64) / seconds_since(start) / 1e9);
    start = Clock::now();
    pool.parallel_for(lines, GRAIN_LINES, [&](int64_t begin, int64_t end) {
      std::memcpy(dst.data() + begin * LINE_WORDS, src.data() + begin * LINE_WORDS,
                  static_cast<size_t>(end - begin) * 64);
    });
    best.copy_gbs =
        std::max(best.copy_gbs, 2.0 * static_cast<double>(lines * 64) / seconds_since(start) / 1e9);
  }
  return best;
}

}  // namespace socle::engine::bench
