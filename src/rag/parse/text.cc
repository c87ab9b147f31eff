// Plain text: paragraphs separated by blank lines.
#include <string>

#include "rag/parse/block_builder.h"
#include "rag/parse/formats.h"
#include "rag/parse/text_decode.h"

namespace socle::rag {

Result<ParsedDocument> parse_text(std::string_view bytes) {
  SOCLE_ASSIGN_OR_RETURN(std::string text, decode_text(bytes, "the text file"));
  BlockBuilder builder;
  std::string paragraph;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line = std::string_view(text).substr(start, end - start);
    if (line.find_first_not_of(" \t\r\f\v") == std::string_view::npos) {
      builder.add(BlockKind::PARAGRAPH, paragraph);
      paragraph.clear();
    } else {
      paragraph += line;
      paragraph += '\n';
    }
    start = end + 1;
  }
  builder.add(BlockKind::PARAGRAPH, paragraph);
  ParsedDocument out;
  out.blocks = builder.take();
  return out;
}

}  // namespace socle::rag
