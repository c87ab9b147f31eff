// PDF: text per page, paragraphs, pages without text, limits and damaged files.
#include <gtest/gtest.h>

#include "unit/rag/parse/fixtures.h"

namespace socle::rag {
namespace {

using testing::groff_pdf;
using testing::show;
using testing::TempDir;

// Three pages: a title in the document information, two paragraphs, an empty page (\& gives
// groff something to break), one paragraph. .pl sets the page length so that each .bp starts a
// page.
constexpr const char* THREE_PAGES =
    ".pdfinfo /Title Rapport annuel 2024\n"
    ".pl 11i\n"
    "Première page, premier paragraphe\n"
    "qui continue sur la ligne suivante.\n"
    ".sp 2\n"
    "Deuxième paragraphe de la première page.\n"
    ".bp\n"
    "\\&\n"
    ".bp\n"
    "Troisième page : la fin.\n";

class PdfTest : public ::testing::Test {
 protected:
  // Rendered once: groff takes about half a second.
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pdf_ = new std::string(groff_pdf(*dir_, THREE_PAGES, "-mpdfmark"));
  }
  static void TearDownTestSuite() {
    delete pdf_;
    delete dir_;
  }
  static const std::string& pdf() { return *pdf_; }

 private:
  static TempDir* dir_;
  static std::string* pdf_;
};

TempDir* PdfTest::dir_ = nullptr;
std::string* PdfTest::pdf_ = nullptr;

TEST_F(PdfTest, TextPerPageWithParagraphsAndTheEmptyPageReported) {
  ASSERT_EQ(testing::count_page_objects(pdf()), 3);
  ParsedDocument doc = testing::parse_ok(pdf(), "rapport.pdf", "application/pdf");
  EXPECT_EQ(doc.page_count, 3);
  EXPECT_EQ(doc.pages_without_text, std::vector<int>{2});
  EXPECT_EQ(doc.title, "Rapport annuel 2024");
  EXPECT_EQ(show(doc), (std::vector<std::string>{
                           "paragraph: Première page, premier paragraphe qui continue sur la "
                           "ligne suivante.  p1",
                           "paragraph: Deuxième paragraphe de la première page.  p1",
                           "paragraph: Troisième page : la fin.  p3",
                       }));
}

TEST_F(PdfTest, PageLimitIsEnforcedBeforeReadingText) {
  ParseLimits limits;
  limits.max_pages = 2;
  Result<ParsedDocument> r = parse_document(pdf(), "rapport.pdf", "application/pdf", limits);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r.status().message(), "the PDF has 3 pages, over the limit of 2 (max_pages); split it");
  limits.max_pages = 3;
  EXPECT_TRUE(parse_document(pdf(), "rapport.pdf", "application/pdf", limits).is_ok());
}

TEST_F(PdfTest, DetectedByItsHeaderWhateverTheDeclaredType) {
  ParsedDocument doc = testing::parse_ok(pdf(), "upload.bin", "application/octet-stream");
  EXPECT_EQ(doc.page_count, 3);
}

TEST_F(PdfTest, DamagedFilesAreInvalidArgumentsNotCrashes) {
  Result<ParsedDocument> garbage = parse_document("%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage",
                                                  "x.pdf", "application/pdf", ParseLimits{});
  ASSERT_FALSE(garbage.is_ok());
  EXPECT_EQ(garbage.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(garbage.status().message(), "the PDF is damaged: poppler could not read its structure");

  // Prefixes of a real PDF: poppler may rebuild what is left, or refuse; never a crash, and
  // never a Status other than INVALID_ARGUMENT.
  for (size_t len = 0; len < pdf().size(); len += pdf().size() / 23 + 1) {
    Result<ParsedDocument> r =
        parse_document(pdf().substr(0, len), "x.pdf", "application/pdf", ParseLimits{});
    if (!r.is_ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT)
          << len << ": " << r.status().to_string();
    }
  }
}

TEST_F(PdfTest, ADeclaredPdfWithoutAHeaderIsRefused) {
  Result<ParsedDocument> r =
      parse_document("just text", "rapport.pdf", "application/pdf", ParseLimits{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r.status().message(),
            "the file 'rapport.pdf' (application/pdf) is not a PDF: it has no %PDF- header");
}

}  // namespace
}  // namespace socle::rag
