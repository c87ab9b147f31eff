// API key secrets: "sk-" followed by 43 URL-safe base64 characters (256 random bits).
// Only their SHA-256 is stored; the secret is shown once, when the key is created.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace socle::tenancy {

inline constexpr std::string_view KEY_PREFIX = "sk-";
inline constexpr size_t KEY_RANDOM_BYTES = 32;
// A key supplied by an operator (SOCLE_ADMIN_KEY) must carry at least 128 bits: 22
// characters of base64.
inline constexpr size_t MIN_SUPPLIED_KEY_CHARS = 22;
// How much of a secret is kept in clear to recognise the key in lists: "sk-" + 4 characters.
inline constexpr size_t KEY_DISPLAY_CHARS = 7;

std::string generate_key_secret();

// SHA-256 of the whole secret, 32 raw bytes.
std::string hash_key_secret(std::string_view secret);

std::string key_display_prefix(std::string_view secret);

// INVALID_ARGUMENT unless `secret` looks like a key socle could accept: "sk-" and at least
// MIN_SUPPLIED_KEY_CHARS of [A-Za-z0-9_-].
Status check_supplied_key(std::string_view secret);

}  // namespace socle::tenancy
