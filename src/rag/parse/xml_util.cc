#include "rag/parse/xml_util.h"

namespace socle::rag {
namespace {

bool name_is(std::string_view name, std::string_view prefix, std::string_view local) {
  return name.size() == prefix.size() + local.size() && name.starts_with(prefix) &&
         name.ends_with(local);
}

}  // namespace

Result<std::unique_ptr<pugi::xml_document>> load_xml(std::string_view xml, std::string_view name) {
  auto doc = std::make_unique<pugi::xml_document>();
  // Whitespace-only text is kept: <w:t xml:space="preserve"> </w:t> is the space between two
  // words in Word, and so is a lone space between two spans in ODF.
  pugi::xml_parse_result r = doc->load_buffer(
      xml.data(), xml.size(), pugi::parse_default | pugi::parse_ws_pcdata, pugi::encoding_auto);
  if (!r) {
    return invalid_argument(std::string(name) + " in the package is not well-formed XML: " +
                            r.description() + " at byte " + std::to_string(r.offset));
  }
  return doc;
}

std::string namespace_prefix(const pugi::xml_document& doc, std::string_view uri,
                             std::string_view alternate_uri, std::string_view fallback) {
  pugi::xml_node root = doc.document_element();
  for (std::string_view wanted : {uri, alternate_uri}) {
    if (wanted.empty()) continue;
    for (pugi::xml_attribute a : root.attributes()) {
      std::string_view name = a.name();
      if (std::string_view(a.value()) != wanted) continue;
      if (name == "xmlns") return "";
      if (name.starts_with("xmlns:")) return std::string(name.substr(6)) + ":";
    }
  }
  return std::string(fallback);
}

bool is_element(pugi::xml_node node, std::string_view prefix, std::string_view local) {
  return node.type() == pugi::node_element && name_is(node.name(), prefix, local);
}

pugi::xml_node child_element(pugi::xml_node node, std::string_view prefix, std::string_view local) {
  for (pugi::xml_node c : node.children()) {
    if (is_element(c, prefix, local)) return c;
  }
  return {};
}

std::string_view attribute_value(pugi::xml_node node, std::string_view prefix,
                                 std::string_view local) {
  for (pugi::xml_attribute a : node.attributes()) {
    if (name_is(a.name(), prefix, local)) return a.value();
  }
  return {};
}

std::string nested_too_deep(std::string_view name) {
  return std::string(name) + " in the package nests elements deeper than " +
         std::to_string(MAX_XML_DEPTH) + " levels";
}

}  // namespace socle::rag
