// Real French documents nobody here wrote: Debian's French man pages rendered to PDF by groff,
// and pages of the Debian Reference in French (HTML). Their independent answers: groff's own
// text rendering of the same page, the page objects groff wrote, the headings in the HTML.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "unit/rag/parse/fixtures.h"

namespace socle::rag {
namespace {

using testing::read_file;
using testing::TempDir;

constexpr const char* MAN_DIR = "/usr/share/man/fr/man1/";
constexpr const char* REFERENCE_DIR = "/usr/share/debian-reference/";
const char* const MAN_PAGES[] = {"cp", "mv", "date"};

// Words of 5 letters or more, apostrophes unified and hyphens (groff breaks words with
// U+2010 at line ends) treated as separators; bytes of multi-byte characters count as letters.
std::set<std::string> long_words(std::string text) {
  for (auto [from, to] :
       {std::pair<std::string, std::string>{"\xE2\x80\x99", "'"}, {"\xE2\x80\x90", "-"}}) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at))
      text.replace(at, from.size(), to);
  }
  std::set<std::string> out;
  std::string word;
  size_t letters = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    auto c = i < text.size() ? static_cast<unsigned char>(text[i]) : ' ';
    bool letter = std::isalpha(c) || c >= 0x80;
    if (letter) {
      word += static_cast<char>(c);
      if ((c & 0xC0) != 0x80) ++letters;
      continue;
    }
    // A word cut by a line-end hyphen continues on the next line: drop both halves.
    if (letters >= 5 && c != '-' && (i == 0 || text[i - word.size() - 1] != '-')) out.insert(word);
    word.clear();
    letters = 0;
  }
  return out;
}

class FrenchManPagesTest : public ::testing::Test {
 protected:
  // Rendered once for the suite, all at once (groff takes about half a second per page).
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(MAN_DIR)) return;
    dir_ = std::make_unique<TempDir>();
    std::string command;
    for (const char* page : MAN_PAGES) {
      std::string src = std::string(MAN_DIR) + page + ".1.gz";
      command += "(zcat " + src + " | groff -Tpdf -man -Kutf8 > " + dir_->file(page) +
                 ".pdf 2>/dev/null) & (zcat " + src + " | groff -Tutf8 -man -Kutf8 -P-cbou > " +
                 dir_->file(page) + ".txt 2>/dev/null) & ";
    }
    command += "wait";
    ASSERT_TRUE(testing::run(command));
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "manpages-fr is not installed (scripts/install-deps)";
  }

  static std::unique_ptr<TempDir> dir_;
};

std::unique_ptr<TempDir> FrenchManPagesTest::dir_;

TEST_F(FrenchManPagesTest, PagesSectionsAndAccentsSurvive) {
  const std::map<std::string, std::string> name_lines = {
      {"cp", "NOM cp - Copier des fichiers et des répertoires"},
      {"mv", "NOM mv - Déplacer ou renommer des fichiers"},
      {"date", "NOM date - Afficher ou configurer la date et l’heure du système"},
  };
  for (const char* page : MAN_PAGES) {
    SCOPED_TRACE(page);
    std::string pdf = read_file(dir_->file(page) + ".pdf");
    ParsedDocument doc = testing::parse_ok(pdf, std::string(page) + ".pdf", "application/pdf");
    EXPECT_EQ(doc.page_count, testing::count_page_objects(pdf));
    EXPECT_GT(doc.page_count, 1);
    EXPECT_TRUE(doc.pages_without_text.empty());
    ASSERT_GE(doc.blocks.size(), 4u);
    // The running header, then NOM with its line.
    EXPECT_EQ(doc.blocks[0].page, 1);
    bool name_found = false;
    std::set<std::string> texts;
    std::set<int> pages;
    for (const Block& b : doc.blocks) {
      EXPECT_EQ(b.kind, BlockKind::PARAGRAPH);
      EXPECT_TRUE(b.heading_path.empty());
      texts.insert(b.text);
      pages.insert(b.page);
      if (b.text == name_lines.at(page)) name_found = b.page == 1;
    }
    EXPECT_TRUE(name_found) << "no block '" << name_lines.at(page) << "' on page 1";
    // Every page has text, in order.
    EXPECT_EQ(static_cast<int>(pages.size()), doc.page_count);
    EXPECT_EQ(*pages.rbegin(), doc.page_count);
    bool synopsis = false, description = false;
    for (const std::string& t : texts) {
      synopsis = synopsis || t.starts_with("SYNOPSIS ");
      description = description || t.starts_with("DESCRIPTION ");
    }
    EXPECT_TRUE(synopsis);
    EXPECT_TRUE(description);
  }
}

TEST_F(FrenchManPagesTest, WordsMatchGroffsOwnTextRendering) {
  for (const char* page : MAN_PAGES) {
    SCOPED_TRACE(page);
    ParsedDocument doc = testing::parse_ok(read_file(dir_->file(page) + ".pdf"),
                                           std::string(page) + ".pdf", "application/pdf");
    std::string extracted;
    for (const Block& b : doc.blocks)
      extracted += b.text + "\n";
    std::set<std::string> ours = long_words(extracted);
    std::set<std::string> groff = long_words(read_file(dir_->file(page) + ".txt"));
    ASSERT_GT(groff.size(), 50u);
    size_t found = 0, accented = 0;
    std::vector<std::string> missing;
    for (const std::string& w : groff) {
      bool has_accent = w.find_first_of("\xC3") != std::string::npos;  // é è à ç ô ... É
      if (ours.count(w)) {
        ++found;
        accented += has_accent;
      } else {
        missing.push_back(w);
      }
    }
    // The two renderings break lines, and so hyphenate, in different places.
    EXPECT_GE(found * 100, groff.size() * 95) << ::testing::PrintToString(missing);
    EXPECT_GE(accented, 5u);
  }
}

// The h1..h6 elements of an HTML file, counted in its bytes.
size_t count_headings(const std::string& html) {
  size_t n = 0;
  for (size_t at = html.find("<h"); at != std::string::npos; at = html.find("<h", at + 1)) {
    if (at + 3 < html.size() && html[at + 2] >= '1' && html[at + 2] <= '6' &&
        (html[at + 3] == ' ' || html[at + 3] == '>')) {
      ++n;
    }
  }
  return n;
}

TEST(FrenchReferenceTest, DebianReferenceChapters) {
  std::string ch03 = std::string(REFERENCE_DIR) + "ch03.fr.html";
  std::string ch08 = std::string(REFERENCE_DIR) + "ch08.fr.html";
  if (!std::filesystem::exists(ch03) || !std::filesystem::exists(ch08)) {
    GTEST_SKIP() << "debian-reference-fr is not installed (scripts/install-deps)";
  }
  // DocBook puts no-break spaces after "Chapitre" and section numbers, and French typography
  // before ":" and inside « ».
  const std::string nb = "\u00A0";
  struct Expected {
    std::string file, title;
    std::vector<std::string> first_headings;
  };
  const Expected chapters[] = {
      {ch03,
       "Chapitre" + nb + "3." + nb + "Initialisation du système",
       {"Chapitre" + nb + "3." + nb + "Initialisation du système",
        "3.1." + nb + "Aperçu du processus d’amorçage du système",
        "3.1.1." + nb + "Stage 1: the UEFI",
        "3.1.2." + nb + "Étage 2" + nb + ": le chargeur initial"}},
      {ch08,
       "Chapitre" + nb + "8." + nb + "I18N et L10N",
       {"Chapitre" + nb + "8." + nb + "I18N et L10N",
        "8.1." + nb + "Les paramètres linguistiques («" + nb + "locale" + nb + "»)",
        "8.1.1." + nb +
            "Justification de l’utilisation d’UTF-8 dans les paramètres linguistiques"}},
  };
  for (const Expected& e : chapters) {
    SCOPED_TRACE(e.file);
    std::string html = read_file(e.file);
    ParsedDocument doc = testing::parse_ok(html, e.file, "text/html");
    EXPECT_EQ(doc.title, e.title);
    std::vector<const Block*> headings;
    for (const Block& b : doc.blocks) {
      if (b.kind == BlockKind::HEADING) headings.push_back(&b);
    }
    EXPECT_EQ(headings.size(), count_headings(html));
    ASSERT_GE(headings.size(), e.first_headings.size());
    for (size_t i = 0; i < e.first_headings.size(); ++i) {
      EXPECT_EQ(headings[i]->text, e.first_headings[i]);
      EXPECT_EQ(headings[i]->level, static_cast<int>(std::min<size_t>(i + 1, 3)));
    }
    // A level-3 heading sits under its chapter and section.
    EXPECT_EQ(headings[2]->heading_path,
              (std::vector<std::string>{e.first_headings[0], e.first_headings[1]}));
    size_t accented_paragraphs = 0;
    for (const Block& b : doc.blocks) {
      if (b.kind == BlockKind::PARAGRAPH && b.text.find("é") != std::string::npos) {
        ++accented_paragraphs;
      }
    }
    EXPECT_GE(accented_paragraphs, 10u);
  }
}

}  // namespace
}  // namespace socle::rag
