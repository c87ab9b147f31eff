// The exact dense index: every vector's code in one contiguous matrix, scanned in full for
// each query. Below a few tens of thousands of vectors this is fast enough (one pass over
// memory with SIMD dot products) and its answer is the true nearest neighbours, which also
// makes it the oracle for HNSW's recall.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "rag/index/dense_distance.h"
#include "rag/index/hits.h"

namespace socle::rag {

class ExactStore {
 public:
  // `codec` must outlive the store.
  explicit ExactStore(const VectorCodec& codec) : codec_(codec) {}

  int64_t size() const { return static_cast<int64_t>(ids_.size()); }

  // Inserts `id` with `code` (codec.code_bytes() bytes), or replaces its code.
  void put(int64_t id, const void* code);
  // Removes `id`; false when it was absent. The last row moves into the freed one.
  bool erase(int64_t id);

  // Row r's id and code, r in [0, size()).
  int64_t id_at(int64_t row) const { return ids_[static_cast<size_t>(row)]; }
  const void* code_at(int64_t row) const {
    return codes_.data() + static_cast<size_t>(row) * codec_.code_bytes();
  }

  // The k best-scoring rows allowed by `filter` (all when null), best first, ties by id.
  std::vector<Hit> search(const void* query_code, int64_t k, const IdFilter* filter) const;

  // The file form: magic, count, code bytes, then ids (count, int64) and codes
  // (count, code bytes).
  std::string serialize() const;
  // Reads what serialize wrote; INTERNAL naming the fault when the bytes do not hold a store
  // of this codec's code size.
  static Result<std::unique_ptr<ExactStore>> parse(std::string_view bytes,
                                                   const VectorCodec& codec);

 private:
  const VectorCodec& codec_;
  std::vector<int64_t> ids_;                     // (n)
  std::vector<uint8_t> codes_;                   // (n, code_bytes), float-aligned: see put
  std::unordered_map<int64_t, int64_t> row_of_;  // id -> row
};

}  // namespace socle::rag
