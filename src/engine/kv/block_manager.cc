#include "engine/kv/block_manager.h"

#include <algorithm>

#include "base/check.h"

namespace socle::engine::kv {

size_t BlockManager::KeyHash::operator()(const Key& k) const {
  // FNV-1a over the parent, the salt and the tokens: equality is checked on the whole key.
  constexpr uint64_t OFFSET = 0xcbf29ce484222325ULL;
  constexpr uint64_t PRIME = 0x100000001b3ULL;
  uint64_t h = OFFSET;
  auto mix = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= PRIME;
    }
  };
  mix(k.parent);
  mix(k.salt);
  for (int32_t t : k.tokens)
    mix(static_cast<uint32_t>(t));
  return static_cast<size_t>(h);
}

BlockManager::BlockManager(int32_t n_blocks, int32_t block_tokens)
    : block_tokens_(block_tokens), blocks_(static_cast<size_t>(n_blocks)) {
  SOCLE_CHECK(n_blocks > 0 && block_tokens > 0, "a KV pool has blocks of positions");
  free_.reserve(static_cast<size_t>(n_blocks));
  for (BlockId b = n_blocks - 1; b >= 0; --b)
    free_.push_back(b);
}

BlockManager::Key BlockManager::key_of(uint64_t parent, uint64_t salt,
                                       std::span<const int32_t> prompt, size_t block) const {
  auto bt = static_cast<size_t>(block_tokens_);
  auto first = prompt.begin() + static_cast<std::ptrdiff_t>(block * bt);
  return Key{parent, salt, std::vector<int32_t>(first, first + static_cast<std::ptrdiff_t>(bt))};
}

std::vector<BlockId> BlockManager::cached_prefix(std::span<const int32_t> prompt,
                                                 uint64_t salt) const {
  std::vector<BlockId> out;
  if (prompt.empty()) return out;
  // Never the last position: it must be computed for its logits.
  size_t max_blocks = (prompt.size() - 1) / static_cast<size_t>(block_tokens_);
  uint64_t parent = 0;
  for (size_t i = 0; i < max_blocks; ++i) {
    auto it = published_.find(key_of(parent, salt, prompt, i));
    if (it == published_.end()) break;
    out.push_back(it->second);
    parent = blocks_[static_cast<size_t>(it->second)].content;
  }
  return out;
}

int32_t BlockManager::blocks_needed(std::span<const int32_t> prompt, uint64_t salt,
                                    bool lookup) const {
  std::vector<BlockId> cached = lookup ? cached_prefix(prompt, salt) : std::vector<BlockId>{};
  auto bt = static_cast<size_t>(block_tokens_);
  auto total = static_cast<int32_t>((prompt.size() + bt - 1) / bt);
  int32_t need = total - static_cast<int32_t>(cached.size());
  for (BlockId b : cached) {
    if (blocks_[static_cast<size_t>(b)].refs == 0) ++need;  // leaves the cache
  }
  return need;
}

BlockId BlockManager::take_fresh() {
  BlockId b = 0;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else {
    SOCLE_CHECK(!lru_.empty(), "callers check available() first");
    b = lru_.front();
    lru_.pop_front();
    Block& old = blocks_[static_cast<size_t>(b)];
    published_.erase(old.key);
    old.content = 0;
    old.key = {};
    ++evictions_;
  }
  blocks_[static_cast<size_t>(b)].refs = 1;
  return b;
}

void BlockManager::take_cached(BlockId b) {
  Block& block = blocks_[static_cast<size_t>(b)];
  if (block.refs == 0) lru_.erase(block.lru);
  ++block.refs;
}

std::optional<int64_t> BlockManager::begin(SeqId seq, std::span<const int32_t> prompt,
                                           uint64_t salt, bool lookup) {
  SOCLE_CHECK(!seqs_.contains(seq), "a sequence begins once");
  if (blocks_needed(prompt, salt, lookup) > available()) return std::nullopt;
  std::vector<BlockId> cached = lookup ? cached_prefix(prompt, salt) : std::vector<BlockId>{};
  Seq s;
  s.salt = salt;
  for (BlockId b : cached)
    take_cached(b);
  s.blocks = cached;
  s.published = static_cast<int32_t>(cached.size());
  s.last_content = cached.empty() ? 0 : blocks_[static_cast<size_t>(cached.back())].content;
  auto bt = static_cast<size_t>(block_tokens_);
  while (s.blocks.size() * bt < prompt.size())
    s.blocks.push_back(take_fresh());
  lookup_tokens_ += static_cast<int64_t>(prompt.size());
  auto hit = static_cast<int64_t>(cached.size() * bt);
  hit_tokens_ += hit;
  seqs_.emplace(seq, std::move(s));
  return hit;
}

bool BlockManager::reserve(SeqId seq, int64_t length) {
  Seq& s = seqs_.at(seq);
  auto bt = static_cast<int64_t>(block_tokens_);
  int64_t need = (length + bt - 1) / bt - static_cast<int64_t>(s.blocks.size());
  if (need <= 0) return true;
  if (need > available()) return false;
  for (int64_t i = 0; i < need; ++i)
    s.blocks.push_back(take_fresh());
  return true;
}

void BlockManager::publish(SeqId seq, std::span<const int32_t> tokens) {
  Seq& s = seqs_.at(seq);
  size_t full = std::min(tokens.size() / static_cast<size_t>(block_tokens_), s.blocks.size());
  for (auto i = static_cast<size_t>(s.published); i < full; ++i) {
    Key key = key_of(s.last_content, s.salt, tokens, i);
    auto it = published_.find(key);
    if (it != published_.end()) {
      // Another sequence computed the same block first: this copy stays private and the
      // chain continues from the published one, whose content is the same.
      s.last_content = blocks_[static_cast<size_t>(it->second)].content;
      continue;
    }
    Block& block = blocks_[static_cast<size_t>(s.blocks[i])];
    block.content = next_content_++;
    block.key = key;
    published_.emplace(std::move(key), s.blocks[i]);
    s.last_content = block.content;
  }
  s.published = static_cast<int32_t>(std::max<size_t>(full, static_cast<size_t>(s.published)));
}

void BlockManager::release(SeqId seq) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  // Last block first, so that a prefix's first blocks are the last to be evicted: a block
  // is reachable only through the ones before it.
  const std::vector<BlockId>& blocks = it->second.blocks;
  for (auto b = blocks.rbegin(); b != blocks.rend(); ++b) {
    Block& block = blocks_[static_cast<size_t>(*b)];
    SOCLE_CHECK(block.refs > 0, "a sequence's blocks are referenced");
    if (--block.refs > 0) continue;
    if (block.content != 0) {
      block.lru = lru_.insert(lru_.end(), *b);
    } else {
      free_.push_back(*b);
    }
  }
  seqs_.erase(it);
}

std::span<const BlockId> BlockManager::table(SeqId seq) const {
  return seqs_.at(seq).blocks;
}

BlockStats BlockManager::stats() const {
  BlockStats st;
  st.total = static_cast<int32_t>(blocks_.size());
  st.cached = static_cast<int32_t>(lru_.size());
  st.free = static_cast<int32_t>(free_.size());
  st.used = st.total - st.cached - st.free;
  st.hit_tokens = hit_tokens_;
  st.lookup_tokens = lookup_tokens_;
  st.evictions = evictions_;
  return st;
}

}  // namespace socle::engine::kv
