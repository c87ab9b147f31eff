#include "rag/parse/html_nesting.h"

#include <algorithm>
#include <span>
#include <string>
#include <vector>

namespace socle::rag {
namespace {

using Names = std::span<const std::string_view>;

bool is_one_of(std::string_view name, Names names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Elements that never have content.
constexpr std::string_view VOID_ELEMENTS[] = {
    "area", "base",  "basefont", "bgsound", "br",   "col",   "embed",  "frame", "hr",
    "img",  "input", "keygen",   "link",    "meta", "param", "source", "track", "wbr"};
// Their content is text up to their end tag.
constexpr std::string_view RAW_TEXT[] = {"script", "style",  "textarea", "title",
                                         "xmp",    "iframe", "noembed",  "noframes"};
// The formatting elements of the HTML standard (adoption agency, active formatting list).
constexpr std::string_view FORMATTING[] = {"a",    "b", "big",   "code",   "em",     "font", "i",
                                           "nobr", "s", "small", "strike", "strong", "tt",   "u"};
// The standard's "special" category: an end tag of another name does not close past them.
constexpr std::string_view SPECIAL[] = {
    "address",    "applet",  "area",   "article", "aside",     "base",     "basefont", "bgsound",
    "blockquote", "body",    "br",     "button",  "caption",   "center",   "col",      "colgroup",
    "dd",         "details", "dir",    "div",     "dl",        "dt",       "embed",    "fieldset",
    "figcaption", "figure",  "footer", "form",    "frame",     "frameset", "h1",       "h2",
    "h3",         "h4",      "h5",     "h6",      "head",      "header",   "hgroup",   "hr",
    "html",       "iframe",  "img",    "input",   "keygen",    "li",       "link",     "listing",
    "main",       "marquee", "menu",   "meta",    "nav",       "noembed",  "noframes", "noscript",
    "object",     "ol",      "p",      "param",   "plaintext", "pre",      "script",   "section",
    "select",     "source",  "style",  "summary", "table",     "tbody",    "td",       "template",
    "textarea",   "tfoot",   "th",     "thead",   "title",     "tr",       "track",    "ul",
    "wbr",        "xmp",     "svg",    "math"};
// Where "has an element in scope" stops looking.
constexpr std::string_view SCOPE_BOUNDARIES[] = {"applet",   "caption", "html",    "table",
                                                 "td",       "th",      "marquee", "object",
                                                 "template", "svg",     "math"};
// End tags that close their element when it is in scope, whatever is open above it.
constexpr std::string_view BLOCK_END[] = {
    "address", "article", "aside",   "blockquote", "button",   "center",     "details",
    "dialog",  "dir",     "div",     "dl",         "fieldset", "figcaption", "figure",
    "footer",  "header",  "hgroup",  "listing",    "main",     "menu",       "nav",
    "ol",      "pre",     "section", "summary",    "ul",       "form",       "p",
    "li",      "dd",      "dt",      "applet",     "marquee",  "object",     "table",
    "tbody",   "thead",   "tfoot",   "tr",         "td",       "th",         "caption",
    "select",  "h1",      "h2",      "h3",         "h4",       "h5",         "h6"};
// Start tags that close an open <p> (in button scope).
constexpr std::string_view CLOSES_P[] = {
    "address", "article", "aside",    "blockquote", "center", "details", "dialog",   "dir",
    "div",     "dl",      "fieldset", "figcaption", "figure", "footer",  "header",   "hgroup",
    "main",    "menu",    "nav",      "ol",         "p",      "section", "summary",  "ul",
    "h1",      "h2",      "h3",       "h4",         "h5",     "h6",      "pre",      "listing",
    "form",    "li",      "dd",       "dt",         "table",  "hr",      "plaintext"};
// Elements whose end the parser implies when something closes around them.
constexpr std::string_view IMPLIED_END[] = {"p",        "li", "dd", "dt", "option",
                                            "optgroup", "rb", "rp", "rt", "rtc"};
constexpr std::string_view ONLY_P[] = {"p"};
constexpr size_t MAX_IDENTICAL_FORMATTING = 3;
// html, head and body, which the parser adds when the page does not.
constexpr size_t IMPLIED_ROOT = 3;

bool is_heading(std::string_view n) {
  return n.size() == 2 && n[0] == 'h' && n[1] >= '1' && n[1] <= '6';
}

class Bound {
 public:
  // Pops through the nearest open element named in `targets` when every element above it is
  // in `allowed_above` (an empty list: it must be on top).
  void close_if_only(std::initializer_list<std::string_view> targets, Names allowed_above) {
    for (size_t i = stack_.size(); i > 0; --i) {
      const std::string& n = stack_[i - 1];
      if (std::find(targets.begin(), targets.end(), n) != targets.end()) {
        pop_to(i - 1);
        return;
      }
      if (!is_one_of(n, allowed_above)) return;
    }
  }

  // `tag` is the start tag's text from its name to its end: the identity of a formatting
  // element in the active list.
  void start(const std::string& name, std::string_view tag, bool self_closing) {
    if (foreign_ == 0) {
      if (is_one_of(name, CLOSES_P)) close_if_only({"p"}, {});
      if (name == "li") close_if_only({"li"}, ONLY_P);
      if (name == "dd" || name == "dt") close_if_only({"dd", "dt"}, ONLY_P);
      if (name == "option") close_if_only({"option"}, {});
      if (name == "td" || name == "th") close_if_only({"td", "th"}, IMPLIED_END);
      if (name == "tr") {
        close_if_only({"td", "th"}, IMPLIED_END);
        close_if_only({"tr"}, {});
      }
      if (is_one_of(name, VOID_ELEMENTS)) return;
      if (is_one_of(name, FORMATTING)) activate(name, tag);
      if (name == "table") ++tables_;  // open tables, for the tbody the parser may insert
    } else if (self_closing) {
      return;  // foreign content honours <path/>
    }
    stack_.push_back(name);
    if (name == "svg" || name == "math") ++foreign_;
    deepest_ = std::max(deepest_, depth());
  }

  void end(const std::string& name) {
    bool block = is_one_of(name, BLOCK_END);
    for (size_t i = stack_.size(); i > 0; --i) {
      const std::string& n = stack_[i - 1];
      if (n == name || (is_heading(name) && is_heading(n))) {
        if (is_one_of(name, FORMATTING)) deactivate(name);
        pop_to(i - 1);
        return;
      }
      // Past these the end tag is ignored (or handled in ways that may keep elements open).
      if (block ? is_one_of(n, SCOPE_BOUNDARIES) : is_one_of(n, SPECIAL)) return;
    }
  }

  // Formatting elements closed implicitly stay in the active list and are reopened later, and
  // a table may gain a tbody: counted on top of the stack.
  size_t depth() const { return stack_.size() + active_.size() + tables_ + IMPLIED_ROOT; }
  size_t deepest() const { return deepest_; }

 private:
  void pop_to(size_t size) {
    while (stack_.size() > size) {
      if (stack_.back() == "svg" || stack_.back() == "math") --foreign_;
      if (stack_.back() == "table") --tables_;
      stack_.pop_back();
    }
  }

  // A new <a> ends the previous one; a fourth identical element (same name and attributes)
  // drops the earliest of the three before it (the standard's "Noah's Ark" clause).
  void activate(const std::string& name, std::string_view tag) {
    if (name == "a") {
      std::erase_if(active_, [](const auto& e) { return e.first == "a"; });
    }
    size_t same = 0;
    size_t earliest = active_.size();
    for (size_t i = active_.size(); i > 0; --i) {
      if (active_[i - 1].second == tag) {
        ++same;
        earliest = i - 1;
      }
    }
    if (same >= MAX_IDENTICAL_FORMATTING)
      active_.erase(active_.begin() + static_cast<long>(earliest));
    active_.emplace_back(name, tag);
  }
  void deactivate(const std::string& name) {
    for (size_t i = active_.size(); i > 0; --i) {
      if (active_[i - 1].first == name) {
        active_.erase(active_.begin() + static_cast<long>(i - 1));
        return;
      }
    }
  }

  std::vector<std::string> stack_;
  size_t foreign_ = 0;  // open svg and math elements: inside them, "/>" closes a tag
  // The list of active formatting elements, as (name, tag) pairs: the parser reopens them after
  // a block closes them, so they count even once popped.
  std::vector<std::pair<std::string, std::string>> active_;
  size_t tables_ = 0;
  size_t deepest_ = IMPLIED_ROOT;
};

bool is_ascii_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_tag_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}
char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Finds "</name" case-insensitively from `from`; npos when absent.
size_t find_end_tag(std::string_view s, std::string_view name, size_t from) {
  for (size_t at = s.find("</", from); at != std::string_view::npos; at = s.find("</", at + 2)) {
    if (at + 2 + name.size() > s.size()) return std::string_view::npos;
    bool same = true;
    for (size_t k = 0; k < name.size() && same; ++k)
      same = lower(s[at + 2 + k]) == name[k];
    if (same) return at;
  }
  return std::string_view::npos;
}

// Skips a tag's attributes as the HTML tokenizer does: quotes count only in attribute values.
// Returns the index after '>' (or the end), and whether the tag ended with "/>".
size_t skip_attributes(std::string_view s, size_t i, bool* self_closing) {
  *self_closing = false;
  while (i < s.size()) {
    char c = s[i];
    if (c == '>') return i + 1;
    if (is_tag_space(c)) {
      ++i;
      continue;
    }
    if (c == '/') {
      *self_closing = i + 1 < s.size() && s[i + 1] == '>';
      ++i;
      continue;
    }
    // An attribute name, then maybe "= value".
    while (i < s.size() && !is_tag_space(s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=')
      ++i;
    while (i < s.size() && is_tag_space(s[i]))
      ++i;
    if (i >= s.size() || s[i] != '=') continue;
    ++i;
    while (i < s.size() && is_tag_space(s[i]))
      ++i;
    if (i < s.size() && (s[i] == '"' || s[i] == '\'')) {
      size_t close = s.find(s[i], i + 1);
      i = close == std::string_view::npos ? s.size() : close + 1;
    } else {
      while (i < s.size() && !is_tag_space(s[i]) && s[i] != '>')
        ++i;
    }
  }
  return i;
}

}  // namespace

size_t html_nesting_bound(std::string_view s, size_t limit) {
  Bound bound;
  size_t i = 0;
  while ((i = s.find('<', i)) != std::string_view::npos && bound.deepest() <= limit) {
    if (s.substr(i, 4) == "<!--") {
      size_t close = s.find("-->", i + 4);
      if (close == std::string_view::npos) break;
      i = close + 3;
      continue;
    }
    if (i + 1 < s.size() && (s[i + 1] == '!' || s[i + 1] == '?')) {
      size_t close = s.find('>', i);
      if (close == std::string_view::npos) break;
      i = close + 1;
      continue;
    }
    bool is_end = i + 1 < s.size() && s[i + 1] == '/';
    size_t j = i + 1 + (is_end ? 1 : 0);
    if (j >= s.size() || !is_ascii_alpha(s[j])) {
      i = j;  // a '<' that starts no tag is text
      continue;
    }
    std::string name;
    size_t name_begin = j;
    while (j < s.size() && !is_tag_space(s[j]) && s[j] != '/' && s[j] != '>')
      name += lower(s[j++]);
    bool self_closing = false;
    i = skip_attributes(s, j, &self_closing);
    std::string_view tag = s.substr(name_begin, i - name_begin);
    if (is_end) {
      bound.end(name);
      continue;
    }
    if (name == "plaintext") break;  // the rest of the page is text
    if (is_one_of(name, RAW_TEXT)) {
      size_t close = find_end_tag(s, name, i);
      if (close == std::string_view::npos) break;
      i = close;  // its end tag closes nothing we opened
      bound.start(name, tag, false);
      continue;
    }
    bound.start(name, tag, self_closing);
  }
  return bound.deepest();
}

}  // namespace socle::rag
