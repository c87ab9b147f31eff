// Format detection, the size limit and unsupported types.
#include <gtest/gtest.h>

#include "unit/rag/parse/fixtures.h"

namespace socle::rag {
namespace {

DocumentFormat detected(std::string_view bytes, std::string_view filename,
                        std::string_view content_type) {
  Result<DocumentFormat> r = detect_document_format(bytes, filename, content_type);
  EXPECT_TRUE(r.is_ok()) << filename << " " << content_type << ": " << r.status().to_string();
  return r.is_ok() ? *r : DocumentFormat::TEXT;
}

TEST(DetectTest, ContentTypeThenExtension) {
  EXPECT_EQ(detected("x", "a.txt", "text/csv; charset=utf-8"), DocumentFormat::CSV);
  EXPECT_EQ(detected("x", "a.txt", "Text/HTML"), DocumentFormat::HTML);
  EXPECT_EQ(detected("x", "a", "application/json"), DocumentFormat::JSON);
  EXPECT_EQ(detected("x", "a", "text/x-markdown"), DocumentFormat::MARKDOWN);
  // Generic or missing types leave it to the extension, whatever its case.
  EXPECT_EQ(detected("x", "notes.md", "text/plain"), DocumentFormat::MARKDOWN);
  EXPECT_EQ(detected("x", "dir.v2/DATA.JSON", ""), DocumentFormat::JSON);
  EXPECT_EQ(detected("x", "export.csv", "application/octet-stream"), DocumentFormat::CSV);
  EXPECT_EQ(detected("x", "page.htm", ""), DocumentFormat::HTML);
  EXPECT_EQ(detected("x", "LISEZMOI", "text/plain"), DocumentFormat::TEXT);
  EXPECT_EQ(detected("x", ".bashrc", "text/plain"), DocumentFormat::TEXT);
  // An unknown specific type with a known extension: the extension.
  EXPECT_EQ(detected("x", "a.txt", "application/x-whatever"), DocumentFormat::TEXT);
  // Magic bytes first.
  EXPECT_EQ(detected("%PDF-1.7 ...", "a.txt", "text/plain"), DocumentFormat::PDF);
  EXPECT_EQ(detected("junk\n%PDF-1.4 ...", "a.pdf", ""), DocumentFormat::PDF);
}

TEST(DetectTest, UnsupportedTypesNameTheSupportedOnes) {
  constexpr std::string_view SUPPORTED =
      "supported are PDF, DOCX, ODT, HTML, Markdown, plain text, CSV and JSON (.pdf .docx .odt "
      ".html .md .txt .csv .json)";
  Result<DocumentFormat> png =
      detect_document_format("\x89PNG\r\n\x1A\n....", "photo.png", "image/png");
  ASSERT_FALSE(png.is_ok());
  EXPECT_EQ(png.status().code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
  EXPECT_EQ(png.status().message(),
            "the file 'photo.png' (image/png) is not supported: " + std::string(SUPPORTED));
  EXPECT_EQ(png.status().param(), "file");

  Result<DocumentFormat> bin = detect_document_format("x", "data.bin", "application/octet-stream");
  ASSERT_FALSE(bin.is_ok());
  EXPECT_EQ(bin.status().code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

  Result<DocumentFormat> doc =
      detect_document_format(std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + "...",
                             "vieux.doc", "application/msword");
  ASSERT_FALSE(doc.is_ok());
  EXPECT_EQ(doc.status().code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
  EXPECT_EQ(doc.status().message(),
            "the legacy Microsoft Office file (save it as DOCX or PDF) 'vieux.doc' "
            "(application/msword) is not supported: " +
                std::string(SUPPORTED));
}

TEST(DetectTest, AZipThatIsNeitherDocxNorOdtIsUnsupported) {
  testing::TempDir dir;
  std::string xlsx = testing::zip_package(
      dir, {{"[Content_Types].xml", "<Types/>"}, {"xl/workbook.xml", "<workbook/>"}});
  Result<ParsedDocument> r = parse_document(xlsx, "budget.xlsx", "", ParseLimits{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
  EXPECT_TRUE(r.status().message().starts_with(
      "the ZIP archive (not a DOCX or ODT document; spreadsheets and presentations are not "
      "read) 'budget.xlsx' is not supported"))
      << r.status().message();
}

TEST(DetectTest, OverTheByteLimitBeforeAnyParsing) {
  ParseLimits limits;
  limits.max_bytes = 10;
  Result<ParsedDocument> r = parse_document("0123456789A", "a.txt", "text/plain", limits);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::PAYLOAD_TOO_LARGE);
  EXPECT_EQ(r.status().message(), "the file is 11 bytes, over the limit of 10 (max_bytes)");
  EXPECT_TRUE(parse_document("0123456789", "a.txt", "text/plain", limits).is_ok());
}

TEST(DetectTest, ADocxDeclaredFileThatIsNotAZip) {
  Result<ParsedDocument> r = parse_document(
      "PK but not really", "a.docx",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ParseLimits{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
  // Starts with the ZIP magic but is no archive.
  r = parse_document(std::string("PK\x03\x04", 4) + std::string(100, '\x01'), "a.docx", "",
                     ParseLimits{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(r.status().message().starts_with("the file is not a readable ZIP package"))
      << r.status().message();
}

}  // namespace
}  // namespace socle::rag
