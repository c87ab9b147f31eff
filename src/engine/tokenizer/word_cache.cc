#include "engine/tokenizer/word_cache.h"

#include <mutex>

namespace socle::engine::tokenizer {

WordCache::WordCache(size_t capacity) : per_shard_((capacity + SHARDS - 1) / SHARDS) {}

WordCache::Shard& WordCache::shard_of(std::string_view piece) const {
  // The maps' buckets use the hash's low bits: the shard comes from the high ones.
  return shards_[Hash{}(piece) >> (sizeof(size_t) * 8 - SHARD_BITS)];
}

bool WordCache::find(std::string_view piece, std::vector<int32_t>& out) const {
  if (per_shard_ == 0 || piece.size() > MAX_PIECE_BYTES) return false;
  Shard& s = shard_of(piece);
  std::shared_lock lock(s.mu);
  auto it = s.map.find(piece);
  if (it == s.map.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

void WordCache::insert(std::string_view piece, std::span<const int32_t> ids) {
  if (per_shard_ == 0 || piece.size() > MAX_PIECE_BYTES) return;
  Shard& s = shard_of(piece);
  std::unique_lock lock(s.mu);
  if (s.map.size() >= per_shard_) s.map.clear();
  s.map.try_emplace(std::string(piece), ids.begin(), ids.end());
}

void WordCache::clear() {
  for (Shard& s : shards_) {
    std::unique_lock lock(s.mu);
    s.map.clear();
  }
}

size_t WordCache::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::shared_lock lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace socle::engine::tokenizer
