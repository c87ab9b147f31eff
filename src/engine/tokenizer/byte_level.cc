#include "engine/tokenizer/byte_level.h"

#include <array>

#include "engine/tokenizer/unicode.h"

namespace socle::engine::tokenizer {

namespace {

constexpr size_t BYTE_VALUES = 256;
// Bytes that are shown as themselves: '!'..'~', '¡'..'¬' and '®'..'ÿ'. The others are
// shifted to U+0100 and beyond, in byte order.
constexpr char32_t FIRST_SHIFTED = 0x100;
// The largest code point the alphabet uses (U+0100 + 67 shifted bytes, minus one).
constexpr char32_t LAST_CHAR = 0x143;

struct Tables {
  std::array<char32_t, BYTE_VALUES> to_char{};
  std::array<int, LAST_CHAR + 1> to_byte{};
};

Tables make_tables() {
  Tables t;
  t.to_byte.fill(-1);
  auto printable = [](unsigned b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  };
  char32_t next = FIRST_SHIFTED;
  for (unsigned b = 0; b < BYTE_VALUES; ++b) {
    char32_t c = printable(b) ? static_cast<char32_t>(b) : next++;
    t.to_char[b] = c;
    t.to_byte[c] = static_cast<int>(b);
  }
  return t;
}

const Tables& tables() {
  static const Tables t = make_tables();
  return t;
}

}  // namespace

char32_t byte_to_char(unsigned char b) {
  return tables().to_char[b];
}

std::optional<unsigned char> char_to_byte(char32_t cp) {
  if (cp > LAST_CHAR) return std::nullopt;
  int b = tables().to_byte[cp];
  if (b < 0) return std::nullopt;
  return static_cast<unsigned char>(b);
}

std::string byte_level_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (char c : text)
    utf8_append(out, byte_to_char(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace socle::engine::tokenizer
