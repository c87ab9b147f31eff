// Unigram (SentencePiece, XLM-RoBERTa): each piece is cut into the sequence of vocabulary
// entries with the highest total log-probability (Viterbi). A character no entry covers
// becomes the unknown token, scored min score - 10, and runs of unknowns fuse into one.
#pragma once

#include "engine/tokenizer/model.h"

namespace socle::engine::tokenizer {

class Unigram final : public Model {
 public:
  Unigram(Vocab vocab, std::vector<double> scores, int32_t unk_id);

  Status encode(const std::vector<std::string>& pieces, std::vector<int32_t>& out) const override;
  const Vocab& vocab() const override { return vocab_; }
  std::optional<int32_t> unk_id() const override { return unk_id_; }

 private:
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  Vocab vocab_;
  std::vector<double> scores_;  // by id
  int32_t unk_id_;
  double unk_score_;
  size_t max_token_bytes_ = 0;
};

}  // namespace socle::engine::tokenizer
