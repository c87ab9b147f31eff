#include "hnswlib_baseline.h"

// hnswlib's headers, as the baseline uses them, sit in a namespace of their own: socle's
// hnsw_graph.cc instantiates the same templates with NO_MANUAL_VECTORIZATION (no SSE, no
// prefetches), and two different bodies under one name would break the one-definition rule
// (the linker would keep either one for both). The standard and intrinsics headers that
// hnswlib includes come first, in the global namespace, so that its own includes of them are
// no-ops inside the namespace.
#include <assert.h>
#include <cpuid.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <deque>
#include <exception>
#include <fstream>
#include <iostream>
#include <list>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>

// Under AddressSanitizer (the smoke run in the sanitized build), hnswlib 0.6.2's prefetches
// read one entry past a full link list (see src/rag/index/hnsw_graph.cc): turn its manual
// vectorisation off there. Release builds, which the measurements use, keep it.
#if defined(__SANITIZE_ADDRESS__)
#define NO_MANUAL_VECTORIZATION
#endif

namespace baseline {
#include <hnswlib/hnswlib.h>
}  // namespace baseline

namespace socle::bench::rag {

struct HnswlibAlone::Impl {
  std::unique_ptr<baseline::hnswlib::InnerProductSpace> space;
  std::unique_ptr<baseline::hnswlib::HierarchicalNSW<float>> graph;
};

HnswlibAlone::HnswlibAlone(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HnswlibAlone::~HnswlibAlone() = default;

Result<std::unique_ptr<HnswlibAlone>> HnswlibAlone::build(const float* vectors, int64_t n,
                                                          int64_t dim, int64_t m,
                                                          int64_t ef_construction) {
  constexpr size_t LEVEL_SEED = 100;
  auto impl = std::make_unique<Impl>();
  try {
    impl->space = std::make_unique<baseline::hnswlib::InnerProductSpace>(static_cast<size_t>(dim));
    impl->graph = std::make_unique<baseline::hnswlib::HierarchicalNSW<float>>(
        impl->space.get(), static_cast<size_t>(n), static_cast<size_t>(m),
        static_cast<size_t>(ef_construction), LEVEL_SEED);
    for (int64_t i = 0; i < n; ++i)
      impl->graph->addPoint(vectors + i * dim, static_cast<size_t>(i));
  } catch (const std::exception& e) {
    return internal_error(std::string("hnswlib: ") + e.what());
  }
  return std::unique_ptr<HnswlibAlone>(new HnswlibAlone(std::move(impl)));
}

void HnswlibAlone::set_ef(int64_t ef) {
  impl_->graph->setEf(static_cast<size_t>(ef));
}

std::vector<int64_t> HnswlibAlone::search(const float* query, int64_t k) const {
  auto found = impl_->graph->searchKnn(query, static_cast<size_t>(k));
  std::vector<int64_t> out(found.size());
  // The queue pops the farthest first.
  for (size_t i = found.size(); i > 0; --i) {
    out[i - 1] = static_cast<int64_t>(found.top().second);
    found.pop();
  }
  return out;
}

const char* HnswlibAlone::simd() {
#if defined(USE_AVX512)
  return "AVX-512";
#elif defined(USE_AVX)
  return "AVX";
#elif defined(USE_SSE)
  return "SSE";
#else
  return "scalar";
#endif
}

}  // namespace socle::bench::rag
