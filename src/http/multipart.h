// multipart/form-data (RFC 7578), as the OpenAI audio and file routes take it: parsing with
// limits, and writing back (to relay a form with one field changed).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace socle::http {

struct MultipartPart {
  std::string name;          // from Content-Disposition
  std::string filename;      // empty for plain fields
  std::string content_type;  // empty if the part did not say
  std::string data;
};

struct MultipartForm {
  std::string boundary;
  std::vector<MultipartPart> parts;

  // The first part named `name`, or nullptr.
  const MultipartPart* find(std::string_view name) const;
  MultipartPart* find(std::string_view name);
  // The whole body, with this form's boundary.
  std::string serialize() const;
  std::string content_type() const { return "multipart/form-data; boundary=" + boundary; }
};

// More parts than this are refused: no API form needs more, and it bounds the work.
inline constexpr size_t MAX_MULTIPART_PARTS = 256;

// Parses `body` given the request's Content-Type. UNSUPPORTED_MEDIA_TYPE unless it is
// multipart/form-data with a boundary; INVALID_ARGUMENT, saying where, for a malformed body.
Result<MultipartForm> parse_multipart(std::string_view content_type, std::string_view body);

}  // namespace socle::http
