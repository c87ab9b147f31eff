// A bounded map from a pre-tokenized piece to the ids a model gave it, shared by concurrent
// encode calls: natural text repeats its words, and looking a word up costs a fraction of
// merging it again. Split into shards, each behind its own reader-writer lock, so that
// threads encoding at once rarely wait for each other; a full shard is emptied and starts
// over (the frequent words come back at once).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace socle::engine::tokenizer {

class WordCache {
 public:
  // Pieces longer than this many bytes are not kept: they are rarely repeated and would
  // crowd the words out.
  static constexpr size_t MAX_PIECE_BYTES = 256;

  // Keeps up to about `capacity` pieces; 0 keeps none.
  explicit WordCache(size_t capacity);
  WordCache(const WordCache&) = delete;
  WordCache& operator=(const WordCache&) = delete;

  // Appends the ids kept for `piece` to `out` and returns true, or returns false.
  bool find(std::string_view piece, std::vector<int32_t>& out) const;
  // Keeps `ids` as the ids of `piece` (nothing when the piece is too long or capacity is 0).
  void insert(std::string_view piece, std::span<const int32_t> ids);
  void clear();
  size_t size() const;

 private:
  static constexpr int SHARD_BITS = 4;
  static constexpr size_t SHARDS = size_t{1} << SHARD_BITS;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::shared_mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> map;
  };
  Shard& shard_of(std::string_view piece) const;

  size_t per_shard_;
  mutable std::array<Shard, SHARDS> shards_;
};

}  // namespace socle::engine::tokenizer
