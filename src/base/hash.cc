#include "base/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

#include "base/check.h"

namespace socle {

std::string sha256(std::string_view data) {
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up on every call,
  // which costs four times the hash of an API key (every authenticated request hashes one).
  static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(
      EVP_MD_fetch(nullptr, "SHA256", nullptr), &EVP_MD_free);
  SOCLE_CHECK(md != nullptr, "OpenSSL provides SHA-256");
  std::string out(32, '\0');
  unsigned int len = 0;
  int ok = EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                      md.get(), nullptr);
  SOCLE_CHECK(ok == 1 && len == 32, "OpenSSL computes SHA-256");
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char HEX[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    out += HEX[u >> 4];
    out += HEX[u & 0xF];
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace socle
