// The lexical index on small French corpora written for these tests: what finds what, and
// BM25's order.
#include "rag/index/lexical_index.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "rag/index/french_fts5.h"
#include "unit/engine/temp_dir.h"

namespace socle::rag {
namespace {

using engine::testing::TempDir;

std::unique_ptr<LexicalIndex> open_index(const std::string& dir) {
  auto index = LexicalIndex::open(dir);
  EXPECT_TRUE(index.is_ok()) << index.status().to_string();
  return std::move(index).value();
}

std::vector<int64_t> find(const LexicalIndex& index, std::string_view query, int64_t k = 10,
                          const IdFilter* filter = nullptr) {
  auto hits = index.search(query, k, filter);
  EXPECT_TRUE(hits.is_ok()) << hits.status().to_string();
  std::vector<int64_t> ids;
  if (hits.is_ok()) {
    for (const Hit& h : *hits)
      ids.push_back(h.id);
  }
  return ids;
}

class LexicalIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_ = open_index(tmp_.path());
    std::vector<LexicalEntry> docs = {
        {1, "L'élève remet son devoir au professeur."},
        {2, "Les données personnelles sont protégées par le RGPD."},
        {3, "Une école primaire ouvre à la rentrée."},
        {4, "La commune vote le budget annuel."},
        {5, "Le traitement des donnees est declare a la CNIL."},
    };
    ASSERT_TRUE(index_->add(docs).is_ok());
  }

  TempDir tmp_;
  std::unique_ptr<LexicalIndex> index_;
};

TEST_F(LexicalIndexTest, PluralFindsSingular) {
  EXPECT_EQ(find(*index_, "élèves"), std::vector<int64_t>{1});
  EXPECT_EQ(find(*index_, "ELEVES"), std::vector<int64_t>{1});
}

TEST_F(LexicalIndexTest, AccentsOrNotFindEachOther) {
  auto with = find(*index_, "données");
  auto without = find(*index_, "donnees");
  std::sort(with.begin(), with.end());
  std::sort(without.begin(), without.end());
  EXPECT_EQ(with, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(without, (std::vector<int64_t>{2, 5}));
}

TEST_F(LexicalIndexTest, ElisionsWithEitherApostropheFindTheWord) {
  EXPECT_EQ(find(*index_, "l'école"), std::vector<int64_t>{3});
  EXPECT_EQ(find(*index_,
                 "l\xE2\x80\x99\xC3\xA9"
                 "cole"),
            std::vector<int64_t>{3});
  EXPECT_EQ(find(*index_, "ecoles"), std::vector<int64_t>{3});
}

TEST_F(LexicalIndexTest, StopWordsAloneFindNothing) {
  auto hits = index_->search("le la les de des et à", 10);
  ASSERT_TRUE(hits.is_ok());
  EXPECT_TRUE(hits->empty());
  EXPECT_TRUE(find(*index_, "  ,;! ").empty());
}

TEST_F(LexicalIndexTest, TermsAreOred) {
  EXPECT_EQ(find(*index_, "budget zzyzx"), std::vector<int64_t>{4});
  // A chunk with both terms ranks above chunks with one.
  auto ids = find(*index_, "rentrée budget école");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], 3);
  EXPECT_EQ(ids[1], 4);
}

TEST_F(LexicalIndexTest, ReplacingAndRemoving) {
  ASSERT_TRUE(index_->add(4, "La région vote les subventions.").is_ok());
  EXPECT_TRUE(find(*index_, "budget").empty());
  EXPECT_EQ(find(*index_, "subvention"), std::vector<int64_t>{4});
  std::vector<int64_t> gone = {2, 5, 99};
  ASSERT_TRUE(index_->remove(gone).is_ok());
  EXPECT_TRUE(find(*index_, "données").empty());
  EXPECT_EQ(*index_->size(), 3);
}

TEST_F(LexicalIndexTest, FilterKeepsOnlyAllowedIds) {
  IdFilter only5 = [](int64_t id) { return id == 5; };
  EXPECT_EQ(find(*index_, "données", 10, &only5), std::vector<int64_t>{5});
  IdFilter none = [](int64_t) { return false; };
  EXPECT_TRUE(find(*index_, "données", 10, &none).empty());
}

TEST_F(LexicalIndexTest, SurvivesReopening) {
  index_.reset();
  auto reopened = open_index(tmp_.path());
  EXPECT_EQ(find(*reopened, "élèves"), std::vector<int64_t>{1});
  EXPECT_EQ(*reopened->size(), 5);
}

TEST(LexicalIndex, Bm25RanksMoreOccurrencesAndShorterChunksFirst) {
  TempDir tmp;
  auto index = open_index(tmp.path());
  std::vector<LexicalEntry> docs = {
      // Same length, more occurrences of the term.
      {10, "subvention accordée, subvention versée, subvention contrôlée"},
      {11, "subvention accordée, dossier complet, paiement contrôlé"},
      // One occurrence each; 12 is short, 13 long.
      {12, "subvention régionale"},
      {13,
       "subvention régionale attribuée après examen du dossier par la commission "
       "permanente du conseil régional réunie en séance plénière au mois de juin"},
      // Unrelated chunks, so that the term is not in every document (its IDF stays positive).
      {14, "horaires d'ouverture de la mairie"},
      {15, "état civil et actes de naissance"},
      {16, "collecte des déchets ménagers"},
  };
  ASSERT_TRUE(index->add(docs).is_ok());
  auto hits = index->search("subventions", 10);
  ASSERT_TRUE(hits.is_ok());
  ASSERT_EQ(hits->size(), 4u);
  auto position = [&](int64_t id) {
    for (size_t i = 0; i < hits->size(); ++i) {
      if ((*hits)[i].id == id) return static_cast<int>(i);
    }
    return -1;
  };
  EXPECT_LT(position(10), position(11));
  EXPECT_LT(position(12), position(13));
  for (size_t i = 0; i < hits->size(); ++i) {
    EXPECT_GT((*hits)[i].score, 0);  // -bm25: higher is better
    if (i > 0) {
      EXPECT_GE((*hits)[i - 1].score, (*hits)[i].score);
    }
  }
  // k limits the count.
  EXPECT_EQ(find(*index, "subvention", 2).size(), 2u);
}

TEST(LexicalIndex, MatchExpressionQuotesFoldedWordsJoinedByOr) {
  EXPECT_EQ(LexicalIndex::match_expression("Les élèves de l'école, les élèves !"),
            "\"eleves\" OR \"ecole\"");
  EXPECT_EQ(LexicalIndex::match_expression("le la les"), "");
  // FTS5 operators in the query are words like any other.
  EXPECT_EQ(LexicalIndex::match_expression("NOT budget AND \"x\" OR yeux*"),
            "\"not\" OR \"budget\" OR \"and\" OR \"x\" OR \"yeux\"");  // "or" is a stop word
  // A query of 5,000 distinct words searches for the first MAX_QUERY_TERMS.
  std::string many;
  for (int i = 0; i < 5000; ++i)
    many += "mot" + std::to_string(i) + " ";
  std::string expr = LexicalIndex::match_expression(many);
  size_t terms = 1;
  for (size_t at = expr.find(" OR "); at != std::string::npos; at = expr.find(" OR ", at + 1))
    ++terms;
  EXPECT_EQ(terms, LexicalIndex::MAX_QUERY_TERMS);
  EXPECT_EQ(expr.substr(0, 6), "\"mot0\"");
}

// The tokenizer as FTS5 sees it, on a bare connection: its offsets let highlight() mark the
// original words.
TEST(FrenchFts5, HighlightMarksTheOriginalWords) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  ASSERT_TRUE(french_fts5_register(db).is_ok());
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='socle_fr');"
                         "INSERT INTO t VALUES('Vu l''arrêté préfectoral du 3 mai');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT highlight(t, 0, '[', ']') FROM t WHERE t MATCH "
                               "'\"arretes\" OR \"prefectorale\"'",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))),
            "Vu l'[arrêté] [préfectoral] du 3 mai");
  sqlite3_finalize(stmt);
  // Options are refused.
  EXPECT_NE(sqlite3_exec(db, "CREATE VIRTUAL TABLE u USING fts5(x, tokenize='socle_fr extra')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace
}  // namespace socle::rag
