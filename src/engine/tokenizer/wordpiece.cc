#include "engine/tokenizer/wordpiece.h"

#include "engine/tokenizer/config_fields.h"
#include "engine/tokenizer/unicode.h"

namespace socle::engine::tokenizer {

namespace {

constexpr std::string_view WHAT = "model WordPiece";
constexpr int64_t DEFAULT_MAX_INPUT_CHARS = 100;

// Byte offset of the start of the last code point before `end`.
size_t previous_char_start(std::string_view s, size_t end) {
  size_t i = end - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80)
    --i;
  return i;
}

}  // namespace

void WordPiece::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (utf8_decode(piece).size() > max_chars_) {
    out.push_back(unk_id_);
    return;
  }
  std::vector<int32_t> sub;
  std::string candidate;
  size_t start = 0;
  while (start < piece.size()) {
    size_t end = piece.size();
    std::optional<int32_t> found;
    while (start < end) {
      candidate.clear();
      if (start > 0) candidate = prefix_;
      candidate.append(piece.substr(start, end - start));
      found = vocab_.find(candidate);
      if (found) break;
      end = previous_char_start(piece, end);
    }
    if (!found) {
      out.push_back(unk_id_);
      return;
    }
    sub.push_back(*found);
    start = end;
  }
  out.insert(out.end(), sub.begin(), sub.end());
}

Status WordPiece::encode(const std::vector<std::string>& pieces, std::vector<int32_t>& out) const {
  for (const auto& piece : pieces)
    encode_piece(piece, out);
  return Status::ok();
}

Result<std::unique_ptr<Model>> wordpiece_from_json(const boost::json::object& o) {
  const auto* vocab_json = o.if_contains("vocab");
  if (vocab_json == nullptr) return invalid_argument("tokenizer model WordPiece has no 'vocab'");
  SOCLE_ASSIGN_OR_RETURN(Vocab vocab, vocab_from_json(*vocab_json, WHAT));
  SOCLE_ASSIGN_OR_RETURN(std::string unk, string_field_or(o, "unk_token", "[UNK]", WHAT));
  auto unk_id = vocab.find(unk);
  if (!unk_id) {
    return invalid_argument("tokenizer model WordPiece: unk_token '" + unk +
                            "' is not in the vocabulary");
  }
  SOCLE_ASSIGN_OR_RETURN(std::string prefix,
                         string_field_or(o, "continuing_subword_prefix", "##", WHAT));
  SOCLE_ASSIGN_OR_RETURN(int64_t max_chars, int_field_or(o, "max_input_chars_per_word",
                                                         DEFAULT_MAX_INPUT_CHARS, WHAT));
  if (max_chars <= 0)
    return invalid_argument("tokenizer model WordPiece: max_input_chars_per_word must be positive");
  return std::unique_ptr<Model>(
      new WordPiece(std::move(vocab), *unk_id, std::move(prefix), static_cast<size_t>(max_chars)));
}

}  // namespace socle::engine::tokenizer
