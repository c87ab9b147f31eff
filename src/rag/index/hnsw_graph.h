// The approximate dense index: hnswlib's HNSW graph (Malkov and Yashunin, 2016) over the
// codec's codes, with socle's distance (1 - score, run-time dispatched kernels; Debian's
// hnswlib would otherwise pick its SIMD at compile time from our baseline flags, i.e. none).
// This file's .cc is the only one that includes hnswlib: its header defines non-inline
// functions and throws exceptions, which stop here and become Status.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "rag/index/dense_distance.h"
#include "rag/index/hits.h"

namespace socle::rag {

struct HnswParams {
  // Links per node on the upper layers (twice as many on the bottom one, which costs 8 * m
  // bytes per vector): more links give better recall for more memory and slower inserts.
  int64_t m = 32;
  // Candidates kept while linking a new node: the graph's quality against build time.
  int64_t ef_construction = 100;
  // Candidates kept while searching (at least k): recall against latency.
  int64_t ef_search = 384;
  // These defaults give recall@10 of 0.99 on 20,000 random 128-dimension vectors (the unit
  // test; uniformly random directions are the hard case, real embeddings cluster and do
  // better). Measured with hnswlib at -O2 on that data: m 16 / ef_construction 200 reaches
  // 0.70 at ef_search 128 and 0.96 at 512; m 32 / ef_construction 100 reaches 0.97 at 256,
  // 0.995 at 384, and builds faster.
};

class HnswGraph {
 public:
  ~HnswGraph();
  HnswGraph(const HnswGraph&) = delete;
  HnswGraph& operator=(const HnswGraph&) = delete;

  // An empty graph with room for `capacity` vectors; add grows it. `codec` must outlive it.
  static Result<std::unique_ptr<HnswGraph>> create(const VectorCodec& codec,
                                                   const HnswParams& params, int64_t capacity);
  // The graph that save wrote to `path`; INTERNAL when the file is unreadable, corrupted or
  // holds codes of another size.
  static Result<std::unique_ptr<HnswGraph>> load(const VectorCodec& codec, const HnswParams& params,
                                                 const std::string& path);

  int64_t live_count() const;     // vectors that searches can return
  int64_t deleted_count() const;  // vectors marked deleted, still nodes of the graph
  bool contains(int64_t id) const;

  // Inserts `id`, or replaces its code (hnswlib relinks the node; a deleted id comes back).
  // Doubles the capacity when full.
  Status add(int64_t id, const void* code);
  // Marks `id` deleted: searches pass through its node but never return it. False when it
  // was absent or already deleted.
  bool remove(int64_t id);

  // The k best live vectors that `filter` allows (all when null), best first, with exact
  // scores (recomputed, not 1 - distance). With a filter, the graph is asked for more
  // candidates than k; when those hold fewer than k allowed ids and the graph has more, the
  // search falls back to scoring every allowed vector, so that a selective filter still gets
  // k results when k allowed vectors exist.
  Result<std::vector<Hit>> search(const void* query_code, int64_t k, const IdFilter* filter) const;

  // Calls fn(id, code) for every live vector, in insertion order.
  void for_each_live(const std::function<void(int64_t, const void*)>& fn) const;

  // Writes the graph to `path` through a temporary file, checks its size, fsyncs and renames
  // it into place.
  Status save(const std::string& path) const;

 private:
  struct Impl;
  explicit HnswGraph(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace socle::rag
