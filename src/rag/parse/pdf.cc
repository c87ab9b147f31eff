// PDF through poppler's C++ API: the text layer of each page, in poppler's reading order.
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <climits>
#include <memory>
#include <mutex>
#include <string>

#include "rag/parse/block_builder.h"
#include "rag/parse/formats.h"

namespace socle::rag {
namespace {

// poppler reports every oddity of a damaged file on stderr; the outcome reaches the caller
// through the Status, and a server's stderr is for its own logs.
void ignore_poppler_message(const std::string& /*message*/, void* /*closure*/) {}

void silence_poppler() {
  static std::once_flag once;
  std::call_once(once, [] { poppler::set_debug_error_function(ignore_poppler_message, nullptr); });
}

std::string to_utf8(const poppler::ustring& s) {
  poppler::byte_array bytes = s.to_utf8();
  return std::string(bytes.begin(), bytes.end());
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
}

// Adds the paragraphs of one page's text (separated by blank lines, as poppler's reading-order
// layout leaves between text blocks); false when the page has no text at all.
bool add_page_text(BlockBuilder& builder, std::string_view text, int page) {
  bool any = false;
  std::string paragraph;
  auto flush = [&] {
    if (!normalize_space(paragraph).empty()) {
      any = true;
      builder.add(BlockKind::PARAGRAPH, paragraph, page);
    }
    paragraph.clear();
  };
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    // A form feed ends a page in poppler's output; it separates like a blank line.
    if (is_blank(line) || line.find('\f') != std::string_view::npos) {
      paragraph += line;
      flush();
    } else {
      paragraph += line;
      paragraph += '\n';
    }
    start = end + 1;
  }
  flush();
  return any;
}

}  // namespace

Result<ParsedDocument> parse_pdf(std::string_view bytes, const ParseLimits& limits) {
  silence_poppler();
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return Status(StatusCode::PAYLOAD_TOO_LARGE,
                  "a PDF must be under 2 GiB, the most poppler reads from memory");
  }
  // load_from_raw_data reads `bytes` in place: the document must not outlive this call.
  std::unique_ptr<poppler::document> doc(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!doc) return invalid_argument("the PDF is damaged: poppler could not read its structure");
  if (doc->is_locked()) {
    return invalid_argument("the PDF is protected by a password; upload it without protection");
  }
  int pages = doc->pages();
  if (pages <= 0) return invalid_argument("the PDF has no pages");
  if (pages > limits.max_pages) {
    return invalid_argument("the PDF has " + std::to_string(pages) + " pages, over the limit of " +
                            std::to_string(limits.max_pages) + " (max_pages); split it");
  }
  ParsedDocument out;
  out.page_count = pages;
  out.title = normalize_space(to_utf8(doc->get_title()));
  BlockBuilder builder;
  for (int i = 0; i < pages; ++i) {
    std::unique_ptr<poppler::page> page(doc->create_page(i));
    bool has_text = false;
    if (page) {
      // Reading order (pdftotext's default), not the physical layout, which would interleave
      // the lines of side-by-side columns.
      std::string text =
          to_utf8(page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout));
      has_text = add_page_text(builder, text, i + 1);
    }
    if (!has_text) out.pages_without_text.push_back(i + 1);
  }
  out.blocks = builder.take();
  return out;
}

}  // namespace socle::rag
