// Base64 in the standard alphabet (RFC 4648, section 4) with '=' padding: the embeddings
// API's base64 encoding, tokenizer files' binary fields.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace socle {

std::string base64_encode(std::string_view bytes);

// The bytes of `text`, which may end in '=' padding; nullopt if it holds a character outside
// the alphabet.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace socle
