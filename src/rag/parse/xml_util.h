// pugixml helpers shared by the office formats: loading an entry with an error that names it,
// and matching element names by namespace rather than by a hard-coded prefix.
#pragma once

#include <memory>
#include <pugixml.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace socle::rag {

// Office XML nests shallowly (body, table, row, cell, paragraph, run, a few wrappers); deeper
// than this is hostile input, refused rather than recursed into.
inline constexpr int MAX_XML_DEPTH = 256;

// Parses `xml`, the package entry `name`. INVALID_ARGUMENT naming the entry, pugixml's reason and
// the byte offset when it is not well-formed.
Result<std::unique_ptr<pugi::xml_document>> load_xml(std::string_view xml, std::string_view name);

// The prefix with its colon ("w:"), or "" for the default namespace, that the document element
// of `doc` binds to `uri` (or to `alternate_uri` when given and `uri` is unbound); `fallback`
// when neither is declared there. Producers always declare their namespaces on the document
// element.
std::string namespace_prefix(const pugi::xml_document& doc, std::string_view uri,
                             std::string_view alternate_uri, std::string_view fallback);

// True when `node` is an element named `prefix` + `local`.
bool is_element(pugi::xml_node node, std::string_view prefix, std::string_view local);

// The first child element named `prefix` + `local`, or an empty node.
pugi::xml_node child_element(pugi::xml_node node, std::string_view prefix, std::string_view local);

// The value of attribute `prefix` + `local`, or "" when absent.
std::string_view attribute_value(pugi::xml_node node, std::string_view prefix,
                                 std::string_view local);

std::string nested_too_deep(std::string_view name);

}  // namespace socle::rag
