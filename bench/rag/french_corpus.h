// Generated French text: words drawn from Snowball's French vocabulary (Debian's
// snowball-data, /usr/share/snowball/data/french/voc.txt, 20,000 real words) with Zipf-like
// frequencies, strung into sentences and paragraphs; and multi-page PDFs of such text rendered
// by groff (independent of poppler, which parses them). Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/status.h"

namespace socle::bench::rag {

inline constexpr const char* FRENCH_VOCABULARY = "/usr/share/snowball/data/french/voc.txt";

class FrenchWords {
 public:
  // Reads the word list (one word a line) and ranks its words in an order shuffled by `seed`;
  // the word of rank r is then drawn with probability proportional to 1 / r (Zipf's law, as
  // in natural text).
  static Result<FrenchWords> load(const std::string& path, uint64_t seed);

  const std::string& word(std::mt19937_64& rng) const;
  // `words` words, the first capitalised (ASCII letters only), ending with a full stop.
  std::string sentence(std::mt19937_64& rng, int words) const;
  // Sentences of 6 to 14 words until the paragraph holds at least `min_chars` code points;
  // starts over when it passed `max_chars`.
  std::string paragraph(std::mt19937_64& rng, int64_t min_chars, int64_t max_chars) const;
  size_t size() const { return words_.size(); }

 private:
  std::vector<std::string> words_;  // by rank
  std::vector<double> cumulative_;  // (words_.size()) cumulative Zipf weights
};

// A word of letters that no French word or stem has, distinct for every `index`: consonants
// only (no vowel, so the Snowball stemmer has no region to cut, and no f or l, which groff
// may turn into a ligature), "zq" then `index` in base 16.
std::string page_marker(int64_t index);

// Renders a PDF with `pages.size()` pages, page i holding pages[i] (paragraphs separated by
// blank lines), with `groff -Tpdf -Kutf8`, hyphenation off (words stay whole), in `work_dir`.
Result<std::string> groff_pdf(const std::string& work_dir, const std::string& name,
                              const std::vector<std::string>& pages);

}  // namespace socle::bench::rag
