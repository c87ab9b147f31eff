// Hashing and comparisons for secrets.
#pragma once

#include <string>
#include <string_view>

namespace socle {

// SHA-256 of `data`, as 32 raw bytes.
std::string sha256(std::string_view data);

// Lowercase hexadecimal of raw bytes.
std::string to_hex(std::string_view bytes);

// True if a and b are equal, in a time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace socle
