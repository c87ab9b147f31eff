// Byte-pair encoding, as Hugging Face's BPE model: each piece starts as its characters,
// and the adjacent pair with the lowest merge rank (leftmost on ties) is merged until no
// pair in the merge list is left. Covers GPT-2-style byte-level BPE (with ByteLevel
// pre-tokenization every byte is a character of the vocabulary) and SentencePiece-style
// BPE with byte fallback (unknown characters become <0xXX> byte tokens).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/tokenizer/model.h"

namespace socle::engine::tokenizer {

struct BpeOptions {
  std::optional<std::string> unk_token;
  bool byte_fallback = false;
  bool fuse_unk = false;
  // Emit a piece that is itself in the vocabulary without merging (Llama 3).
  bool ignore_merges = false;
};

class Bpe final : public Model {
 public:
  // `merges` are pairs of token texts, highest priority first; every part and every
  // result must be in `vocab`.
  static Result<std::unique_ptr<Bpe>> create(
      Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
      BpeOptions options);

  Status encode(const std::vector<std::string>& pieces, std::vector<int32_t>& out) const override;
  const Vocab& vocab() const override { return vocab_; }
  std::optional<int32_t> unk_id() const override { return unk_id_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };

  Bpe(Vocab vocab, BpeOptions options) : vocab_(std::move(vocab)), options_(std::move(options)) {}
  Status encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  const Merge* find_merge(int32_t left, int32_t right) const;
  Status emit_unknown(std::string_view text, std::vector<int32_t>& out) const;

  Vocab vocab_;
  BpeOptions options_;
  std::optional<int32_t> unk_id_;
  std::unordered_map<uint64_t, Merge> merges_;  // key: left id << 32 | right id
  std::vector<int32_t> byte_ids_;               // ids of <0x00>..<0xFF> (-1 when absent)
};

}  // namespace socle::engine::tokenizer
