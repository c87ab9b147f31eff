// One parser per format, behind parse_document (document.h says what each one reads). Each
// takes bytes that the dispatcher has already checked against limits.max_bytes and
// returns the blocks with their heading paths filled in.
#pragma once

#include <string_view>

#include "base/status.h"
#include "rag/parse/document.h"

namespace socle::rag {

class ZipArchive;

Result<ParsedDocument> parse_pdf(std::string_view bytes, const ParseLimits& limits);
// DOCX and ODT are read from the package the dispatcher opened to tell them apart.
Result<ParsedDocument> parse_docx(ZipArchive& zip, const ParseLimits& limits);
Result<ParsedDocument> parse_odt(ZipArchive& zip, const ParseLimits& limits);
Result<ParsedDocument> parse_html(std::string_view bytes);
Result<ParsedDocument> parse_markdown(std::string_view bytes);
Result<ParsedDocument> parse_text(std::string_view bytes);
Result<ParsedDocument> parse_csv(std::string_view bytes);
Result<ParsedDocument> parse_json(std::string_view bytes);

}  // namespace socle::rag
