#include "engine/tokenizer/stream_decoder.h"

#include "engine/tokenizer/unicode.h"

namespace socle::engine::tokenizer {

std::string StreamDecoder::step(int32_t id) {
  ids_.push_back(id);
  std::string text = tokenizer_->decode_bytes(ids_, skip_special_tokens_);
  size_t complete = utf8_complete_prefix(text);
  std::string out;
  if (complete > emitted_) {
    out = utf8_sanitize(std::string_view(text).substr(emitted_, complete - emitted_));
    emitted_ = complete;
  }
  if (complete == text.size()) {
    // Everything is out: keep as context only the last id that has a text, so that the
    // first token of the window, which Metaspace and Strip treat apart, stays the same.
    // Without one, nothing came out yet and the window can start afresh.
    size_t keep = ids_.size();
    while (keep > 0 && !tokenizer_->has_piece(ids_[keep - 1], skip_special_tokens_))
      --keep;
    ids_.erase(ids_.begin(),
               keep > 0 ? ids_.begin() + static_cast<std::ptrdiff_t>(keep - 1) : ids_.end());
    emitted_ = tokenizer_->decode_bytes(ids_, skip_special_tokens_).size();
  }
  return out;
}

std::string StreamDecoder::finish() {
  std::string text = tokenizer_->decode_bytes(ids_, skip_special_tokens_);
  std::string out;
  if (text.size() > emitted_) out = utf8_sanitize(std::string_view(text).substr(emitted_));
  ids_.clear();
  emitted_ = 0;
  return out;
}

}  // namespace socle::engine::tokenizer
