// The French tokenizer: its stemmer against Snowball's own French test vocabulary (Debian's
// snowball-data), and each of its steps on hand-picked French.
#include "rag/index/french_tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>

#include "rag/index/french_stop_words.h"

namespace socle::rag {
namespace {

constexpr const char* SNOWBALL_VOC = "/usr/share/snowball/data/french/voc.txt";
constexpr const char* SNOWBALL_OUTPUT = "/usr/share/snowball/data/french/output.txt";

std::unique_ptr<FrenchTokenizer> tokenizer() {
  auto t = FrenchTokenizer::create();
  EXPECT_TRUE(t.is_ok());
  return std::move(t).value();
}

std::vector<std::string> texts(const std::vector<FrenchToken>& tokens) {
  std::vector<std::string> out;
  out.reserve(tokens.size());
  for (const FrenchToken& t : tokens)
    out.push_back(t.text);
  return out;
}

std::vector<std::string> words(std::string_view text) {
  return texts(FrenchTokenizer::words(text));
}

TEST(FrenchTokenizer, StemsSnowballsFrenchVocabularyAsSnowballDoes) {
  std::ifstream voc(SNOWBALL_VOC), output(SNOWBALL_OUTPUT);
  ASSERT_TRUE(voc && output) << "install snowball-data (scripts/install-deps)";
  auto t = tokenizer();
  std::string word, want;
  int64_t n = 0, wrong = 0;
  while (std::getline(voc, word)) {
    ASSERT_TRUE(std::getline(output, want)) << "output.txt is shorter than voc.txt";
    ++n;
    std::string got = t->stem(word);
    if (got != want && ++wrong <= 10) ADD_FAILURE() << word << " -> " << got << ", want " << want;
  }
  EXPECT_FALSE(std::getline(output, want)) << "output.txt is longer than voc.txt";
  EXPECT_GT(n, 20000);
  EXPECT_EQ(wrong, 0) << "of " << n << " words";
}

TEST(FrenchTokenizer, FoldsCaseAndAccents) {
  EXPECT_EQ(FrenchTokenizer::fold("Données"), "donnees");
  EXPECT_EQ(FrenchTokenizer::fold("ÉLÈVE"), "eleve");
  EXPECT_EQ(FrenchTokenizer::fold("Œuvre"), "oeuvre");
  EXPECT_EQ(FrenchTokenizer::fold("cæcum"), "caecum");
  EXPECT_EQ(FrenchTokenizer::fold("Straße"), "strasse");
  EXPECT_EQ(FrenchTokenizer::fold("ça"), "ca");
  EXPECT_EQ(FrenchTokenizer::fold("Noël"), "noel");
  EXPECT_EQ(FrenchTokenizer::fold("e\xCC\x81le\xCC\x80ve"), "eleve");  // decomposed input
  EXPECT_EQ(FrenchTokenizer::fold("aujourd\xE2\x80\x99hui"), "aujourd'hui");
}

TEST(FrenchTokenizer, SplitsOnHyphensAndPunctuationKeepsDigits) {
  EXPECT_EQ(words("arc-en-ciel, porte-monnaie; 2024!"),
            (std::vector<std::string>{"arc", "ciel", "porte", "monnaie", "2024"}));
  EXPECT_EQ(words("article L.1234-5"), (std::vector<std::string>{"article", "1234", "5"}));
}

TEST(FrenchTokenizer, StripsElisionsWithEitherApostrophe) {
  EXPECT_EQ(words("l'école"), std::vector<std::string>{"ecole"});
  EXPECT_EQ(words("l\xE2\x80\x99\xC3\xA9"
                  "cole"),
            std::vector<std::string>{"ecole"});  // l’école
  EXPECT_EQ(words("L'État"), std::vector<std::string>{"etat"});
  EXPECT_EQ(words("d'un arrêté"), std::vector<std::string>{"arrete"});
  EXPECT_EQ(words("jusqu'au recours"), std::vector<std::string>{"recours"});
  EXPECT_EQ(words("lorsqu'une demande"), std::vector<std::string>{"demande"});
  EXPECT_EQ(words("presqu'île"), std::vector<std::string>{"ile"});
  // Not an elision: the apostrophe stays inside the word.
  EXPECT_EQ(words("aujourd'hui"), std::vector<std::string>{"aujourd'hui"});
  // Quotes around a word are not part of it.
  EXPECT_EQ(words("'mot'"), std::vector<std::string>{"mot"});
}

TEST(FrenchTokenizer, DropsStopWords) {
  EXPECT_TRUE(words("le la les de des du et à où qu'il n'est pas").empty());
  EXPECT_EQ(words("Les sommes dues à l'État"),
            (std::vector<std::string>{"sommes", "dues", "etat"}));
}

TEST(FrenchTokenizer, StopWordsAreFoldedAndUnique) {
  std::set<std::string_view> seen;
  for (std::string_view w : french_stop_words()) {
    EXPECT_FALSE(w.empty());
    EXPECT_EQ(FrenchTokenizer::fold(w), w) << "stop word not folded: " << w;
    EXPECT_TRUE(seen.insert(w).second) << "stop word listed twice: " << w;
  }
}

TEST(FrenchTokenizer, FoldsBeforeStemmingSoAccentsDoNotMatter) {
  auto t = tokenizer();
  // As typed, Snowball stems these apart ("don" and "donne"); folded first, together.
  EXPECT_EQ(t->stem("données"), "don");
  EXPECT_EQ(texts(t->tokenize("données")), std::vector<std::string>{"donne"});
  EXPECT_EQ(texts(t->tokenize("donnees")), std::vector<std::string>{"donne"});
  EXPECT_EQ(texts(t->tokenize("élèves")), texts(t->tokenize("élève")));
  EXPECT_EQ(texts(t->tokenize("ELEVES")), texts(t->tokenize("élève")));
}

TEST(FrenchTokenizer, OffsetsPointIntoTheInput) {
  std::string text = "Vu l'arrêté du 3 mai";
  auto tokens = FrenchTokenizer::words(text);
  ASSERT_EQ(tokens.size(), 4u);  // vu, arrete, 3, mai ("du" is a stop word)
  EXPECT_EQ(text.substr(static_cast<size_t>(tokens[1].begin),
                        static_cast<size_t>(tokens[1].end - tokens[1].begin)),
            "arrêté");
  EXPECT_EQ(tokens[3].end, static_cast<int64_t>(text.size()));
}

TEST(FrenchTokenizer, SurvivesInvalidUtf8AndLongRuns) {
  std::string text =
      "abc\xFF\xFE"
      "def \xC3";  // stray bytes separate words
  EXPECT_EQ(words(text), (std::vector<std::string>{"abc", "def"}));
  std::string blob(FRENCH_MAX_WORD_BYTES + 1, 'x');
  EXPECT_EQ(words("texte " + blob + " annexe2"), (std::vector<std::string>{"texte", "annexe2"}));
}

}  // namespace
}  // namespace socle::rag
