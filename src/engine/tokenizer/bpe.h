// Byte-pair encoding, as Hugging Face's BPE model: each piece starts as its characters,
// and the adjacent pair with the lowest merge rank (leftmost on ties) is merged until no
// pair in the merge list is left. Covers GPT-2-style byte-level BPE (with ByteLevel
// pre-tokenization every byte is a character of the vocabulary) and SentencePiece-style
// BPE with byte fallback (unknown characters become <0xXX> byte tokens).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/model.h"
#include "engine/tokenizer/word_cache.h"

namespace socle::engine::tokenizer {

struct BpeOptions {
  std::optional<std::string> unk_token;
  bool byte_fallback = false;
  bool fuse_unk = false;
  // Emit a piece that is itself in the vocabulary without merging (Llama 3).
  bool ignore_merges = false;
  // How many pieces the word cache keeps (0: none). Hugging Face's tokenizers keep 10,000.
  size_t cache_capacity = size_t{1} << 14;
};

class Bpe final : public Model {
 public:
  // `merges` are pairs of token texts, highest priority first; every part and every
  // result must be in `vocab`. `ranks`, when not empty, gives each merge's priority instead
  // of its position (lower first; equal ranks go leftmost first, as SentencePiece merges
  // pieces of equal score).
  static Result<std::unique_ptr<Bpe>> create(
      Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
      BpeOptions options, std::span<const int32_t> ranks = {});

  Status encode(const std::vector<std::string>& pieces, std::vector<int32_t>& out) const override;
  const Vocab& vocab() const override { return vocab_; }
  std::optional<int32_t> unk_id() const override { return unk_id_; }
  void clear_cache() const override { cache_.clear(); }

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  // The merges by pair of ids, in one flat array probed linearly: the lookup runs for every
  // adjacent pair of every piece, and a node-based map's pointer chasing was a third of the
  // encoding time.
  class MergeTable {
   public:
    void reserve(size_t n);
    void insert_or_assign(int32_t left, int32_t right, Merge merge);
    const Merge* find(int32_t left, int32_t right) const;

   private:
    struct Slot {
      uint64_t key;  // left id << 32 | right id; EMPTY when free (ids are non-negative)
      Merge merge;
    };
    static constexpr uint64_t EMPTY = ~uint64_t{0};
    size_t index(uint64_t key) const;
    std::vector<Slot> slots_;
    size_t size_ = 0;
    int shift_ = 64;
  };

  Bpe(Vocab vocab, BpeOptions options)
      : vocab_(std::move(vocab)), options_(std::move(options)), cache_(options_.cache_capacity) {}
  Status encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  const Merge* find_merge(int32_t left, int32_t right) const;
  Status emit_unknown(std::string_view text, std::vector<int32_t>& out) const;

  Vocab vocab_;
  BpeOptions options_;
  std::optional<int32_t> unk_id_;
  MergeTable merges_;
  std::vector<int32_t> byte_ids_;  // ids of <0x00>..<0xFF> (-1 when absent)
  mutable WordCache cache_;        // piece -> the ids encode_piece gave it
};

}  // namespace socle::engine::tokenizer
