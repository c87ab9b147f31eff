// A collection's dense index: chunk ids and their embedding vectors, searched by cosine
// similarity. Vectors are L2-normalised on insert and on query (callers need not), and a
// hit's score is the dot product of the normalised vectors (dense_distance.h).
//
// Small indexes scan every vector exactly (exact_store.h); past `exact_max` vectors the index
// moves to an HNSW graph (hnsw_graph.h), and back to the exact scan when a rebuild finds it at
// or below the threshold again. Either form stores FLOAT32 or INT8 codes, chosen when the
// index is created.
//
// Threads: any number of concurrent searches, and one writer at a time (add, remove, save
// serialise among themselves). Searches wait only while a writer changes the structure in
// memory, not while it builds a new graph or writes files.
//
// Files, in the collection's directory: dense.meta (dimension, precision, form, the current
// data file) and that data file, dense-<generation>.exact or .hnsw. save writes a new
// generation, then the meta file atomically, then deletes the old generation, so a crash
// leaves the last saved index whole. One process owns a directory at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/kernels/kernel_path.h"
#include "rag/index/dense_distance.h"
#include "rag/index/exact_store.h"
#include "rag/index/hits.h"
#include "rag/index/hnsw_graph.h"

namespace socle::rag {

enum class DenseMode {
  EXACT,  // a full scan of every vector
  HNSW,   // an approximate graph search
};

struct DenseOptions {
  int64_t dim = 0;  // the embedding model's dimension, in [1, DENSE_MAX_DIM]
  DensePrecision precision = DensePrecision::FLOAT32;
  // The exact scan serves indexes of up to this many vectors. At 20,000 vectors of 1,024
  // float32 dimensions a query reads 80 MB, about 5 to 10 ms at one core's memory bandwidth
  // (INT8: a quarter), with exact results and no graph to build.
  int64_t exact_max = 20000;
  HnswParams hnsw;
  // An HNSW graph whose deleted nodes exceed this fraction of its nodes is rebuilt from its
  // live vectors: deleted nodes still cost memory and search time.
  double rebuild_deleted_fraction = 0.2;
  // The kernel path for scores; nullopt: engine::kernel_path_active() (SOCLE_KERNELS).
  std::optional<engine::KernelPath> kernel_path;
};

class DenseIndex {
 public:
  // Opens the index saved in `dir`, or an empty one if `dir` holds none (creating `dir`).
  // INVALID_ARGUMENT for bad options; FAILED_PRECONDITION when the saved index has another
  // dimension or precision than `options`; INTERNAL when its files are damaged (rebuild it
  // from the store).
  static Result<std::unique_ptr<DenseIndex>> open(const std::string& dir,
                                                  const DenseOptions& options);

  DenseIndex(const DenseIndex&) = delete;
  DenseIndex& operator=(const DenseIndex&) = delete;
  ~DenseIndex();

  // Adds vectors (ids.size(), dim), row-major, one per id; an id already present has its
  // vector replaced (within one call, the last one wins). INVALID_ARGUMENT, adding nothing,
  // for a size mismatch or a zero or non-finite vector. On INTERNAL (hnswlib out of memory)
  // part of the batch may be in; adding it again is safe.
  Status add(std::span<const int64_t> ids, std::span<const float> vectors);
  // Removes ids; absent ones are ignored.
  Status remove(std::span<const int64_t> ids);

  // The k vectors closest to `query` (dim values) among those `filter` allows (all when
  // null), best first, ties by smaller id. Fewer than k only when fewer are allowed (or, on
  // HNSW without a filter, when deletions left parts of the graph unreachable).
  Result<std::vector<Hit>> search(std::span<const float> query, int64_t k,
                                  const IdFilter* filter = nullptr) const;

  // Writes the index to its directory, if it changed since the last save.
  Status save();

  int64_t size() const;  // live vectors
  DenseMode mode() const;
  int64_t dim() const { return codec_.dim(); }
  DensePrecision precision() const { return codec_.precision(); }

 private:
  DenseIndex(std::string dir, const DenseOptions& options, engine::KernelPath path);

  Status load();
  // Builds the form that `live` vectors call for from the current one's live vectors, and
  // swaps it in. Called by the writer, which holds write_mu_.
  Status rebuild();
  Status migrate_if_needed();

  std::string dir_;
  DenseOptions options_;
  VectorCodec codec_;  // before the stores, which refer to it

  // Held by the one writer for a whole add, remove or save.
  std::mutex write_mu_;
  // Shared by searches; held exclusively by the writer only while it changes the members
  // below. The writer reads them without it, since nobody else changes them.
  mutable std::shared_mutex mu_;
  std::unique_ptr<ExactStore> exact_;  // guarded by mu_; set in EXACT mode
  std::unique_ptr<HnswGraph> hnsw_;    // guarded by mu_; set in HNSW mode

  uint64_t generation_ = 0;  // guarded by write_mu_: the saved data file's number, 0 if none
  bool dirty_ = false;       // guarded by write_mu_: changed since the last save
};

}  // namespace socle::rag
