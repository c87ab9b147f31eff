#include "rag/parse/text_decode.h"

#include <array>

#include "engine/tokenizer/unicode.h"

namespace socle::rag {
namespace {

namespace tok = engine::tokenizer;

constexpr std::string_view UTF8_BOM = "\xEF\xBB\xBF";
constexpr char32_t UNDEFINED = 0;

// Windows-1252 bytes 0x80..0x9F; the others are Latin-1, i.e. the code point equal to the byte.
constexpr std::array<char32_t, 32> CP1252_HIGH = {
    0x20AC,    UNDEFINED, 0x201A, 0x0192, 0x201E, 0x2026,    0x2020, 0x2021,  // 0x80
    0x02C6,    0x2030,    0x0160, 0x2039, 0x0152, UNDEFINED, 0x017D, UNDEFINED,
    UNDEFINED, 0x2018,    0x2019, 0x201C, 0x201D, 0x2022,    0x2013, 0x2014,  // 0x90
    0x02DC,    0x2122,    0x0161, 0x203A, 0x0153, UNDEFINED, 0x017E, 0x0178,
};

std::string hex_byte(unsigned char b) {
  static constexpr char HEX[] = "0123456789ABCDEF";
  return std::string("0x") + HEX[b >> 4] + HEX[b & 0xF];
}

}  // namespace

Result<std::string> decode_text(std::string_view bytes, std::string_view what) {
  if (bytes.starts_with(UTF8_BOM)) bytes.remove_prefix(UTF8_BOM.size());
  size_t nul = bytes.find('\0');
  if (nul != std::string_view::npos) {
    bool utf16 = bytes.starts_with("\xFF\xFE") || bytes.starts_with("\xFE\xFF");
    return invalid_argument(
        std::string(what) + " holds a NUL byte at offset " + std::to_string(nul) +
        (utf16 ? ": it is UTF-16; save it as UTF-8" : ": it is binary data, not text"));
  }
  if (tok::utf8_valid(bytes)) return std::string(bytes);
  // Not UTF-8: a legacy 8-bit file. Windows-1252 is what French Windows software writes; a
  // true ISO-8859-1 file differs only in C1 control bytes, which no real text uses.
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    char32_t cp = b;
    if (b >= 0x80 && b < 0xA0) {
      cp = CP1252_HIGH[b - 0x80];
      if (cp == UNDEFINED) {
        return invalid_argument(std::string(what) + " is neither UTF-8 nor Windows-1252: byte " +
                                hex_byte(b) + " at offset " + std::to_string(i) +
                                "; save it as UTF-8");
      }
    }
    tok::utf8_append(out, cp);
  }
  return out;
}

}  // namespace socle::rag
