#include "http/multipart.h"

#include <gtest/gtest.h>

namespace socle::http {
namespace {

// A form as curl -F writes it (RFC 7578), by hand.
constexpr char FORM_BYTES[] =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"model\"\r\n\r\n"
    "whisper\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"r\xC3\xA9union.wav\"\r\n"
    "Content-Type: audio/wav\r\n\r\n"
    "RIFF\r\n--not-the-boundary\x00\x01\r\n"
    "--XyZ--\r\n";
const std::string FORM(FORM_BYTES, sizeof(FORM_BYTES) - 1);  // it holds a NUL byte

TEST(Multipart, ParsesFieldsAndFilesWithBinaryData) {
  auto f = parse_multipart("multipart/form-data; boundary=XyZ", FORM);
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  ASSERT_EQ(f->parts.size(), 2u);
  EXPECT_EQ(f->find("model")->data, "whisper");
  const MultipartPart* file = f->find("file");
  EXPECT_EQ(file->filename, "r\xC3\xA9union.wav");
  EXPECT_EQ(file->content_type, "audio/wav");
  EXPECT_EQ(file->data, std::string("RIFF\r\n--not-the-boundary\x00\x01", 26));
  EXPECT_EQ(f->find("absent"), nullptr);
}

TEST(Multipart, SerializeThenParseGivesTheSameForm) {
  auto f = parse_multipart("multipart/form-data; boundary=\"XyZ\"", FORM);
  ASSERT_TRUE(f.is_ok());
  f->find("model")->data = "whisper-large-v3";
  auto again = parse_multipart(f->content_type(), f->serialize());
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  ASSERT_EQ(again->parts.size(), 2u);
  EXPECT_EQ(again->find("model")->data, "whisper-large-v3");
  EXPECT_EQ(again->find("file")->data, f->find("file")->data);
  EXPECT_EQ(again->find("file")->filename, f->find("file")->filename);
}

TEST(Multipart, MalformedFormsAreRefusedWithWhere) {
  EXPECT_EQ(parse_multipart("application/json", "{}").status().code(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE);
  EXPECT_EQ(parse_multipart("multipart/form-data", FORM).status().code(),
            StatusCode::INVALID_ARGUMENT);  // no boundary
  const char* bad[] = {
      "",                                                                  // nothing
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n",           // headers never end
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue",  // no closing
      "--XyZ\r\nContent-Type: text/plain\r\n\r\nv\r\n--XyZ--",             // no name
      "--XyZjunk",  // not CRLF after boundary
  };
  for (const char* b : bad) {
    auto f = parse_multipart("multipart/form-data; boundary=XyZ", b);
    EXPECT_EQ(f.status().code(), StatusCode::INVALID_ARGUMENT) << b;
  }
  std::string many;
  for (size_t i = 0; i <= MAX_MULTIPART_PARTS; ++i) {
    many += "--XyZ\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\nv\r\n";
  }
  many += "--XyZ--\r\n";
  EXPECT_FALSE(parse_multipart("multipart/form-data; boundary=XyZ", many).is_ok());
}

}  // namespace
}  // namespace socle::http
