// Decoders: turn a list of token texts back into text (tokenizer.json's "decoder"):
// ByteLevel, Metaspace, WordPiece, Replace, ByteFallback, Fuse, Strip and Sequence.
//
// Byte-producing decoders (ByteLevel, ByteFallback) may leave bytes that are not valid
// UTF-8, for instance when the ids stop in the middle of a character; the tokenizer
// sanitises the joined text, and the streaming detokenizer holds such a tail back.
#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace socle::engine::tokenizer {

struct DecodePiece {
  std::string text;
  bool added = false;  // an added token: ByteLevel leaves it as it is written
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<DecodePiece>& pieces) const = 0;
};

// A null config gives a null pointer: the tokenizer then joins token texts with spaces.
Result<std::unique_ptr<Decoder>> decoder_from_json(const boost::json::value& config);

// The "clean_up_tokenization_spaces" rules of transformers: " ." -> ".", " n't" -> "n't", ...
std::string clean_up_tokenization(std::string_view text);

}  // namespace socle::engine::tokenizer
