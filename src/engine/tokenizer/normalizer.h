// Normalizers: the first stage of a Hugging Face tokenizer pipeline, rewriting the text of
// each section between added tokens before it is split (tokenizer.json's "normalizer").
#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace socle::engine::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // `text` is valid UTF-8; so is the result.
  virtual std::string normalize(std::string_view text) const = 0;
};

// Builds the normalizer that `config` describes: NFC, NFD, NFKC, NFKD, Lowercase,
// StripAccents, Strip, Prepend, Replace, BertNormalizer, Precompiled or a Sequence of them.
// A null config gives a null pointer (no normalizer); any other type is refused.
Result<std::unique_ptr<Normalizer>> normalizer_from_json(const boost::json::value& config);

}  // namespace socle::engine::tokenizer
