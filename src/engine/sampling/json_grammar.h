// A byte-at-a-time recogniser of JSON text (RFC 8259), for constrained decoding: it says
// whether a byte can extend what it has read so far into a document that can still be
// completed, and whether what it has read is a whole document. Its state is a small value
// (the open containers are bits of one integer), so the token mask copies it once per byte
// of the vocabulary it walks (json_constraint.h).
//
// It accepts exactly the JSON grammar, with strict UTF-8 inside strings (no overlong forms,
// surrogates or code points past U+10FFFF; outside strings only ASCII is JSON), and three
// limits that keep a generation from running away in a way the grammar allows forever:
//   - at most MAX_JSON_DEPTH containers open at once;
//   - at most MAX_JSON_WHITESPACE whitespace bytes in a row between tokens of the grammar;
//   - in OBJECT mode (response_format json_object) the document is one object, and nothing,
//     not even whitespace, may follow its closing brace.
// \u escapes are checked for four hex digits only: a lone surrogate (\ud800) is valid JSON
// text, as the RFC's grammar and JavaScript's JSON.parse have it.
#pragma once

#include <cstdint>
#include <string_view>

namespace socle::engine::sampling {

inline constexpr int MAX_JSON_DEPTH = 64;
inline constexpr int MAX_JSON_WHITESPACE = 32;

enum class JsonMode : uint8_t {
  ANY_VALUE,  // any JSON value at the top, whitespace around it (as JSON.parse reads)
  OBJECT,     // one object and nothing after it (OpenAI's json_object)
};

class JsonRecognizer {
 public:
  explicit JsonRecognizer(JsonMode mode = JsonMode::ANY_VALUE) : mode_(mode) {}

  // Reads one byte. false (and the state unchanged) when no document starts with what was
  // read and this byte.
  bool push(uint8_t byte);
  // Reads every byte of `bytes`, or (false) none of them.
  bool push(std::string_view bytes) {
    JsonRecognizer before = *this;
    for (char c : bytes) {
      if (!step(static_cast<uint8_t>(c))) {
        *this = before;
        return false;
      }
    }
    return true;
  }
  // Whether the bytes read so far are a whole document.
  bool complete() const;
  // Whether nothing more can follow (OBJECT mode after its closing brace).
  bool finished() const { return lex_ == Lex::DONE && mode_ == JsonMode::OBJECT; }
  // Equal states accept the same bytes from here on (the token masks' cache uses this).
  bool operator==(const JsonRecognizer&) const = default;

 private:
  enum class Lex : uint8_t {
    VALUE,            // a value is expected (at the top, after ':' or ',' in an array)
    VALUE_OR_CLOSE,   // just after '['
    KEY_OR_CLOSE,     // just after '{'
    KEY,              // after ',' in an object
    COLON,            // after a key
    AFTER_VALUE,      // after a value inside a container: ',' or the closing bracket
    STRING,           // inside a string
    ESCAPE,           // after a backslash
    HEX,              // inside a \u escape (aux: hex digits still to read)
    UTF8,             // inside a multi-byte character (aux: continuation bytes left)
    MINUS,            // after a number's '-'
    ZERO,             // a number's integer part is 0
    INTEGER,          // in a number's nonzero integer part
    POINT,            // after the '.'
    FRACTION,         // in the fraction's digits
    EXPONENT,         // after 'e' or 'E'
    EXPONENT_SIGN,    // after the exponent's sign
    EXPONENT_DIGITS,  // in the exponent's digits
    LITERAL,          // inside true, false or null (aux: which, and how far)
    DONE,             // the top-level value is complete
  };
  bool step(uint8_t byte);  // push() without the undo
  bool value_start(uint8_t byte);
  bool after_value(uint8_t byte);
  bool string_byte(uint8_t byte);
  bool end_number(uint8_t byte);
  bool open(uint8_t byte);  // '{' or '['
  void close();             // the innermost container's closing bracket
  void close_value();
  bool in_object() const { return depth_ > 0 && ((open_ >> (depth_ - 1)) & 1) != 0; }

  uint64_t open_ = 0;  // bit d: container d (from the outside) is an object
  uint8_t depth_ = 0;
  Lex lex_ = Lex::VALUE;
  uint8_t aux_ = 0;      // HEX, UTF8, LITERAL: see Lex
  uint8_t low_ = 0x80;   // UTF8: the range of the next continuation byte
  uint8_t high_ = 0xBF;  // (narrower after E0, ED, F0 and F4)
  uint8_t spaces_ = 0;   // whitespace bytes in a row
  bool key_ = false;     // STRING and its escapes: the string is an object's key
  JsonMode mode_;
};

}  // namespace socle::engine::sampling
