#include "engine/tokenizer/unigram.h"

#include <algorithm>
#include <limits>

#include "engine/tokenizer/config_fields.h"
#include "engine/tokenizer/unicode.h"

namespace socle::engine::tokenizer {

namespace {

constexpr std::string_view WHAT = "model Unigram";
// SentencePiece's penalty for the unknown token, below the least likely piece.
constexpr double UNK_PENALTY = 10.0;

struct BestPath {
  double score = 0;
  size_t start = 0;
  int32_t id = -1;
  bool reached = false;
};

}  // namespace

Unigram::Unigram(Vocab vocab, std::vector<double> scores, int32_t unk_id)
    : vocab_(std::move(vocab)), scores_(std::move(scores)), unk_id_(unk_id) {
  double min_score = std::numeric_limits<double>::max();
  for (double s : scores_)
    min_score = std::min(min_score, s);
  unk_score_ = min_score - UNK_PENALTY;
  for (size_t id = 0; id < vocab_.id_limit(); ++id) {
    if (auto t = vocab_.token(static_cast<int32_t>(id)))
      max_token_bytes_ = std::max(max_token_bytes_, t->size());
  }
}

void Unigram::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  // Viterbi over byte positions, as the Rust encode_optimized: candidates are visited by
  // start position then length, and only a strictly better score replaces a best path, so
  // ties keep the earliest start.
  std::vector<BestPath> best(piece.size() + 1);
  best[0].reached = true;
  size_t start = 0;
  while (start < piece.size()) {
    size_t after_char = start;
    utf8_next(piece, &after_char);
    size_t char_len = after_char - start;
    double base = best[start].score;
    bool has_single_char = false;
    size_t limit = std::min(piece.size(), start + max_token_bytes_);
    for (size_t end = after_char; end <= limit;) {
      if (auto id = vocab_.find(piece.substr(start, end - start))) {
        double candidate = base + scores_[static_cast<size_t>(*id)];
        BestPath& target = best[end];
        if (!target.reached || candidate > target.score) target = {candidate, start, *id, true};
        if (end - start == char_len) has_single_char = true;
      }
      if (end == piece.size()) break;
      utf8_next(piece, &end);
    }
    if (!has_single_char) {
      double candidate = base + unk_score_;
      BestPath& target = best[after_char];
      if (!target.reached || candidate > target.score) target = {candidate, start, unk_id_, true};
    }
    start = after_char;
  }
  std::vector<int32_t> reversed;
  for (size_t end = piece.size(); end > 0; end = best[end].start) {
    int32_t id = best[end].id;
    if (id == unk_id_ && !reversed.empty() && reversed.back() == unk_id_) continue;
    reversed.push_back(id);
  }
  out.insert(out.end(), reversed.rbegin(), reversed.rend());
}

Status Unigram::encode(const std::vector<std::string>& pieces, std::vector<int32_t>& out) const {
  for (const auto& piece : pieces)
    encode_piece(piece, out);
  return Status::ok();
}

Result<std::unique_ptr<Model>> unigram_from_json(const boost::json::object& o) {
  SOCLE_ASSIGN_OR_RETURN(bool byte_fallback, bool_field_or(o, "byte_fallback", false, WHAT));
  if (byte_fallback)
    return invalid_argument("tokenizer model Unigram: byte_fallback is not supported");
  SOCLE_ASSIGN_OR_RETURN(const boost::json::array* list, array_field(o, "vocab", WHAT));
  Vocab vocab;
  std::vector<double> scores;
  scores.reserve(list->size());
  for (const auto& entry : *list) {
    if (!entry.is_array() || entry.as_array().size() != 2 || !entry.as_array()[0].is_string() ||
        !entry.as_array()[1].is_number()) {
      return invalid_argument("tokenizer model Unigram: each vocab entry must be [piece, score]");
    }
    vocab.add(std::string(entry.as_array()[0].as_string()), static_cast<int32_t>(scores.size()));
    scores.push_back(entry.as_array()[1].to_number<double>());
  }
  SOCLE_ASSIGN_OR_RETURN(int64_t unk_id, int_field_or(o, "unk_id", -1, WHAT));
  if (unk_id < 0 || static_cast<size_t>(unk_id) >= scores.size()) {
    return invalid_argument("tokenizer model Unigram: unk_id " + std::to_string(unk_id) +
                            " is not an id of the vocabulary");
  }
  return std::unique_ptr<Model>(
      new Unigram(std::move(vocab), std::move(scores), static_cast<int32_t>(unk_id)));
}

}  // namespace socle::engine::tokenizer
