#include "base/random.h"

#include <openssl/rand.h>

#include "base/check.h"
#include "base/hash.h"

namespace socle {

std::string secure_random_bytes(size_t n) {
  std::string out(n, '\0');
  int ok = RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  SOCLE_CHECK(ok == 1, "OpenSSL's random generator is seeded and working");
  return out;
}

std::string secure_random_token(size_t n_bytes) {
  static constexpr char ALPHABET[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string bytes = secure_random_bytes(n_bytes);
  std::string out;
  out.reserve((n_bytes * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += ALPHABET[(acc << (6 - bits)) & 0x3F];
  return out;
}

std::string new_request_id() {
  return to_hex(secure_random_bytes(16));
}

}  // namespace socle
