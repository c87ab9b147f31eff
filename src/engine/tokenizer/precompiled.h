// SentencePiece's precompiled normalisation map ("Precompiled" normalizer): the character
// map that XLM-RoBERTa, bge-m3, multilingual-e5 and other SentencePiece models carry,
// serialised as a double-array trie over UTF-8 bytes plus a blob of replacement strings.
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <string>

#include "base/status.h"
#include "engine/tokenizer/normalizer.h"

namespace socle::engine::tokenizer {

// Builds the normalizer from {"type": "Precompiled", "precompiled_charsmap": base64}.
// A malformed map is refused: every trie offset is checked against the map's size.
Result<std::unique_ptr<Normalizer>> precompiled_from_json(const boost::json::object& config);
// The same from the map's bytes (base64-decoded; GGUF's tokenizer.ggml.precompiled_charsmap).
Result<std::unique_ptr<Normalizer>> precompiled_from_bytes(std::string charsmap);
// The bytes of a {"type": "Precompiled", "precompiled_charsmap": base64} config's map.
Result<std::string> precompiled_charsmap_bytes(const boost::json::object& config);

}  // namespace socle::engine::tokenizer
