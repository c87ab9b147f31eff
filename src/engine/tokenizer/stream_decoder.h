// Streaming detokenizer: turns ids arriving one at a time (a generation) into text chunks
// that are each valid UTF-8. A token that ends inside a character (byte-level BPE splits
// emoji and CJK characters across tokens) yields nothing until the character is complete.
// The chunks joined equal tokenizer.decode(ids) without clean-up
// (clean_up_tokenization_spaces false), which is what a chat client should see.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace socle::engine::tokenizer {

class StreamDecoder {
 public:
  // `tokenizer` must outlive the decoder.
  StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
      : tokenizer_(&tokenizer), skip_special_tokens_(skip_special_tokens) {}

  // The text that `id` completes; empty when it only starts a character or adds nothing.
  std::string step(int32_t id);
  // What is still held back (an unfinished character, as U+FFFD); the stream then restarts.
  std::string finish();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_tokens_;
  // The ids since the last point where all text was out, after the last earlier id that
  // has a text (kept as context), so that decoders that treat the first token apart
  // (Metaspace, Strip) see the same first token in every call.
  std::vector<int32_t> ids_;
  size_t emitted_ = 0;  // bytes of decode_bytes(ids_) already returned
};

}  // namespace socle::engine::tokenizer
