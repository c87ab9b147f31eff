// A bound on how deep an HTML5 parser nests the elements of a page, computed in one linear
// pass before parsing. Gumbo spends time proportional to the depth of open elements on many
// tags, so a hostile page of 100,000 nested <div> (600 kB) takes minutes; pages deeper than a
// limit are refused before gumbo sees them.
#pragma once

#include <cstddef>
#include <string_view>

namespace socle::rag {

// An upper bound on the deepest stack of open elements that HTML5 tree construction builds
// from `html`, stopping early once it exceeds `limit` (then it returns some value > limit).
// It follows the tokenizer (comments, quoted attributes, raw-text elements such as <script>)
// and pops elements only where the tree-construction rules surely pop them (an end tag in
// scope, a <p>, <li>, <td> or <tr> closing its predecessor, self-closing tags in SVG and
// MathML); where unsure it keeps them open, so the bound errs high, never low. Elements the
// parser adds by itself (html, head, body, tbody, reopened formatting elements) are counted.
size_t html_nesting_bound(std::string_view html, size_t limit);

}  // namespace socle::rag
