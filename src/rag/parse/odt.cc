// ODT (OpenDocument text): content.xml for the text, meta.xml for the title.
#include <algorithm>
#include <pugixml.hpp>
#include <string>

#include "rag/parse/block_builder.h"
#include "rag/parse/formats.h"
#include "rag/parse/xml_util.h"
#include "rag/parse/zip_archive.h"

namespace socle::rag {
namespace {

constexpr std::string_view CONTENT_PART = "content.xml";
constexpr std::string_view META_PART = "meta.xml";

constexpr std::string_view OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0";
constexpr std::string_view TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0";
constexpr std::string_view TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0";
constexpr std::string_view DC_NS = "http://purl.org/dc/elements/1.1/";

// A text:h without text:outline-level is at level 1 (ODF 1.2, 19.844.4).
constexpr int DEFAULT_OUTLINE_LEVEL = 1;

class OdtReader {
 public:
  explicit OdtReader(const pugi::xml_document& content) {
    office_ = namespace_prefix(content, OFFICE_NS, {}, "office:");
    text_ = namespace_prefix(content, TEXT_NS, {}, "text:");
    table_ = namespace_prefix(content, TABLE_NS, {}, "table:");
  }

  Status read(const pugi::xml_document& content) {
    pugi::xml_node body = child_element(content.document_element(), office_, "body");
    pugi::xml_node text = child_element(body, office_, "text");
    if (!text) return invalid_argument("content.xml has no office:body/office:text");
    return read_container(text, BlockKind::PARAGRAPH, 0);
  }

  std::vector<Block> take_blocks() { return builder_.take(); }

 private:
  // Block-level content. `kind` is LIST_ITEM inside lists, PARAGRAPH elsewhere. Sequence and
  // variable declarations, tracked changes (deleted text) and indexes (a table of contents
  // repeats the headings with page numbers) hold no text of their own and are skipped.
  Status read_container(pugi::xml_node node, BlockKind kind, int depth) {
    if (depth > MAX_XML_DEPTH) return invalid_argument(nested_too_deep(CONTENT_PART));
    for (pugi::xml_node c : node.children()) {
      if (c.type() != pugi::node_element) continue;
      if (is_element(c, text_, "h")) {
        std::string t;
        SOCLE_RETURN_IF_ERROR(collect_text(c, t, depth + 1));
        std::string_view level = attribute_value(c, text_, "outline-level");
        builder_.add_heading(level.empty() ? DEFAULT_OUTLINE_LEVEL : parse_level(level), t);
      } else if (is_element(c, text_, "p")) {
        std::string t;
        SOCLE_RETURN_IF_ERROR(collect_text(c, t, depth + 1));
        builder_.add(kind, t);
      } else if (is_element(c, text_, "list") || is_element(c, text_, "list-item") ||
                 is_element(c, text_, "list-header")) {
        SOCLE_RETURN_IF_ERROR(read_container(c, BlockKind::LIST_ITEM, depth + 1));
      } else if (is_element(c, table_, "table")) {
        SOCLE_RETURN_IF_ERROR(read_table(c, depth + 1));
      } else if (is_element(c, text_, "section")) {
        SOCLE_RETURN_IF_ERROR(read_container(c, kind, depth + 1));
      }
    }
    return Status::ok();
  }

  Status read_table(pugi::xml_node node, int depth) {
    if (depth > MAX_XML_DEPTH) return invalid_argument(nested_too_deep(CONTENT_PART));
    for (pugi::xml_node c : node.children()) {
      if (is_element(c, table_, "table-header-rows") || is_element(c, table_, "table-rows") ||
          is_element(c, table_, "table-row-group")) {
        SOCLE_RETURN_IF_ERROR(read_table(c, depth + 1));
        continue;
      }
      if (!is_element(c, table_, "table-row")) continue;
      std::string line;
      bool any = false;
      bool first = true;
      for (pugi::xml_node cell : c.children()) {
        // Covered cells are the hidden parts of merged cells and hold nothing.
        if (!is_element(cell, table_, "table-cell")) continue;
        std::string t;
        SOCLE_RETURN_IF_ERROR(cell_text(cell, t, depth + 1));
        std::string normalized = normalize_space(t);
        any = any || !normalized.empty();
        if (!first) line += " | ";
        line += normalized;
        first = false;
      }
      if (any) builder_.add(BlockKind::TABLE_ROW, line);
    }
    return Status::ok();
  }

  // The paragraphs of a cell, those of its lists and nested tables, separated by spaces.
  Status cell_text(pugi::xml_node node, std::string& out, int depth) {
    if (depth > MAX_XML_DEPTH) return invalid_argument(nested_too_deep(CONTENT_PART));
    for (pugi::xml_node c : node.children()) {
      if (is_element(c, text_, "p") || is_element(c, text_, "h")) {
        out += ' ';
        SOCLE_RETURN_IF_ERROR(collect_text(c, out, depth + 1));
      } else if (c.type() == pugi::node_element) {
        SOCLE_RETURN_IF_ERROR(cell_text(c, out, depth + 1));
      }
    }
    return Status::ok();
  }

  // Inline content: text, spans, links, spacing elements. Notes (footnotes) and annotations
  // (comments) are not part of the running text.
  Status collect_text(pugi::xml_node node, std::string& out, int depth) {
    if (depth > MAX_XML_DEPTH) return invalid_argument(nested_too_deep(CONTENT_PART));
    for (pugi::xml_node c : node.children()) {
      if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
        out += c.value();
      } else if (c.type() != pugi::node_element) {
        continue;
      } else if (is_element(c, text_, "s")) {
        out += ' ';  // text:c="N" spaces: block text keeps one anyway
      } else if (is_element(c, text_, "tab")) {
        out += '\t';
      } else if (is_element(c, text_, "line-break")) {
        out += '\n';
      } else if (is_element(c, text_, "note") || is_element(c, office_, "annotation") ||
                 is_element(c, office_, "annotation-end")) {
        continue;
      } else {
        SOCLE_RETURN_IF_ERROR(collect_text(c, out, depth + 1));
      }
    }
    return Status::ok();
  }

  static int parse_int(std::string_view s) {
    int v = 0;
    for (char ch : s) {
      if (ch < '0' || ch > '9') return 0;
      v = std::min(v * 10 + (ch - '0'), 1 << 20);
    }
    return v;
  }
  static int parse_level(std::string_view s) {
    int v = parse_int(s);
    return v < 1 ? DEFAULT_OUTLINE_LEVEL : v;
  }

  std::string office_;
  std::string text_;
  std::string table_;
  BlockBuilder builder_;
};

Result<std::string> meta_title(ZipArchive& zip, const ParseLimits& limits) {
  std::string part(META_PART);
  if (!zip.contains(part)) return std::string();
  SOCLE_ASSIGN_OR_RETURN(std::string xml, zip.read(part, limits.max_unpacked_bytes));
  SOCLE_ASSIGN_OR_RETURN(auto doc, load_xml(xml, META_PART));
  std::string office = namespace_prefix(*doc, OFFICE_NS, {}, "office:");
  std::string dc = namespace_prefix(*doc, DC_NS, {}, "dc:");
  pugi::xml_node meta = child_element(doc->document_element(), office, "meta");
  return normalize_space(child_element(meta, dc, "title").child_value());
}

}  // namespace

Result<ParsedDocument> parse_odt(ZipArchive& zip, const ParseLimits& limits) {
  SOCLE_ASSIGN_OR_RETURN(std::string xml,
                         zip.read(std::string(CONTENT_PART), limits.max_unpacked_bytes));
  SOCLE_ASSIGN_OR_RETURN(auto content, load_xml(xml, CONTENT_PART));
  OdtReader reader(*content);
  SOCLE_RETURN_IF_ERROR(reader.read(*content));
  ParsedDocument out;
  out.blocks = reader.take_blocks();
  SOCLE_ASSIGN_OR_RETURN(out.title, meta_title(zip, limits));
  return out;
}

}  // namespace socle::rag
