// Pre-tokenizers: the stage that cuts each normalised section into the pieces the model
// tokenizes one by one (tokenizer.json's "pre_tokenizer"). They follow the Rust
// implementation in Hugging Face tokenizers.
#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace socle::engine::tokenizer {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` (valid UTF-8) by their sub-pieces, in order, dropping empty ones.
  // `first_section` is true when the text is the start of the input (Metaspace's
  // prepend_scheme "first" looks at it).
  virtual void pre_tokenize(std::vector<std::string>& pieces, bool first_section) const = 0;
};

// Builds the pre-tokenizer that `config` describes: ByteLevel, Split, Metaspace, Digits,
// Whitespace, WhitespaceSplit, BertPreTokenizer, Punctuation or a Sequence of them. A null
// config gives a null pointer; any other type or option is refused.
Result<std::unique_ptr<PreTokenizer>> pre_tokenizer_from_json(const boost::json::value& config);

}  // namespace socle::engine::tokenizer
