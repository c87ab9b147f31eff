// hnswlib alone, the baseline for socle's HNSW: Debian's hnswlib used as its own README
// shows, with its InnerProductSpace (its own compile-time-chosen SIMD distance and its
// prefetches) over normalised float32 vectors, the same distance socle uses (1 - cosine).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace socle::bench::rag {

class HnswlibAlone {
 public:
  // Builds the graph over `n` normalised vectors (n, dim), labels 0..n-1, inserted one by one
  // on this thread, with hnswlib's level seed 100 (as socle's HnswGraph).
  static Result<std::unique_ptr<HnswlibAlone>> build(const float* vectors, int64_t n, int64_t dim,
                                                     int64_t m, int64_t ef_construction);
  ~HnswlibAlone();
  HnswlibAlone(const HnswlibAlone&) = delete;
  HnswlibAlone& operator=(const HnswlibAlone&) = delete;

  void set_ef(int64_t ef);
  // The labels of the k nearest vectors to `query` (normalised, dim), best first.
  std::vector<int64_t> search(const float* query, int64_t k) const;

  // The distance code hnswlib was compiled with here: "SSE", "AVX", "AVX-512" or "scalar".
  static const char* simd();

 private:
  struct Impl;
  explicit HnswlibAlone(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace socle::bench::rag
