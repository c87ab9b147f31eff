// Format detection and dispatch to the parser of each format.
#include "rag/parse/document.h"

#include <string>

#include "rag/parse/formats.h"
#include "rag/parse/zip_archive.h"

namespace socle::rag {
namespace {

constexpr std::string_view PDF_MAGIC = "%PDF-";
// Readers accept a PDF header anywhere in the first kilobyte (junk before it is common in files
// written by mail gateways); only a file declared as PDF is searched that far.
constexpr size_t PDF_HEADER_WINDOW = 1024;
constexpr std::string_view ZIP_MAGIC = "PK\x03\x04";
constexpr std::string_view OLE_MAGIC = "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";  // .doc .xls .ppt
// The "mimetype" entry of an OpenDocument package holds a short media type.
constexpr int64_t MAX_MIMETYPE_BYTES = 256;

constexpr std::string_view ODT_MEDIA_TYPE = "application/vnd.oasis.opendocument.text";
constexpr std::string_view ODT_TEMPLATE_MEDIA_TYPE =
    "application/vnd.oasis.opendocument.text-template";

constexpr std::string_view SUPPORTED =
    "supported are PDF, DOCX, ODT, HTML, Markdown, plain text, CSV and JSON (.pdf .docx .odt "
    ".html .md .txt .csv .json)";

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

struct Named {
  std::string_view name;
  DocumentFormat format;
};

constexpr Named MEDIA_TYPES[] = {
    {"application/pdf", DocumentFormat::PDF},
    {"application/x-pdf", DocumentFormat::PDF},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     DocumentFormat::DOCX},
    {ODT_MEDIA_TYPE, DocumentFormat::ODT},
    {"text/html", DocumentFormat::HTML},
    {"application/xhtml+xml", DocumentFormat::HTML},
    {"text/markdown", DocumentFormat::MARKDOWN},
    {"text/x-markdown", DocumentFormat::MARKDOWN},
    {"text/csv", DocumentFormat::CSV},
    {"application/csv", DocumentFormat::CSV},
    {"text/comma-separated-values", DocumentFormat::CSV},
    {"application/json", DocumentFormat::JSON},
    {"text/json", DocumentFormat::JSON},
};

constexpr Named EXTENSIONS[] = {
    {"pdf", DocumentFormat::PDF},     {"docx", DocumentFormat::DOCX},
    {"odt", DocumentFormat::ODT},     {"html", DocumentFormat::HTML},
    {"htm", DocumentFormat::HTML},    {"xhtml", DocumentFormat::HTML},
    {"md", DocumentFormat::MARKDOWN}, {"markdown", DocumentFormat::MARKDOWN},
    {"txt", DocumentFormat::TEXT},    {"text", DocumentFormat::TEXT},
    {"csv", DocumentFormat::CSV},     {"json", DocumentFormat::JSON},
};

// Types that say nothing about the content: the extension decides.
bool is_generic(std::string_view media_type) {
  return media_type.empty() || media_type == "application/octet-stream" ||
         media_type == "binary/octet-stream" || media_type == "text/plain";
}

bool lookup(const Named* table, size_t n, std::string_view key, DocumentFormat* out) {
  for (size_t i = 0; i < n; ++i) {
    if (table[i].name == key) {
      *out = table[i].format;
      return true;
    }
  }
  return false;
}

std::string extension_of(std::string_view filename) {
  size_t slash = filename.find_last_of("/\\");
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  size_t dot = filename.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  return lowercase(filename.substr(dot + 1));
}

std::string describe(std::string_view filename, std::string_view content_type) {
  std::string d = "'" + std::string(filename) + "'";
  if (!content_type.empty()) d += " (" + std::string(content_type) + ")";
  return d;
}

Status unsupported(std::string_view what, std::string_view filename,
                   std::string_view content_type) {
  return Status(StatusCode::UNSUPPORTED_MEDIA_TYPE,
                std::string(what) + " " + describe(filename, content_type) +
                    " is not supported: " + std::string(SUPPORTED),
                "file");
}

// A ZIP package: DOCX, ODT, or a format we do not read.
Result<DocumentFormat> detect_package(std::string_view bytes, std::string_view filename,
                                      std::string_view content_type) {
  SOCLE_ASSIGN_OR_RETURN(auto zip, ZipArchive::open(bytes));
  if (zip->contains("mimetype")) {
    SOCLE_ASSIGN_OR_RETURN(std::string mime, zip->read("mimetype", MAX_MIMETYPE_BYTES));
    mime = std::string(trim(mime));
    if (mime == ODT_MEDIA_TYPE || mime == ODT_TEMPLATE_MEDIA_TYPE) return DocumentFormat::ODT;
    return unsupported("the OpenDocument file " + mime, filename, content_type);
  }
  if (zip->contains("word/document.xml")) return DocumentFormat::DOCX;
  return unsupported(
      "the ZIP archive (not a DOCX or ODT document; spreadsheets and "
      "presentations are not read)",
      filename, content_type);
}

}  // namespace

const char* block_kind_name(BlockKind kind) {
  switch (kind) {
    case BlockKind::HEADING:
      return "heading";
    case BlockKind::PARAGRAPH:
      return "paragraph";
    case BlockKind::LIST_ITEM:
      return "list_item";
    case BlockKind::TABLE_ROW:
      return "table_row";
    case BlockKind::CODE:
      return "code";
  }
  return "?";
}

const char* document_format_name(DocumentFormat format) {
  switch (format) {
    case DocumentFormat::PDF:
      return "PDF";
    case DocumentFormat::DOCX:
      return "DOCX";
    case DocumentFormat::ODT:
      return "ODT";
    case DocumentFormat::HTML:
      return "HTML";
    case DocumentFormat::MARKDOWN:
      return "Markdown";
    case DocumentFormat::TEXT:
      return "text";
    case DocumentFormat::CSV:
      return "CSV";
    case DocumentFormat::JSON:
      return "JSON";
  }
  return "?";
}

Result<DocumentFormat> detect_document_format(std::string_view bytes, std::string_view filename,
                                              std::string_view content_type) {
  if (bytes.starts_with(PDF_MAGIC)) return DocumentFormat::PDF;
  if (bytes.starts_with(ZIP_MAGIC)) return detect_package(bytes, filename, content_type);
  if (bytes.starts_with(OLE_MAGIC)) {
    return unsupported("the legacy Microsoft Office file (save it as DOCX or PDF)", filename,
                       content_type);
  }

  std::string media_type = lowercase(trim(content_type.substr(0, content_type.find(';'))));
  std::string extension = extension_of(filename);
  DocumentFormat format = DocumentFormat::TEXT;
  bool known = false;
  if (!is_generic(media_type)) {
    known = lookup(MEDIA_TYPES, std::size(MEDIA_TYPES), media_type, &format);
  }
  if (!known) known = lookup(EXTENSIONS, std::size(EXTENSIONS), extension, &format);
  if (!known && media_type == "text/plain") {
    format = DocumentFormat::TEXT;
    known = true;
  }
  if (!known) return unsupported("the file", filename, content_type);

  switch (format) {
    case DocumentFormat::PDF:
      if (bytes.substr(0, PDF_HEADER_WINDOW).find(PDF_MAGIC) != std::string_view::npos) {
        return format;
      }
      return invalid_argument(
          "the file " + describe(filename, content_type) + " is not a PDF: it has no %PDF- header",
          "file");
    case DocumentFormat::DOCX:
    case DocumentFormat::ODT:
      return invalid_argument("the file " + describe(filename, content_type) + " is not a " +
                                  document_format_name(format) + " package: it is not a ZIP file",
                              "file");
    default:
      return format;
  }
}

Result<ParsedDocument> parse_document(std::string_view bytes, std::string_view filename,
                                      std::string_view content_type, const ParseLimits& limits) {
  if (static_cast<int64_t>(bytes.size()) > limits.max_bytes) {
    return Status(StatusCode::PAYLOAD_TOO_LARGE,
                  "the file is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                      std::to_string(limits.max_bytes) + " (max_bytes)",
                  "file");
  }
  SOCLE_ASSIGN_OR_RETURN(DocumentFormat format,
                         detect_document_format(bytes, filename, content_type));
  switch (format) {
    case DocumentFormat::PDF:
      return parse_pdf(bytes, limits);
    case DocumentFormat::DOCX: {
      SOCLE_ASSIGN_OR_RETURN(auto zip, ZipArchive::open(bytes));
      return parse_docx(*zip, limits);
    }
    case DocumentFormat::ODT: {
      SOCLE_ASSIGN_OR_RETURN(auto zip, ZipArchive::open(bytes));
      return parse_odt(*zip, limits);
    }
    case DocumentFormat::HTML:
      return parse_html(bytes);
    case DocumentFormat::MARKDOWN:
      return parse_markdown(bytes);
    case DocumentFormat::TEXT:
      return parse_text(bytes);
    case DocumentFormat::CSV:
      return parse_csv(bytes);
    case DocumentFormat::JSON:
      return parse_json(bytes);
  }
  return internal_error("unhandled document format");
}

}  // namespace socle::rag
