#include "http/multipart.h"

#include <cctype>

namespace socle::http {
namespace {

// RFC 2046: a boundary is 1 to 70 characters.
constexpr size_t MAX_BOUNDARY_CHARS = 70;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The value of `key` among the `; key=value` parameters of a header value (quotes removed).
std::string param(std::string_view header, std::string_view key) {
  size_t pos = 0;
  while ((pos = header.find(';', pos)) != std::string_view::npos) {
    ++pos;
    std::string_view rest = trim(header.substr(pos));
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) continue;
    if (lower(trim(rest.substr(0, eq))) != key) continue;
    std::string_view v = rest.substr(eq + 1);
    if (!v.empty() && v.front() == '"') {
      size_t close = v.find('"', 1);
      return std::string(v.substr(1, close == std::string_view::npos ? v.size() - 1 : close - 1));
    }
    return std::string(trim(v.substr(0, v.find(';'))));
  }
  return {};
}

}  // namespace

const MultipartPart* MultipartForm::find(std::string_view name) const {
  for (const auto& p : parts) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

MultipartPart* MultipartForm::find(std::string_view name) {
  for (auto& p : parts) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string MultipartForm::serialize() const {
  std::string out;
  for (const auto& p : parts) {
    out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) out += "; filename=\"" + p.filename + "\"";
    out += "\r\n";
    if (!p.content_type.empty()) out += "Content-Type: " + p.content_type + "\r\n";
    out += "\r\n";
    out += p.data;
    out += "\r\n";
  }
  out += "--" + boundary + "--\r\n";
  return out;
}

Result<MultipartForm> parse_multipart(std::string_view content_type, std::string_view body) {
  std::string_view media = trim(content_type.substr(0, content_type.find(';')));
  if (lower(media) != "multipart/form-data") {
    return Status(StatusCode::UNSUPPORTED_MEDIA_TYPE,
                  "the body must be multipart/form-data (got '" + std::string(content_type) + "')");
  }
  MultipartForm form;
  form.boundary = param(content_type, "boundary");
  if (form.boundary.empty() || form.boundary.size() > MAX_BOUNDARY_CHARS) {
    return invalid_argument("the multipart Content-Type needs a boundary of 1 to 70 characters");
  }
  const std::string delimiter = "--" + form.boundary;
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return invalid_argument("the multipart body has no boundary");
  while (true) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") break;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") {
      return invalid_argument("malformed multipart body at byte " + std::to_string(pos));
    }
    pos += 2;
    size_t head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) {
      return invalid_argument("a multipart part has no end of headers (byte " +
                              std::to_string(pos) + ")");
    }
    MultipartPart part;
    std::string_view headers = body.substr(pos, head_end - pos);
    while (!headers.empty()) {
      size_t eol = headers.find("\r\n");
      std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name = lower(trim(line.substr(0, colon)));
      std::string_view value = trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        part.name = param(value, "name");
        part.filename = param(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    if (part.name.empty()) {
      return invalid_argument("a multipart part has no name (byte " + std::to_string(pos) + ")");
    }
    size_t data_start = head_end + 4;
    size_t next = body.find("\r\n" + delimiter, data_start);
    if (next == std::string_view::npos) {
      return invalid_argument("the multipart body ends inside part '" + part.name + "'");
    }
    part.data = std::string(body.substr(data_start, next - data_start));
    form.parts.push_back(std::move(part));
    if (form.parts.size() > MAX_MULTIPART_PARTS) {
      return invalid_argument("more than " + std::to_string(MAX_MULTIPART_PARTS) +
                              " multipart parts");
    }
    pos = next + 2;
  }
  return form;
}

}  // namespace socle::http
