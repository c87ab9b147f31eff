// Chunking: exact cuts on small documents, and invariants on seeded random documents checked
// against the source words (each chunk is a contiguous run of its section's words).
#include "rag/chunk/chunker.h"

#include <gtest/gtest.h>

#include <random>

namespace socle::rag {
namespace {

// One unit per whitespace-separated word: easy to reason about, and like a tokenizer it is
// not additive (joining two texts does not add a unit for the separator).
int64_t count_words(std::string_view text) {
  int64_t n = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t') {
      if (!w.empty()) out.push_back(w);
      w.clear();
    } else {
      w += c;
    }
  }
  if (!w.empty()) out.push_back(w);
  return out;
}

Block heading(int level, std::string text, std::vector<std::string> path = {}) {
  Block b;
  b.kind = BlockKind::HEADING;
  b.level = level;
  b.text = std::move(text);
  b.heading_path = std::move(path);
  return b;
}

Block paragraph(std::string text, std::vector<std::string> path = {}, int page = 0) {
  Block b;
  b.text = std::move(text);
  b.heading_path = std::move(path);
  b.page = page;
  return b;
}

// "w1 w2 ... wn" from `first`.
std::string numbered_words(int first, int n) {
  std::string out;
  for (int i = first; i < first + n; ++i)
    out += (out.empty() ? "w" : " w") + std::to_string(i);
  return out;
}

std::vector<std::string> texts(const std::vector<Chunk>& chunks) {
  std::vector<std::string> out;
  for (const Chunk& c : chunks)
    out.push_back(c.text);
  return out;
}

TEST(ChunkSettingsTest, Bounds) {
  EXPECT_TRUE(check_chunk_settings({512, 64}).is_ok());
  EXPECT_TRUE(check_chunk_settings({16, 7}).is_ok());
  EXPECT_TRUE(check_chunk_settings({16, 0}).is_ok());
  Status small = check_chunk_settings({15, 0});
  EXPECT_EQ(small.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(small.param(), "chunk_size");
  EXPECT_EQ(small.message(), "chunk_size must be between 16 and 1048576, got 15");
  EXPECT_EQ(check_chunk_settings({MAX_CHUNK_SIZE + 1, 0}).param(), "chunk_size");
  Status half = check_chunk_settings({16, 8});
  EXPECT_EQ(half.param(), "chunk_overlap");
  EXPECT_EQ(half.message(),
            "chunk_overlap must be at least 0 and less than half of chunk_size (16), got 8");
  EXPECT_EQ(check_chunk_settings({100, -1}).param(), "chunk_overlap");
}

TEST(CharacterMeasureTest, CountsCodePoints) {
  Measure m = character_measure();
  EXPECT_EQ(m(""), 0);
  EXPECT_EQ(m("abc"), 3);
  EXPECT_EQ(m("été"), 3);                               // 5 bytes
  EXPECT_EQ(m("€"), 1);                                 // 3 bytes
  EXPECT_EQ(m("\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7"), 2);  // two regional indicators: one flag
  EXPECT_EQ(m("l’État\u00A0!"), 8);
}

TEST(ChunkerTest, BlocksOfASectionArePackedAndHeadingsStartChunks) {
  ParsedDocument doc;
  doc.blocks = {
      paragraph("Avant-propos court."),
      heading(1, "Titre A"),
      paragraph("un deux trois", {"Titre A"}),
      paragraph("quatre cinq", {"Titre A"}),
      paragraph("six sept huit neuf", {"Titre A"}),
      heading(2, "Sous B", {"Titre A"}),
      paragraph("dix", {"Titre A", "Sous B"}),
      heading(2, "Sous B", {"Titre A"}),  // the same title again: still a new section
      paragraph("onze", {"Titre A", "Sous B"}),
  };
  std::vector<Chunk> chunks = chunk_document(doc, {16, 0}, count_words);
  EXPECT_EQ(texts(chunks), (std::vector<std::string>{
                               "Avant-propos court.",
                               "Titre A\nun deux trois\nquatre cinq\nsix sept huit neuf",
                               "Sous B\ndix",
                               "Sous B\nonze",
                           }));
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_TRUE(chunks[0].heading_path.empty());
  EXPECT_EQ(chunks[1].heading_path, std::vector<std::string>{"Titre A"});
  EXPECT_EQ(chunks[2].heading_path, (std::vector<std::string>{"Titre A", "Sous B"}));
  EXPECT_EQ(chunks[3].heading_path, (std::vector<std::string>{"Titre A", "Sous B"}));
}

TEST(ChunkerTest, PackingStopsAtTheSizeWithOverlapFromThePreviousChunk) {
  ParsedDocument doc;
  for (int i = 0; i < 6; ++i)
    doc.blocks.push_back(paragraph(numbered_words(i * 5, 5)));  // 5 words each
  std::vector<Chunk> chunks = chunk_document(doc, {16, 3}, count_words);
  // 3 blocks (15 words) fit; the next chunk starts with the last 3 words, then 2 blocks.
  EXPECT_EQ(texts(chunks), (std::vector<std::string>{
                               "w0 w1 w2 w3 w4\nw5 w6 w7 w8 w9\nw10 w11 w12 w13 w14",
                               "w12 w13 w14\nw15 w16 w17 w18 w19\nw20 w21 w22 w23 w24",
                               "w22 w23 w24\nw25 w26 w27 w28 w29",
                           }));
}

TEST(ChunkerTest, ALongParagraphIsSplitAtSentencesThenSpacesWithOverlap) {
  // Sentences of 4, 6 and 26 words; size 16, overlap 4: pieces are cut to 12 words (the first
  // two sentences together, then the third at spaces); each chunk after the first starts with
  // the last 4 words of the one before.
  std::string text =
      "Un deux trois quatre. Cinq six sept huit neuf dix! "
      "a b c d e f g h i j k l";
  ParsedDocument doc;
  doc.blocks = {paragraph(text + " m n o p q r s t u v w x y z")};
  std::vector<Chunk> chunks = chunk_document(doc, {16, 4}, count_words);
  EXPECT_EQ(texts(chunks), (std::vector<std::string>{
                               "Un deux trois quatre. Cinq six sept huit neuf dix!",
                               "sept huit neuf dix! a b c d e f g h i j k l",
                               "i j k l m n o p q r s t u v w x",
                               "u v w x y z",
                           }));
}

TEST(ChunkerTest, FrenchSentenceEndsWithClosingQuotes) {
  // "… »" ends a sentence although a no-break space and a guillemet follow the period.
  std::string text =
      "Il dit «\u00A0oui.\u00A0» Puis il partit vers la gare du Nord ce matin-là sans un mot";
  ParsedDocument doc;
  doc.blocks = {paragraph(text)};
  std::vector<Chunk> chunks = chunk_document(doc, {16, 0}, character_measure());
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, "Il dit «\u00A0oui.\u00A0»");
}

TEST(ChunkerTest, CodeIsSplitAtLinesAndKeepsItsIndentation) {
  Block code;
  code.kind = BlockKind::CODE;
  code.text = "int main() {\n  int a = 1;\n  int b = 2;\n  int c = 3;\n\n  return a + b;\n}";
  ParsedDocument doc;
  doc.blocks = {code};
  std::vector<Chunk> chunks = chunk_document(doc, {16, 0}, count_words);
  EXPECT_EQ(texts(chunks), (std::vector<std::string>{
                               "int main() {\n  int a = 1;\n  int b = 2;\n  int c = 3;",
                               "  return a + b;\n}",
                           }));
}

TEST(ChunkerTest, AWordLongerThanAChunkStandsAlone) {
  std::string url = "https://exemple.fr/" + std::string(60, 'x');
  ParsedDocument doc;
  doc.blocks = {paragraph("voir " + url + " pour la suite du texte")};
  std::vector<Chunk> chunks = chunk_document(doc, {20, 5}, character_measure());
  // Pieces are cut to size - overlap = 15 characters; the URL takes no overlap and leaves none.
  EXPECT_EQ(texts(chunks),
            (std::vector<std::string>{"voir", url, "pour la suite", "suite du texte"}));
}

TEST(ChunkerTest, PagesOfTheBlocksAndOfTheOverlap) {
  ParsedDocument doc;
  doc.blocks = {
      paragraph(numbered_words(0, 6), {}, 1),
      paragraph(numbered_words(6, 6), {}, 2),
      paragraph(numbered_words(12, 6), {}, 2),
      paragraph(numbered_words(18, 6), {}, 4),
  };
  std::vector<Chunk> chunks = chunk_document(doc, {16, 2}, count_words);
  ASSERT_EQ(texts(chunks), (std::vector<std::string>{
                               numbered_words(0, 6) + "\n" + numbered_words(6, 6),
                               "w10 w11\n" + numbered_words(12, 6) + "\n" + numbered_words(18, 6),
                           }));
  EXPECT_EQ(chunks[0].page_start, 1);
  EXPECT_EQ(chunks[0].page_end, 2);
  EXPECT_EQ(chunks[1].page_start, 2);  // the overlap comes from page 2
  EXPECT_EQ(chunks[1].page_end, 4);
}

TEST(ChunkerTest, TheOverlapShrinksWhenTheNextBlockNeedsTheRoom) {
  ParsedDocument doc;
  doc.blocks = {paragraph(numbered_words(0, 10)), paragraph(numbered_words(10, 14))};
  std::vector<Chunk> chunks = chunk_document(doc, {16, 5}, count_words);
  EXPECT_EQ(texts(chunks),
            (std::vector<std::string>{numbered_words(0, 10), "w8 w9\n" + numbered_words(10, 14)}));
}

// A measure that counts the separators too (like a tokenizer seeing "\n"), so that the length
// of a joined text is more than the sum of its parts: the chunker must measure, not add.
int64_t words_and_newlines(std::string_view text) {
  return count_words(text) + static_cast<int64_t>(std::count(text.begin(), text.end(), '\n'));
}

struct Source {
  std::vector<std::string> words;  // the section's words in order, unique in the document
  std::vector<int> pages;          // the page of each word
};

// Random documents of unique words (so that a chunk's position is known from its first word):
// headings at random levels, paragraphs of random length with sentence ends, accented and
// over-long words, pages increasing.
ParsedDocument random_document(std::mt19937& rng, int* next_word) {
  static const char* const STEMS[] = {"état",   "mairie",  "décret",  "x",
                                      "arrêté", "commune", "électeur"};
  auto word = [&] {
    std::string w = STEMS[rng() % std::size(STEMS)];
    if (rng() % 40 == 0) w += std::string(80, 'z');  // longer than a small chunk
    w += std::to_string((*next_word)++);
    if (rng() % 7 == 0) w += (rng() % 2) ? "." : "!";
    return w;
  };
  ParsedDocument doc;
  std::vector<std::string> path;
  int page = 1;
  int blocks = 1 + static_cast<int>(rng() % 30);
  for (int b = 0; b < blocks; ++b) {
    if (rng() % 5 == 0) {
      int level = 1 + static_cast<int>(rng() % 3);
      path.resize(std::min<size_t>(path.size(), static_cast<size_t>(level - 1)));
      Block h = heading(level, word() + " " + word(), path);
      path.push_back(h.text);
      doc.blocks.push_back(h);
      continue;
    }
    int n = 1 + static_cast<int>(rng() % (rng() % 4 == 0 ? 120 : 12));
    std::string text;
    for (int i = 0; i < n; ++i)
      text += (i ? " " : "") + word();
    if (rng() % 3 == 0) ++page;
    doc.blocks.push_back(paragraph(text, path, page));
  }
  return doc;
}

TEST(ChunkerTest, InvariantsOnRandomDocuments) {
  std::mt19937 rng(20240601);
  const Measure measures[] = {character_measure(), count_words, words_and_newlines};
  for (int round = 0; round < 80; ++round) {
    int next_word = 0;
    ParsedDocument doc = random_document(rng, &next_word);
    const Measure& measure = measures[round % std::size(measures)];
    int64_t size = 16 + static_cast<int64_t>(rng() % 200);
    int64_t overlap = static_cast<int64_t>(rng() % static_cast<uint32_t>((size + 1) / 2));
    ChunkSettings settings{size, overlap};
    ASSERT_TRUE(check_chunk_settings(settings).is_ok());
    SCOPED_TRACE("round " + std::to_string(round) + " size " + std::to_string(size) + " overlap " +
                 std::to_string(overlap));

    // The sections as the chunker must see them: heading path -> words and pages.
    std::vector<std::pair<std::vector<std::string>, Source>> sections;
    std::map<std::string, std::pair<size_t, size_t>> where;  // word -> (section, index)
    for (const Block& b : doc.blocks) {
      std::vector<std::string> p = b.heading_path;
      if (b.kind == BlockKind::HEADING) p.push_back(b.text);
      if (b.kind == BlockKind::HEADING || sections.empty() || sections.back().first != p) {
        sections.push_back({p, {}});
      }
      for (const std::string& w : words_of(b.text)) {
        where[w] = {sections.size() - 1, sections.back().second.words.size()};
        sections.back().second.words.push_back(w);
        sections.back().second.pages.push_back(b.page);
      }
    }

    std::vector<Chunk> chunks = chunk_document(doc, settings, measure);
    EXPECT_EQ(texts(chunk_document(doc, settings, measure)), texts(chunks));  // deterministic
    size_t section = 0;
    size_t covered = 0;  // words of the current section already in a chunk
    size_t previous_start = 0;
    for (size_t k = 0; k < chunks.size(); ++k) {
      const Chunk& c = chunks[k];
      std::vector<std::string> ws = words_of(c.text);
      ASSERT_FALSE(ws.empty());
      // Never over the size, except a lone word longer than it.
      if (ws.size() > 1) {
        EXPECT_LE(measure(c.text), size) << c.text;
      }
      // Every word is a whole source word, and the chunk is a run of its section's words.
      ASSERT_TRUE(where.count(ws[0])) << "cut word: " << ws[0];
      auto [s, start] = where.at(ws[0]);
      const Source& src = sections[s].second;
      ASSERT_LE(start + ws.size(), src.words.size()) << c.text;
      for (size_t i = 0; i < ws.size(); ++i)
        ASSERT_EQ(ws[i], src.words[start + i]) << c.text;
      EXPECT_EQ(c.heading_path, sections[s].first);
      if (s != section) {
        // A new section starts with its first word, after the previous one was covered.
        EXPECT_EQ(covered, sections[section].second.words.size());
        EXPECT_EQ(start, 0u);
        section = s;
        covered = 0;
      } else if (k > 0) {
        // No gap, progress, and an overlap within its bound.
        EXPECT_LE(start, covered);
        EXPECT_GT(start + ws.size(), covered);
        EXPECT_GT(start, previous_start);
        if (start < covered) {
          std::string repeated;
          for (size_t i = start; i < covered; ++i)
            repeated += (repeated.empty() ? "" : " ") + src.words[i];
          EXPECT_LE(measure(repeated), overlap) << repeated;
        }
      }
      covered = start + ws.size();
      previous_start = start;
      int lo = *std::min_element(src.pages.begin() + static_cast<long>(start),
                                 src.pages.begin() + static_cast<long>(covered));
      int hi = *std::max_element(src.pages.begin() + static_cast<long>(start),
                                 src.pages.begin() + static_cast<long>(covered));
      EXPECT_EQ(c.page_start, lo);
      EXPECT_EQ(c.page_end, hi);
    }
    if (!sections.empty()) {
      EXPECT_EQ(section, sections.size() - 1);
      EXPECT_EQ(covered, sections.back().second.words.size());
    }
  }
}

}  // namespace
}  // namespace socle::rag
