// The JSON recogniser against an independent parser (Boost.JSON) on generated documents and
// on every single-byte mutation of them, plus tables of refusals at a stated byte and the
// limits the recogniser adds to the grammar.
#include "engine/sampling/json_grammar.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <random>
#include <string>
#include <vector>

namespace socle::engine::sampling {
namespace {

// How many bytes of `text` the recogniser reads before refusing one (text.size(): all).
size_t bytes_read(JsonRecognizer& r, const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (!r.push(static_cast<uint8_t>(text[i]))) return i;
  }
  return text.size();
}

bool recognised(const std::string& text, JsonMode mode = JsonMode::ANY_VALUE) {
  JsonRecognizer r(mode);
  return bytes_read(r, text) == text.size() && r.complete();
}

bool parses(const std::string& text) {
  boost::system::error_code ec;
  boost::json::parse(text, ec);
  return !ec;
}

// A random JSON document with random whitespace, strings with escapes and multi-byte
// characters, and numbers in every form the grammar has.
class Generator {
 public:
  explicit Generator(uint32_t seed) : gen_(seed) {}

  std::string document() {
    std::string out = space();
    value(out, 0);
    out += space();
    return out;
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(gen_); }
  std::string space() {
    static constexpr const char* SPACES[] = {"", "", "", " ", "\n", "\t", "  ", "\r\n", " \n  "};
    return SPACES[pick(9)];
  }
  void value(std::string& out, int depth) {
    int kind = pick(depth >= 4 ? 5 : 7);
    switch (kind) {
      case 0:
        string(out);
        break;
      case 1:
        number(out);
        break;
      case 2:
        out += pick(2) ? "true" : "false";
        break;
      case 3:
        out += "null";
        break;
      case 4:
        number(out);
        break;
      case 5: {
        out += '[';
        int n = pick(4);
        out += space();
        for (int i = 0; i < n; ++i) {
          if (i > 0) out += "," + space();
          value(out, depth + 1);
          out += space();
        }
        out += ']';
        break;
      }
      default: {
        out += '{';
        int n = pick(4);
        out += space();
        for (int i = 0; i < n; ++i) {
          if (i > 0) out += "," + space();
          string(out);
          out += space() + ":" + space();
          value(out, depth + 1);
          out += space();
        }
        out += '}';
      }
    }
  }
  void string(std::string& out) {
    static constexpr const char* PIECES[] = {
        "a",   "Z",   " ",   "é",   "€",       "😀",       "\\\"",    "\\\\", "\\/", "\\n",
        "\\t", "\\b", "\\f", "\\r", "\\u00e9", "\\u0041", "\\u00FF", "\x7f", "中",  "1"};
    out += '"';
    int n = pick(6);
    for (int i = 0; i < n; ++i)
      out += PIECES[pick(20)];
    out += '"';
  }
  void number(std::string& out) {
    if (pick(3) == 0) out += '-';
    if (pick(4) == 0) {
      out += '0';
    } else {
      out += static_cast<char>('1' + pick(9));
      int n = pick(4);
      for (int i = 0; i < n; ++i)
        out += static_cast<char>('0' + pick(10));
    }
    if (pick(2)) {
      out += '.';
      int n = 1 + pick(3);
      for (int i = 0; i < n; ++i)
        out += static_cast<char>('0' + pick(10));
    }
    if (pick(3) == 0) {
      out += pick(2) ? 'e' : 'E';
      int sign = pick(3);
      if (sign == 1) out += '+';
      if (sign == 2) out += '-';
      out += static_cast<char>('0' + pick(10));  // one digit: a mutation stays in range
    }
  }
  std::mt19937 gen_;
};

// Bytes a mutation puts in: the grammar's own, letters, control characters, and bytes that
// start, continue or can never be in UTF-8.
const std::string MUTATION_BYTES =
    std::string("{}[],:\"\\ \n\t0123456789.eE+-tfnulrsabxuU/") +
    std::string("\x01\x1f\x7f\x80\xbf\xc0\xc2\xe0\xed\xf0\xf4\xf5\xff", 13);

TEST(JsonRecognizer, AgreesWithBoostJsonOnDocumentsAndEveryMutation) {
  Generator g(1234);
  std::mt19937 gen(99);
  int valid = 0, mutants = 0, mutants_valid = 0;
  for (int d = 0; d < 600; ++d) {
    std::string doc = g.document();
    ASSERT_TRUE(parses(doc)) << doc;
    // A document: read whole, complete; and every prefix of it is read (none is refused).
    JsonRecognizer r;
    ASSERT_EQ(bytes_read(r, doc), doc.size()) << doc;
    ASSERT_TRUE(r.complete()) << doc;
    ++valid;
    for (int m = 0; m < 30; ++m) {
      std::string mutant = doc;
      auto at = std::uniform_int_distribution<size_t>(0, doc.size())(gen);
      char byte =
          MUTATION_BYTES[std::uniform_int_distribution<size_t>(0, MUTATION_BYTES.size() - 1)(gen)];
      int op = std::uniform_int_distribution<int>(0, 2)(gen);
      if (op == 0) {
        mutant.insert(mutant.begin() + static_cast<std::ptrdiff_t>(at), byte);
      } else if (at < mutant.size()) {
        if (op == 1) mutant.erase(at, 1);
        if (op == 2) mutant[at] = byte;
      }
      bool boost_ok = parses(mutant);
      ASSERT_EQ(recognised(mutant), boost_ok) << "'" << mutant << "' from '" << doc << "'";
      if (boost_ok) {
        // Every prefix of a document is read.
        JsonRecognizer p;
        ASSERT_EQ(bytes_read(p, mutant), mutant.size()) << mutant;
        ++mutants_valid;
      }
      ++mutants;
    }
  }
  // Both outcomes were exercised many times.
  EXPECT_EQ(valid, 600);
  EXPECT_GT(mutants_valid, 1000);
  EXPECT_GT(mutants - mutants_valid, 5000);
}

struct Refusal {
  std::string text;
  size_t at;  // the byte refused
};

TEST(JsonRecognizer, RefusesAtTheFirstByteThatNoDocumentHas) {
  const std::vector<Refusal> cases = {
      {"[1,]", 3},                    // trailing comma
      {"{\"a\":1,}", 7},              // trailing comma in an object
      {"[01]", 2},                    // leading zero
      {"[1.]", 3},                    // a point needs a digit
      {"[.5]", 1},                    // so does the start
      {"[-]", 2},                     // a minus needs a digit
      {"[1e]", 3},                    // an exponent needs a digit
      {"[1e+]", 4},                   // after its sign too
      {"['a']", 1},                   // single quotes
      {"[NaN]", 1},                   // not a literal
      {"[tru]", 4},                   // a literal cut short
      {"[nul1]", 4},                  // a literal misspelt
      {"{1:2}", 1},                   // keys are strings
      {"{\"a\" 1}", 5},               // a colon is needed
      {"[\"a\tb\"]", 3},              // a raw control character in a string
      {"[\"\\x\"]", 3},               // an unknown escape
      {"[\"\\u12G4\"]", 6},           // a \u escape needs four hex digits
      {"[\"\xc0\xaf\"]", 2},          // an overlong form
      {"[\"\xe0\x80\xaf\"]", 3},      // an overlong three-byte form
      {"[\"\xed\xa0\x80\"]", 3},      // a surrogate in UTF-8
      {"[\"\xf4\x90\x80\x80\"]", 3},  // past U+10FFFF
      {"[\"\x80\"]", 2},              // a continuation byte alone
      {"[\"\xe2\x82\"]", 4},          // a character cut short
      {"[1 2]", 3},                   // a comma is needed
      {"[1}", 2},                     // brackets must match
      {"{\"a\":1]", 6},
      {"\xc3\xa9", 0},  // outside strings, ASCII only
  };
  for (const auto& c : cases) {
    JsonRecognizer r;
    EXPECT_EQ(bytes_read(r, c.text), c.at) << c.text;
    EXPECT_FALSE(parses(c.text)) << c.text;
  }
}

TEST(JsonRecognizer, AnObjectModeDocumentIsOneObjectAndNothingAfter) {
  EXPECT_TRUE(recognised("{}", JsonMode::OBJECT));
  EXPECT_TRUE(recognised(" \n{\"a\": [1, {\"b\": null}]}", JsonMode::OBJECT));
  for (const char* top : {"[]", "1", "\"a\"", "true", "null"}) {
    JsonRecognizer r(JsonMode::OBJECT);
    EXPECT_EQ(bytes_read(r, top), 0u) << top;
  }
  JsonRecognizer r(JsonMode::OBJECT);
  ASSERT_EQ(bytes_read(r, "{\"a\":1}"), 7u);
  EXPECT_TRUE(r.complete());
  EXPECT_TRUE(r.finished());
  EXPECT_FALSE(r.push(' ')) << "not even whitespace after the object";
  EXPECT_FALSE(r.push('{'));
  // ANY_VALUE takes whitespace after its value, as JSON.parse does.
  JsonRecognizer any;
  EXPECT_EQ(bytes_read(any, "{} \n"), 4u);
  EXPECT_TRUE(any.complete());
  EXPECT_FALSE(any.finished());
}

TEST(JsonRecognizer, WhitespaceRunsAndNestingAreBounded) {
  JsonRecognizer r(JsonMode::OBJECT);
  std::string spaces(MAX_JSON_WHITESPACE, ' ');
  EXPECT_EQ(bytes_read(r, "{" + spaces), 1u + MAX_JSON_WHITESPACE);
  EXPECT_FALSE(r.push('\n')) << "one more whitespace byte in a row";
  EXPECT_TRUE(r.push('"')) << "the run ends with any other byte";
  // Inside a string, spaces are content: no limit.
  EXPECT_EQ(bytes_read(r, std::string(100, ' ')), 100u);
  std::string deep(MAX_JSON_DEPTH, '[');
  JsonRecognizer d;
  EXPECT_EQ(bytes_read(d, deep), deep.size());
  EXPECT_FALSE(d.push('[')) << "one container too deep";
  EXPECT_TRUE(d.push(']'));
}

TEST(JsonRecognizer, ARefusedByteLeavesTheStateAsItWas) {
  JsonRecognizer r;
  ASSERT_EQ(bytes_read(r, "[12"), 3u);
  EXPECT_FALSE(r.push('x'));
  EXPECT_FALSE(r.push('}'));
  EXPECT_FALSE(r.push(std::string_view("45x"))) << "bytes a token holds: all or none";
  EXPECT_EQ(bytes_read(r, "3.5e-2]"), 7u);
  EXPECT_TRUE(r.complete());
}

}  // namespace
}  // namespace socle::engine::sampling
