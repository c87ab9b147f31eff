// The bytes each token adds to a text in the middle of a generation, for constrained decoding
// (sampling::TokenTexts): what the streaming detokenizer would emit for it after an ordinary
// token. Decoders that treat a text's first token apart (Metaspace's prepended space, Strip)
// would drop a leading space when a token is decoded alone; decoding it after a context token
// and cutting that token's bytes gives the bytes it adds mid-text. Special tokens, and ids
// without a piece, get an empty text (never allowed by a constraint).
#pragma once

#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace socle::engine::tokenizer {

std::vector<std::string> token_texts(const Tokenizer& tokenizer);

}  // namespace socle::engine::tokenizer
