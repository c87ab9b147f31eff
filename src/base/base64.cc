#include "base/base64.h"

#include <array>
#include <cstdint>

namespace socle {
namespace {

constexpr std::string_view ALPHABET =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint32_t SIX_BITS = 0x3F;

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t group = 0;
    for (size_t k = 0; k < 3; ++k) {
      uint32_t b = k < n ? static_cast<unsigned char>(bytes[i + k]) : 0;
      group = (group << 8) | b;
    }
    for (size_t k = 0; k < 4; ++k)
      out += k <= n ? ALPHABET[(group >> (18 - 6 * k)) & SIX_BITS] : '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  constexpr int INVALID = -1;
  std::array<int, 256> table{};
  table.fill(INVALID);
  for (size_t i = 0; i < ALPHABET.size(); ++i)
    table[static_cast<unsigned char>(ALPHABET[i])] = static_cast<int>(i);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    int v = table[static_cast<unsigned char>(c)];
    if (v == INVALID) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace socle
