// Unicode helpers for the tokenizer pipeline: UTF-8 decoding and encoding, general
// categories, normalisation forms and grapheme clusters, on top of utf8proc.
// Every function takes and returns UTF-8; input is expected to be valid UTF-8 (check it
// once with utf8_valid at the pipeline's entry).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace socle::engine::tokenizer {

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool utf8_valid(std::string_view s);

// Decodes the code point at `s[*pos]` and advances `*pos` past it. `s` must be valid UTF-8.
char32_t utf8_next(std::string_view s, size_t* pos);

// Appends the UTF-8 encoding of `cp` to `out`.
void utf8_append(std::string& out, char32_t cp);

// Length in bytes of a UTF-8 sequence that starts with `lead` (1 for a stray byte).
size_t utf8_sequence_length(unsigned char lead);

// Replaces every ill-formed subsequence of `s` by U+FFFD, one per maximal subpart
// (the WHATWG and Unicode recommended practice, as TextDecoder and from_utf8_lossy do).
std::string utf8_sanitize(std::string_view s);

// The length of the longest prefix of `s` that does not end inside an incomplete, but so
// far well-formed, UTF-8 sequence: the bytes past it may still be completed by more bytes.
size_t utf8_complete_prefix(std::string_view s);

// Code points of `s`.
std::vector<char32_t> utf8_decode(std::string_view s);

enum class NormalForm { NFC, NFD, NFKC, NFKD };
std::string unicode_normalize(std::string_view s, NormalForm form);

// Full lower-case mapping, one code point at a time (as Rust's char::to_lowercase).
std::string unicode_lowercase(std::string_view s);

// General category tests.
bool is_mark_nonspacing(char32_t cp);     // Mn
bool is_mark(char32_t cp);                // M*
bool is_control_or_format(char32_t cp);   // Cc, Cf, Co, Cs (BERT's "control")
bool is_punctuation(char32_t cp);         // P*
bool is_letter_or_number(char32_t cp);    // L* or N*
bool is_unicode_whitespace(char32_t cp);  // the White_Space property (Rust char::is_whitespace)

// Extended grapheme clusters of `s`, as byte ranges [begin, end).
std::vector<std::pair<size_t, size_t>> graphemes(std::string_view s);

}  // namespace socle::engine::tokenizer
