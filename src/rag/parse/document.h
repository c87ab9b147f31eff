// Documents to text with structure: the first step of ingestion. parse_document turns the bytes
// of an uploaded file (PDF, DOCX, ODT, HTML, Markdown, plain text, CSV, JSON) into a flat list of
// blocks (headings, paragraphs, list items, table rows, code) that keep their page and the
// headings they sit under, so that chunks can cite a page and a section.
//
// The bytes are untrusted: every parser bounds its work by ParseLimits and its recursion by a
// named depth, and a file it cannot read becomes INVALID_ARGUMENT saying what is wrong, never a
// crash. Parsing is deterministic and touches no file, clock or network.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace socle::rag {

enum class BlockKind { HEADING, PARAGRAPH, LIST_ITEM, TABLE_ROW, CODE };

// "heading", "paragraph", "list_item", "table_row", "code": for logs and tests.
const char* block_kind_name(BlockKind kind);

struct Block {
  BlockKind kind = BlockKind::PARAGRAPH;
  // Valid UTF-8 (invalid sequences in the source become U+FFFD), never empty. Runs of ASCII
  // whitespace are one space and the text is trimmed, except that newlines are kept where they
  // separate lines that belong together: inside CODE (which also keeps its indentation) and
  // between the "path: value" lines of a JSON block. No-break spaces (U+00A0, U+202F, French
  // typography before ; : ! ?) are kept: they mark places where a line must not break.
  std::string text;
  int page = 0;   // 1-based page for PDF; 0 when the format has no pages
  int level = 0;  // 1..6 for HEADING (deeper levels in the source count as 6); 0 otherwise
  // The enclosing headings' texts, outermost first. For a HEADING: its parents, not itself.
  std::vector<std::string> heading_path;
};

struct ParsedDocument {
  std::vector<Block> blocks;
  int page_count = 0;  // PDF pages; 0 for the formats without pages
  // 1-based PDF pages with no text layer (scans, images, blank pages, or pages poppler could
  // not read). Reported so that ingestion can say so, never silently indexed as empty.
  std::vector<int> pages_without_text;
  std::string title;  // from the format's metadata or <title> when it carries one; else empty
};

struct ParseLimits {
  int64_t max_bytes = int64_t{100} << 20;  // the file as uploaded
  int max_pages = 2000;                    // PDF pages
  // What one entry of a DOCX or ODT package may unpack to: XML compresses about tenfold, and a
  // ZIP bomb must not be inflated into memory. Its DOM takes about 20 times the XML's bytes
  // (100 MB of paragraphs reached 2.7 GB), so 64 MiB (a few thousand pages of text) keeps
  // one document's parse near a gigabyte.
  int64_t max_unpacked_bytes = int64_t{64} << 20;
};

// The formats parse_document reads, as detected.
enum class DocumentFormat { PDF, DOCX, ODT, HTML, MARKDOWN, TEXT, CSV, JSON };

const char* document_format_name(DocumentFormat format);

// Detects the format of a file. Unambiguous magic bytes win (a PDF header, a ZIP package
// holding word/document.xml or an ODF "mimetype" entry naming a text document); then the
// content type, without its parameters (`text/csv; charset=utf-8`); then, when the content
// type is missing, generic (application/octet-stream) or text/plain, the file name's extension.
// UNSUPPORTED_MEDIA_TYPE naming the supported types for anything else (including spreadsheets,
// presentations and legacy .doc files); INVALID_ARGUMENT when the file claims to be a PDF,
// DOCX or ODT but its bytes are not one.
Result<DocumentFormat> detect_document_format(std::string_view bytes, std::string_view filename,
                                              std::string_view content_type);

// Detects the format and parses the file.
// - PAYLOAD_TOO_LARGE over limits.max_bytes, or when a package entry unpacks to more than
//   limits.max_unpacked_bytes.
// - INVALID_ARGUMENT over limits.max_pages (the message says the limit), for a corrupt or
//   password-protected file (the message says what is wrong), for text that is neither UTF-8
//   nor Windows-1252, for invalid JSON (the message gives the byte offset), and for markup
//   nested deeper than any real document (256 XML levels, 512 HTML levels, 64 JSON levels).
// - UNSUPPORTED_MEDIA_TYPE as detect_document_format says.
// A document that parses but holds no text gives an empty block list (and, for a PDF, every
// page in pages_without_text); deciding whether that is an error is the caller's business.
//
// Per format:
// - PDF (poppler): page by page in poppler's reading order (columns are read one after the
//   other); paragraphs split on blank lines; no headings, since a PDF does not mark them.
// - DOCX: paragraphs; headings from the paragraph's outline level or its style (built-in
//   "heading 1".."heading 9" by name, whatever the language of the styleId, e.g. Titre1);
//   numbered or bulleted paragraphs are list items; one TABLE_ROW per table row, cells joined
//   by " | ". Headers, footers, footnotes, comments, deleted text and table-of-contents
//   entries (they repeat the headings) are left out. Title from docProps/core.xml, else the
//   paragraph in the Title style.
// - ODT: text:h (text:outline-level) headings, text:p, list items, table rows; notes,
//   annotations, tracked deletions and indexes (table of contents) left out. Title from
//   meta.xml.
// - HTML: the text of <main> or role="main" (else the first <article>, else <body>) without
//   script, style, noscript, template, nav, aside, forms, iframes, svg and math, the elements
//   with the ARIA roles navigation, complementary and search, and the header and footer of the
//   page (<header>, <footer>, roles banner and contentinfo; those inside an article, section
//   or main are kept); h1..h6 headings, p, li, pre (CODE), one TABLE_ROW per tr. Title from
//   <title>. Invalid UTF-8 is read as Windows-1252, as for text.
// - Markdown: ATX and setext headings, list items, fenced code (CODE), table rows (delimiter
//   row dropped), paragraphs, block quotes as their text; links and images keep their text,
//   autolinks their address; **, ~~ and ` markers go and backslash escapes are resolved (single
//   * and _ stay: snake_case). YAML front matter and link definitions are skipped. Indented
//   code is read as paragraph text.
// - Text: paragraphs on blank lines.
// - CSV: RFC 4180 quoting (fields with delimiters, quotes and newlines); the delimiter is the
//   one of , ; and tab most frequent in the first line, since French spreadsheets write ;.
//   The first record names the columns; each later record is one TABLE_ROW
//   "name: value | name: value" with empty values left out (a column without a name is
//   "column N", 1-based).
// - JSON: one PARAGRAPH per element of the top-level array or member of the top-level object,
//   holding one "path: value" line per scalar (path like `adresse.ville` or `items[2].nom`,
//   including the member's key for a top-level object; strings unquoted, numbers in their
//   shortest form). JSON must be UTF-8 (RFC 8259).
// Text formats (Markdown, text, CSV) are UTF-8 (a BOM is skipped); a file that is not valid
// UTF-8 is read as Windows-1252 (the Latin-1 superset that French Windows software writes),
// and one holding NUL bytes or bytes Windows-1252 leaves undefined is INVALID_ARGUMENT.
Result<ParsedDocument> parse_document(std::string_view bytes, std::string_view filename,
                                      std::string_view content_type, const ParseLimits& limits);

}  // namespace socle::rag
