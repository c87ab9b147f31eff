#include "engine/sampling/json_grammar.h"

#include <array>

namespace socle::engine::sampling {
namespace {

constexpr std::array<std::string_view, 3> LITERALS = {"true", "false", "null"};

bool is_space(uint8_t b) {
  return b == ' ' || b == '\t' || b == '\n' || b == '\r';
}

bool is_digit(uint8_t b) {
  return b >= '0' && b <= '9';
}

bool is_hex(uint8_t b) {
  return is_digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

}  // namespace

bool JsonRecognizer::push(uint8_t byte) {
  JsonRecognizer before = *this;
  if (step(byte)) return true;
  *this = before;
  return false;
}

bool JsonRecognizer::complete() const {
  if (lex_ == Lex::DONE) return true;
  // A number at the top ends with the text (ANY_VALUE only: OBJECT's top is an object).
  bool number_may_end = lex_ == Lex::ZERO || lex_ == Lex::INTEGER || lex_ == Lex::FRACTION ||
                        lex_ == Lex::EXPONENT_DIGITS;
  return depth_ == 0 && number_may_end;
}

void JsonRecognizer::close_value() {
  lex_ = depth_ == 0 ? Lex::DONE : Lex::AFTER_VALUE;
}

bool JsonRecognizer::open(uint8_t byte) {
  if (depth_ >= MAX_JSON_DEPTH) return false;
  uint64_t bit = uint64_t{1} << depth_;
  open_ = byte == '{' ? open_ | bit : open_ & ~bit;
  ++depth_;
  lex_ = byte == '{' ? Lex::KEY_OR_CLOSE : Lex::VALUE_OR_CLOSE;
  return true;
}

void JsonRecognizer::close() {
  --depth_;
  open_ &= ~(uint64_t{1} << depth_);
  close_value();
}

bool JsonRecognizer::value_start(uint8_t byte) {
  switch (byte) {
    case '{':
    case '[':
      return open(byte);
    case '"':
      lex_ = Lex::STRING;
      key_ = false;
      return true;
    case '-':
      lex_ = Lex::MINUS;
      return true;
    case '0':
      lex_ = Lex::ZERO;
      return true;
    case 't':
    case 'f':
    case 'n': {
      auto which = static_cast<uint8_t>(byte == 't' ? 0 : byte == 'f' ? 1 : 2);
      lex_ = Lex::LITERAL;
      aux_ = static_cast<uint8_t>(which << 4 | 1);
      return true;
    }
    default:
      if (is_digit(byte)) {
        lex_ = Lex::INTEGER;
        return true;
      }
      return false;
  }
}

bool JsonRecognizer::after_value(uint8_t byte) {
  if (byte == ',') {
    lex_ = in_object() ? Lex::KEY : Lex::VALUE;
    return true;
  }
  if ((byte == '}' && in_object()) || (byte == ']' && !in_object())) {
    close();
    return true;
  }
  return false;
}

// A byte that cannot continue the number ends it; the byte is then read after the value.
bool JsonRecognizer::end_number(uint8_t byte) {
  close_value();
  return step(byte);
}

bool JsonRecognizer::string_byte(uint8_t byte) {
  if (byte == '"') {
    if (key_) {
      key_ = false;
      lex_ = Lex::COLON;
    } else {
      close_value();
    }
    return true;
  }
  if (byte == '\\') {
    lex_ = Lex::ESCAPE;
    return true;
  }
  if (byte < 0x20) return false;  // control characters must be escaped
  if (byte < 0x80) return true;
  // The lead byte of a multi-byte character: how many continuation bytes follow, and the
  // range of the first (Unicode's table of well-formed UTF-8 byte sequences).
  low_ = 0x80;
  high_ = 0xBF;
  if (byte >= 0xC2 && byte <= 0xDF) {
    aux_ = 1;
  } else if (byte >= 0xE0 && byte <= 0xEF) {
    aux_ = 2;
    if (byte == 0xE0) low_ = 0xA0;   // no overlong forms
    if (byte == 0xED) high_ = 0x9F;  // no surrogates
  } else if (byte >= 0xF0 && byte <= 0xF4) {
    aux_ = 3;
    if (byte == 0xF0) low_ = 0x90;   // no overlong forms
    if (byte == 0xF4) high_ = 0x8F;  // nothing past U+10FFFF
  } else {
    return false;  // a continuation byte, C0, C1 or F5 to FF
  }
  lex_ = Lex::UTF8;
  return true;
}

bool JsonRecognizer::step(uint8_t byte) {
  bool structural = lex_ == Lex::VALUE || lex_ == Lex::VALUE_OR_CLOSE ||
                    lex_ == Lex::KEY_OR_CLOSE || lex_ == Lex::KEY || lex_ == Lex::COLON ||
                    lex_ == Lex::AFTER_VALUE || (lex_ == Lex::DONE && mode_ == JsonMode::ANY_VALUE);
  if (structural) {
    if (is_space(byte)) {
      if (spaces_ >= MAX_JSON_WHITESPACE) return false;
      ++spaces_;
      return true;
    }
    spaces_ = 0;
  }
  switch (lex_) {
    case Lex::VALUE:
      if (depth_ == 0 && mode_ == JsonMode::OBJECT && byte != '{') return false;
      return value_start(byte);
    case Lex::VALUE_OR_CLOSE:
      if (byte == ']') {
        close();
        return true;
      }
      return value_start(byte);
    case Lex::KEY_OR_CLOSE:
      if (byte == '}') {
        close();
        return true;
      }
      [[fallthrough]];
    case Lex::KEY:
      if (byte != '"') return false;
      lex_ = Lex::STRING;
      key_ = true;
      return true;
    case Lex::COLON:
      if (byte != ':') return false;
      lex_ = Lex::VALUE;
      return true;
    case Lex::AFTER_VALUE:
      return after_value(byte);
    case Lex::STRING:
      return string_byte(byte);
    case Lex::ESCAPE:
      if (byte == 'u') {
        lex_ = Lex::HEX;
        aux_ = 4;
        return true;
      }
      if (std::string_view("\"\\/bfnrt").find(static_cast<char>(byte)) == std::string_view::npos)
        return false;
      lex_ = Lex::STRING;
      return true;
    case Lex::HEX:
      if (!is_hex(byte)) return false;
      if (--aux_ == 0) lex_ = Lex::STRING;
      return true;
    case Lex::UTF8:
      if (byte < low_ || byte > high_) return false;
      low_ = 0x80;
      high_ = 0xBF;
      if (--aux_ == 0) lex_ = Lex::STRING;
      return true;
    case Lex::MINUS:
      if (byte == '0') {
        lex_ = Lex::ZERO;
        return true;
      }
      if (!is_digit(byte)) return false;
      lex_ = Lex::INTEGER;
      return true;
    case Lex::ZERO:
    case Lex::INTEGER:
      if (is_digit(byte) && lex_ == Lex::INTEGER) return true;
      if (byte == '.') {
        lex_ = Lex::POINT;
        return true;
      }
      [[fallthrough]];
    case Lex::FRACTION:
      if (is_digit(byte) && lex_ == Lex::FRACTION) return true;
      if (byte == 'e' || byte == 'E') {
        lex_ = Lex::EXPONENT;
        return true;
      }
      if (is_digit(byte)) return false;  // a digit after a leading zero
      return end_number(byte);
    case Lex::POINT:
      if (!is_digit(byte)) return false;
      lex_ = Lex::FRACTION;
      return true;
    case Lex::EXPONENT:
      if (byte == '+' || byte == '-') {
        lex_ = Lex::EXPONENT_SIGN;
        return true;
      }
      [[fallthrough]];
    case Lex::EXPONENT_SIGN:
      if (!is_digit(byte)) return false;
      lex_ = Lex::EXPONENT_DIGITS;
      return true;
    case Lex::EXPONENT_DIGITS:
      if (is_digit(byte)) return true;
      return end_number(byte);
    case Lex::LITERAL: {
      std::string_view literal = LITERALS[aux_ >> 4];
      size_t at = aux_ & 15;
      if (byte != static_cast<uint8_t>(literal[at])) return false;
      if (at + 1 == literal.size()) {
        close_value();
      } else {
        ++aux_;
      }
      return true;
    }
    case Lex::DONE:
      return false;
  }
  return false;
}

}  // namespace socle::engine::sampling
