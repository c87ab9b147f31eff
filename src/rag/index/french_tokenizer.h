// The lexical index's French tokenizer, the same on documents and queries:
//   1. split into words: runs of Unicode letters, digits and combining marks; an apostrophe
//      (' U+0027, ’ U+2019, ʼ U+02BC) between two such characters stays inside the word,
//      anything else (hyphens included) separates words;
//   2. strip an elision: l' d' j' m' n' s' t' c' qu' jusqu' lorsqu' puisqu' quoiqu' presqu'
//      at the start of a word, in any case;
//   3. lowercase;
//   4. fold accents: canonical decomposition, combining marks dropped, and œ -> oe,
//      æ -> ae, ß -> ss (apostrophes left in a word become ');
//   5. drop stop words (french_stop_words.h) and words longer than FRENCH_MAX_WORD_BYTES;
//   6. stem with Snowball's French stemmer (libstemmer).
// Folding comes before stemming so that a query typed without accents finds the accented
// text: "données" and "donnees" both become "donnees", then "donne" (stemmed as typed,
// "données" would give "don").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

struct sb_stemmer;

namespace socle::rag {

// Longer "words" are base64, hashes or glued text, not French: skipped rather than indexed.
// The longest French words are about 25 letters.
constexpr size_t FRENCH_MAX_WORD_BYTES = 64;

struct FrenchToken {
  std::string text;
  // Where the word was in the input: byte offsets [begin, end), after the elision.
  int64_t begin = 0;
  int64_t end = 0;
};

class FrenchTokenizer {
 public:
  // INTERNAL when libstemmer has no French stemmer for UTF-8 (a broken installation).
  static Result<std::unique_ptr<FrenchTokenizer>> create();
  ~FrenchTokenizer();
  FrenchTokenizer(const FrenchTokenizer&) = delete;
  FrenchTokenizer& operator=(const FrenchTokenizer&) = delete;

  // Steps 1 to 6: the terms that the index stores and that queries look up. Not thread-safe
  // (the stemmer keeps its buffer): one tokenizer per thread.
  std::vector<FrenchToken> tokenize(std::string_view text);

  // Steps 1 to 5: the folded words before stemming. Thread-safe.
  static std::vector<FrenchToken> words(std::string_view text);

  // Steps 3 and 4 on one word.
  static std::string fold(std::string_view word);

  // Step 6 alone: Snowball's French stem of `word` (UTF-8), nothing else done to it.
  std::string stem(std::string_view word);

 private:
  explicit FrenchTokenizer(sb_stemmer* stemmer) : stemmer_(stemmer) {}
  sb_stemmer* stemmer_;  // owned
};

}  // namespace socle::rag
