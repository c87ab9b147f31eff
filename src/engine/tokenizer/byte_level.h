// GPT-2's byte-level alphabet: each of the 256 byte values is shown as one printable code
// point, so that BPE works on any byte string (bytes_to_unicode in openai/gpt-2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace socle::engine::tokenizer {

// The code point that stands for byte `b`.
char32_t byte_to_char(unsigned char b);

// The byte that code point `cp` stands for, or nothing when `cp` is not in the alphabet.
std::optional<unsigned char> char_to_byte(char32_t cp);

// Maps every byte of `text` to its code point, as UTF-8.
std::string byte_level_encode(std::string_view text);

}  // namespace socle::engine::tokenizer
