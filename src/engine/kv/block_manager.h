// The bookkeeping of a paged KV cache: a pool of fixed-size blocks (each holds the keys and
// values of `block_tokens` positions in every layer), a block table per sequence, and a
// prefix cache. A block whose positions are all written is published under its content (the
// block before it and its tokens, plus a salt such as a LoRA adapter's id), so that a later
// sequence whose prompt starts the same way takes it read-only instead of recomputing it.
// Published blocks that no sequence uses stay cached until their room is needed, the least
// recently used first. Only the tokens decide the content: the same prefix always has the
// same keys and values, so sharing changes no result.
//
// Not thread-safe: one model runner's scheduler thread owns it (DESIGN.md, principle 5).
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace socle::engine::kv {

using BlockId = int32_t;
using SeqId = uint64_t;

struct BlockStats {
  int32_t total = 0;
  int32_t used = 0;           // in some sequence's table
  int32_t cached = 0;         // published and in no table: reusable by a hit, or evictable
  int32_t free = 0;           // holding nothing
  int64_t hit_tokens = 0;     // prompt positions taken from the cache, since the start
  int64_t lookup_tokens = 0;  // prompt positions looked up, since the start
  int64_t evictions = 0;      // cached blocks given to other content
};

class BlockManager {
 public:
  BlockManager(int32_t n_blocks, int32_t block_tokens);

  int32_t block_tokens() const { return block_tokens_; }

  // Starts sequence `seq` with `prompt`: takes the longest run of cached full blocks that
  // begins the prompt (never the whole prompt: its last position is always computed, for
  // its logits), and fresh blocks for the rest. Returns how many positions are already
  // computed, or nullopt, taking nothing, when the blocks are short (the caller queues).
  // `lookup` false takes fresh blocks for the whole prompt (a sequence that needs every
  // prompt position computed); its blocks are still published.
  std::optional<int64_t> begin(SeqId seq, std::span<const int32_t> prompt, uint64_t salt = 0,
                               bool lookup = true);

  // Makes room for `length` positions in `seq` (length only grows). False, taking nothing,
  // when the blocks are short (the caller preempts or waits).
  bool reserve(SeqId seq, int64_t length);

  // Publishes the blocks of `seq` that `tokens` (its whole sequence so far, positions
  // written) fills, so that other sequences may share them.
  void publish(SeqId seq, std::span<const int32_t> tokens);

  // Ends `seq`: its blocks go back, published ones to the cache, the others to the free
  // list.
  void release(SeqId seq);

  std::span<const BlockId> table(SeqId seq) const;
  // How many blocks begin(..., prompt) would need now, to decide admission.
  int32_t blocks_needed(std::span<const int32_t> prompt, uint64_t salt = 0,
                        bool lookup = true) const;
  BlockStats stats() const;

 private:
  // What a published block holds: the block before it (by content id; 0 for the first) and
  // its tokens. Exact, so that two different prefixes never share a block.
  struct Key {
    uint64_t parent = 0;
    uint64_t salt = 0;
    std::vector<int32_t> tokens;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Block {
    int32_t refs = 0;
    uint64_t content = 0;              // 0: not published
    Key key;                           // when published
    std::list<BlockId>::iterator lru;  // valid when cached (published, refs 0)
  };
  struct Seq {
    std::vector<BlockId> blocks;
    uint64_t salt = 0;
    int32_t published = 0;  // leading blocks published (or taken from the cache)
    uint64_t last_content = 0;
  };

  // The cached blocks that begin `prompt`, at most (prompt size - 1) / block_tokens.
  std::vector<BlockId> cached_prefix(std::span<const int32_t> prompt, uint64_t salt) const;
  int32_t available() const { return static_cast<int32_t>(free_.size() + lru_.size()); }
  BlockId take_fresh();
  void take_cached(BlockId b);
  Key key_of(uint64_t parent, uint64_t salt, std::span<const int32_t> prompt, size_t block) const;

  int32_t block_tokens_;
  std::vector<Block> blocks_;
  std::vector<BlockId> free_;
  std::list<BlockId> lru_;  // cached blocks, least recently used first
  std::unordered_map<Key, BlockId, KeyHash> published_;
  std::unordered_map<SeqId, Seq> seqs_;
  uint64_t next_content_ = 1;
  int64_t hit_tokens_ = 0;
  int64_t lookup_tokens_ = 0;
  int64_t evictions_ = 0;
};

}  // namespace socle::engine::kv
