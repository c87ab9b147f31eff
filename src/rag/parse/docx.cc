// DOCX (Office Open XML WordprocessingML): word/document.xml read with the paragraph styles of
// word/styles.xml. Fixed part names are what every producer writes (Word, LibreOffice, Google
// Docs); the package's relationships are not followed.
#include <algorithm>
#include <pugixml.hpp>
#include <string>
#include <unordered_map>

#include "rag/parse/block_builder.h"
#include "rag/parse/formats.h"
#include "rag/parse/xml_util.h"
#include "rag/parse/zip_archive.h"

namespace socle::rag {
namespace {

constexpr std::string_view DOCUMENT_PART = "word/document.xml";
constexpr std::string_view STYLES_PART = "word/styles.xml";
constexpr std::string_view CORE_PART = "docProps/core.xml";

constexpr std::string_view WORD_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
constexpr std::string_view WORD_STRICT_NS = "http://purl.oclc.org/ooxml/wordprocessingml/main";
constexpr std::string_view MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006";
constexpr std::string_view DC_NS = "http://purl.org/dc/elements/1.1/";

// w:outlineLvl counts from 0 (heading 1) to 8; 9 means body text.
constexpr int MAX_OUTLINE_LEVEL = 8;
// basedOn chains are a few styles long; a longer one is a cycle in a hostile file.
constexpr int MAX_STYLE_CHAIN = 32;

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// "heading 3" -> 3, "Titre3" -> 3 (after `prefix`), else 0.
int trailing_digit_level(std::string_view s, std::string_view prefix) {
  if (s.size() != prefix.size() + 1 || !s.starts_with(prefix)) return 0;
  char d = s.back();
  return d >= '1' && d <= '9' ? d - '0' : 0;
}

// -1 when absent or not a number in 0..9.
int outline_level(std::string_view v) {
  if (v.size() != 1 || v[0] < '0' || v[0] > '9') return -1;
  return v[0] - '0';
}

struct Style {
  std::string name;  // lowercased w:name, e.g. "heading 1", "title", "toc 2", "list bullet"
  std::string based_on;
  int outline = -1;    // w:outlineLvl, -1 when absent
  int numbering = -1;  // 1 when w:numPr names a list, 0 when it removes numbering, -1 absent
};

// What a paragraph is, from its own properties and then its style chain.
struct Role {
  int heading = 0;  // 1..9, 0 for none
  bool list = false;
  bool title = false;
  bool toc = false;  // a table-of-contents entry: it repeats headings, with page numbers
};

class DocxReader {
 public:
  explicit DocxReader(const pugi::xml_document& document) {
    w_ = namespace_prefix(document, WORD_NS, WORD_STRICT_NS, "w:");
    mc_ = namespace_prefix(document, MC_NS, {}, "mc:");
  }

  void read_styles(const pugi::xml_document& styles) {
    std::string w = namespace_prefix(styles, WORD_NS, WORD_STRICT_NS, "w:");
    for (pugi::xml_node s : styles.document_element().children()) {
      if (!is_element(s, w, "style") || attribute_value(s, w, "type") != "paragraph") continue;
      Style st;
      st.name = lowercase(attribute_value(child_element(s, w, "name"), w, "val"));
      st.based_on = attribute_value(child_element(s, w, "basedOn"), w, "val");
      pugi::xml_node ppr = child_element(s, w, "pPr");
      st.outline = outline_level(attribute_value(child_element(ppr, w, "outlineLvl"), w, "val"));
      pugi::xml_node num = child_element(ppr, w, "numPr");
      if (num) st.numbering = attribute_value(child_element(num, w, "numId"), w, "val") != "0";
      styles_.emplace(std::string(attribute_value(s, w, "styleId")), std::move(st));
    }
  }

  Status read_body(pugi::xml_node document) {
    pugi::xml_node body = child_element(document, w_, "body");
    if (!body) return invalid_argument(std::string(DOCUMENT_PART) + " has no w:body");
    return read_container(body, 0);
  }

  std::vector<Block> take_blocks() { return builder_.take(); }
  const std::string& title_paragraph() const { return title_; }

 private:
  // Block-level content: paragraphs and tables, possibly inside content controls and custom
  // XML wrappers.
  Status read_container(pugi::xml_node node, int depth) {
    if (depth > MAX_XML_DEPTH) return invalid_argument(nested_too_deep(DOCUMENT_PART));
    for (pugi::xml_node c : node.children()) {
      if (is_element(c, w_, "p")) {
        SOCLE_RETURN_IF_ERROR(read_paragraph(c, depth + 1));
      } else if (is_element(c, w_, "tbl")) {
        SOCLE_RETURN_IF_ERROR(read_table(c, depth + 1));
      } else if (is_element(c, w_, "sdt")) {
        SOCLE_RETURN_IF_ERROR(read_container(child_element(c, w_, "sdtContent"), depth + 1));
      } else if (is_element(c, w_, "customXml") || is_element(c, w_, "ins") ||
                 is_element(c, w_, "smartTag")) {
        SOCLE_RETURN_IF_ERROR(read_container(c, depth + 1));
      }
    }
    return Status::ok();
  }

  Status read_paragraph(pugi::xml_node p, int depth) {
    std::string text;
    SOCLE_RETURN_IF_ERROR(collect_text(p, text, depth + 1));
    Role role = paragraph_role(p);
    if (role.toc) return Status::ok();
    if (role.heading > 0) {
      builder_.add_heading(role.heading, text);
    } else {
      if (role.title && title_.empty()) title_ = normalize_space(text);
      builder_.add(role.list ? BlockKind::LIST_ITEM : BlockKind::PARAGRAPH, text);
    }
    return Status::ok();
  }

  // The text of a paragraph's runs, hyperlinks, fields and text boxes. Deleted runs hold
  // w:delText, not w:t, and so drop out; mc:Fallback repeats mc:Choice for older readers.
  Status collect_text(pugi::xml_node node, std::string& out, int depth) {
    if (depth > MAX_XML_DEPTH) return invalid_argument(nested_too_deep(DOCUMENT_PART));
    for (pugi::xml_node c : node.children()) {
      if (c.type() != pugi::node_element) continue;
      if (is_element(c, w_, "t")) {
        out += c.child_value();
      } else if (is_element(c, w_, "tab") || is_element(c, w_, "ptab")) {
        out += '\t';
      } else if (is_element(c, w_, "br") || is_element(c, w_, "cr")) {
        out += '\n';
      } else if (is_element(c, w_, "noBreakHyphen")) {
        out += '-';
      } else if (is_element(c, w_, "pPr") || is_element(c, w_, "rPr") || is_element(c, w_, "del") ||
                 is_element(c, mc_, "Fallback")) {
        continue;
      } else {
        SOCLE_RETURN_IF_ERROR(collect_text(c, out, depth + 1));
      }
    }
    return Status::ok();
  }

  Status read_table(pugi::xml_node tbl, int depth) {
    if (depth > MAX_XML_DEPTH) return invalid_argument(nested_too_deep(DOCUMENT_PART));
    for (pugi::xml_node row : tbl.children()) {
      if (is_element(row, w_, "sdt")) {
        SOCLE_RETURN_IF_ERROR(read_table(child_element(row, w_, "sdtContent"), depth + 1));
        continue;
      }
      if (!is_element(row, w_, "tr")) continue;
      std::string line;
      bool any = false;
      bool first = true;
      for (pugi::xml_node cell : row.children()) {
        if (!is_element(cell, w_, "tc")) continue;
        std::string text;
        SOCLE_RETURN_IF_ERROR(cell_text(cell, text, depth + 1));
        std::string normalized = normalize_space(text);
        any = any || !normalized.empty();
        if (!first) line += " | ";
        line += normalized;
        first = false;
      }
      if (any) builder_.add(BlockKind::TABLE_ROW, line);
    }
    return Status::ok();
  }

  // A cell's paragraphs, and the text of tables nested in it, separated by spaces.
  Status cell_text(pugi::xml_node node, std::string& out, int depth) {
    if (depth > MAX_XML_DEPTH) return invalid_argument(nested_too_deep(DOCUMENT_PART));
    for (pugi::xml_node c : node.children()) {
      if (is_element(c, w_, "p")) {
        out += ' ';
        SOCLE_RETURN_IF_ERROR(collect_text(c, out, depth + 1));
      } else if (is_element(c, w_, "tbl") || is_element(c, w_, "tr") || is_element(c, w_, "tc") ||
                 is_element(c, w_, "sdt") || is_element(c, w_, "sdtContent") ||
                 is_element(c, w_, "customXml")) {
        SOCLE_RETURN_IF_ERROR(cell_text(c, out, depth + 1));
      }
    }
    return Status::ok();
  }

  Role paragraph_role(pugi::xml_node p) const {
    Role role;
    pugi::xml_node ppr = child_element(p, w_, "pPr");
    int own_outline =
        outline_level(attribute_value(child_element(ppr, w_, "outlineLvl"), w_, "val"));
    bool outline_decided = own_outline >= 0;
    if (outline_decided && own_outline <= MAX_OUTLINE_LEVEL) role.heading = own_outline + 1;
    pugi::xml_node num = child_element(ppr, w_, "numPr");
    bool numbering_decided = static_cast<bool>(num);
    if (num) role.list = attribute_value(child_element(num, w_, "numId"), w_, "val") != "0";

    std::string id(attribute_value(child_element(ppr, w_, "pStyle"), w_, "val"));
    for (int hops = 0; !id.empty() && hops < MAX_STYLE_CHAIN; ++hops) {
      auto it = styles_.find(id);
      if (it == styles_.end()) {
        // No styles part, or a style it lacks: the built-in ids of English and French Word.
        std::string lower = lowercase(id);
        if (!outline_decided) {
          int level = std::max(trailing_digit_level(lower, "heading"),
                               trailing_digit_level(lower, "titre"));
          if (level > 0) role.heading = level;
        }
        role.title = role.title || lower == "title" || lower == "titre";
        break;
      }
      const Style& st = it->second;
      if (!outline_decided) {
        int level = trailing_digit_level(st.name, "heading ");
        if (st.outline >= 0) {
          level = st.outline <= MAX_OUTLINE_LEVEL ? st.outline + 1 : 0;
        }
        if (st.outline >= 0 || level > 0) {
          role.heading = level;
          outline_decided = true;
        }
      }
      if (!numbering_decided && st.numbering >= 0) {
        role.list = st.numbering == 1;
        numbering_decided = true;
      }
      role.title = role.title || st.name == "title";
      role.toc = role.toc || trailing_digit_level(st.name, "toc ") > 0;
      id = st.based_on;
    }
    return role;
  }

  std::string w_;
  std::string mc_;
  std::unordered_map<std::string, Style> styles_;
  BlockBuilder builder_;
  std::string title_;
};

Result<std::string> core_title(ZipArchive& zip, const ParseLimits& limits) {
  std::string part(CORE_PART);
  if (!zip.contains(part)) return std::string();
  SOCLE_ASSIGN_OR_RETURN(std::string xml, zip.read(part, limits.max_unpacked_bytes));
  SOCLE_ASSIGN_OR_RETURN(auto doc, load_xml(xml, CORE_PART));
  std::string dc = namespace_prefix(*doc, DC_NS, {}, "dc:");
  return normalize_space(child_element(doc->document_element(), dc, "title").child_value());
}

}  // namespace

Result<ParsedDocument> parse_docx(ZipArchive& zip, const ParseLimits& limits) {
  SOCLE_ASSIGN_OR_RETURN(std::string xml,
                         zip.read(std::string(DOCUMENT_PART), limits.max_unpacked_bytes));
  SOCLE_ASSIGN_OR_RETURN(auto document, load_xml(xml, DOCUMENT_PART));
  DocxReader reader(*document);
  if (zip.contains(std::string(STYLES_PART))) {
    SOCLE_ASSIGN_OR_RETURN(std::string styles_xml,
                           zip.read(std::string(STYLES_PART), limits.max_unpacked_bytes));
    SOCLE_ASSIGN_OR_RETURN(auto styles, load_xml(styles_xml, STYLES_PART));
    reader.read_styles(*styles);
  }
  SOCLE_RETURN_IF_ERROR(reader.read_body(document->document_element()));
  ParsedDocument out;
  out.blocks = reader.take_blocks();
  SOCLE_ASSIGN_OR_RETURN(out.title, core_title(zip, limits));
  if (out.title.empty()) out.title = reader.title_paragraph();
  return out;
}

}  // namespace socle::rag
