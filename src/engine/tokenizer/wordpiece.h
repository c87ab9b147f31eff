// WordPiece (BERT): each piece is cut greedily into the longest vocabulary entries from the
// left, continuations carrying a prefix ("##"); a piece that cannot be cut entirely, or is
// longer than max_input_chars_per_word characters, becomes the unknown token.
#pragma once

#include "engine/tokenizer/model.h"

namespace socle::engine::tokenizer {

class WordPiece final : public Model {
 public:
  WordPiece(Vocab vocab, int32_t unk_id, std::string prefix, size_t max_chars)
      : vocab_(std::move(vocab)),
        unk_id_(unk_id),
        prefix_(std::move(prefix)),
        max_chars_(max_chars) {}

  Status encode(const std::vector<std::string>& pieces, std::vector<int32_t>& out) const override;
  const Vocab& vocab() const override { return vocab_; }
  std::optional<int32_t> unk_id() const override { return unk_id_; }
  const std::string& prefix() const { return prefix_; }

 private:
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  Vocab vocab_;
  int32_t unk_id_;
  std::string prefix_;
  size_t max_chars_;
};

}  // namespace socle::engine::tokenizer
