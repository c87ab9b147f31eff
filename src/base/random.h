// Randomness for secrets and identifiers, from OpenSSL's CSPRNG. Never for sampling or
// tests: those take explicit seeds.
#pragma once

#include <cstddef>
#include <string>

namespace socle {

// `n` bytes from the operating system's CSPRNG (through OpenSSL). Stops the process if the
// generator fails: handing out a predictable key is worse than not starting.
std::string secure_random_bytes(size_t n);

// `n` random bytes as URL-safe base64 without padding (alphabet A-Z a-z 0-9 - _).
std::string secure_random_token(size_t n_bytes);

// A request id: 16 random bytes in lowercase hex.
std::string new_request_id();

}  // namespace socle
