// HTML through gumbo (an HTML5 parser: it decodes entities and repairs tag soup as browsers do).
#include <gumbo.h>

#include <cstddef>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/check.h"
#include "rag/parse/block_builder.h"
#include "rag/parse/formats.h"
#include "rag/parse/html_nesting.h"
#include "rag/parse/text_decode.h"

namespace socle::rag {
namespace {

// Real pages nest a few dozen elements deep; a deeper tree is hostile input, refused before
// gumbo spends quadratic time on it (html_nesting.h) and never recursed into.
constexpr int MAX_HTML_DEPTH = 512;

// Gumbo frees its tree recursively, which a hostile file nested a million deep would turn into
// a stack overflow. Every allocation goes through this arena instead (a list of blocks freed in
// one loop), and gumbo_destroy_output is never called.
class GumboArena {
 public:
  GumboArena() = default;
  GumboArena(const GumboArena&) = delete;
  GumboArena& operator=(const GumboArena&) = delete;
  ~GumboArena() {
    while (head_ != nullptr) {
      Header* next = head_->next;
      std::free(head_);
      head_ = next;
    }
  }

  static void* allocate(void* arena, size_t size) {
    return static_cast<GumboArena*>(arena)->allocate(size);
  }
  static void deallocate(void* arena, void* ptr) {
    static_cast<GumboArena*>(arena)->deallocate(ptr);
  }

 private:
  struct alignas(std::max_align_t) Header {
    Header* prev;
    Header* next;
  };

  void* allocate(size_t size) {
    auto* h = static_cast<Header*>(std::malloc(sizeof(Header) + size));
    SOCLE_CHECK(h != nullptr, "memory is available for the HTML parse tree");
    h->prev = nullptr;
    h->next = head_;
    if (head_ != nullptr) head_->prev = h;
    head_ = h;
    return h + 1;
  }
  void deallocate(void* ptr) {
    if (ptr == nullptr) return;
    Header* h = static_cast<Header*>(ptr) - 1;
    if (h->prev != nullptr) h->prev->next = h->next;
    if (h->next != nullptr) h->next->prev = h->prev;
    if (head_ == h) head_ = h->next;
    std::free(h);
  }

  Header* head_ = nullptr;
};

Status too_deep() {
  return invalid_argument("the HTML nests elements deeper than " + std::to_string(MAX_HTML_DEPTH) +
                          " levels");
}

bool is_element(const GumboNode* n) {
  return n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE;
}

GumboTag tag_of(const GumboNode* n) {
  return is_element(n) ? n->v.element.tag : GUMBO_TAG_UNKNOWN;
}

const GumboVector* children_of(const GumboNode* n) {
  if (n->type == GUMBO_NODE_DOCUMENT) return &n->v.document.children;
  return is_element(n) ? &n->v.element.children : nullptr;
}

// Not text of the document: code, styling, navigation, complementary content, widgets.
bool is_dropped(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_HEAD:
    case GUMBO_TAG_TITLE:
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_NAV:
    case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_FORM:
    case GUMBO_TAG_BUTTON:
    case GUMBO_TAG_SELECT:
    case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_EMBED:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_MATH:
    case GUMBO_TAG_CANVAS:
      return true;
    default:
      return false;
  }
}

// Elements whose start and end separate blocks of text.
bool is_block(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_HTML:
    case GUMBO_TAG_BODY:
    case GUMBO_TAG_MAIN:
    case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_SECTION:
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_FOOTER:
    case GUMBO_TAG_HGROUP:
    case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_P:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_OL:
    case GUMBO_TAG_UL:
    case GUMBO_TAG_MENU:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_TABLE:
    case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_THEAD:
    case GUMBO_TAG_TBODY:
    case GUMBO_TAG_TFOOT:
    case GUMBO_TAG_TD:
    case GUMBO_TAG_TH:
    case GUMBO_TAG_DETAILS:
    case GUMBO_TAG_SUMMARY:
    case GUMBO_TAG_FIELDSET:
    case GUMBO_TAG_LEGEND:
    case GUMBO_TAG_CENTER:
      return true;
    default:
      return false;
  }
}

bool is_sectioning(GumboTag tag) {
  return tag == GUMBO_TAG_MAIN || tag == GUMBO_TAG_ARTICLE || tag == GUMBO_TAG_SECTION;
}

int heading_level(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_H1:
      return 1;
    case GUMBO_TAG_H2:
      return 2;
    case GUMBO_TAG_H3:
      return 3;
    case GUMBO_TAG_H4:
      return 4;
    case GUMBO_TAG_H5:
      return 5;
    case GUMBO_TAG_H6:
      return 6;
    default:
      return 0;
  }
}

std::string_view role_of(const GumboNode* n) {
  const GumboAttribute* role = gumbo_get_attribute(&n->v.element.attributes, "role");
  return role == nullptr ? std::string_view() : std::string_view(role->value);
}

bool has_main_role(const GumboNode* n) {
  return role_of(n) == "main";
}

// The first element, in document order, for which `pred` holds; iterative, so any depth is fine.
template <typename Pred>
const GumboNode* find_first(const GumboNode* root, Pred pred) {
  std::vector<const GumboNode*> stack{root};
  while (!stack.empty()) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (is_element(n) && pred(n)) return n;
    const GumboVector* kids = children_of(n);
    if (kids == nullptr) continue;
    for (unsigned i = kids->length; i > 0; --i)
      stack.push_back(static_cast<const GumboNode*>(kids->data[i - 1]));
  }
  return nullptr;
}

// All the text under `root` (dropped elements left out), <br> as a line break; iterative.
std::string text_of(const GumboNode* root) {
  std::string out;
  std::vector<const GumboNode*> stack{root};
  while (!stack.empty()) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE ||
        n->type == GUMBO_NODE_CDATA) {
      out += n->v.text.text;
      continue;
    }
    if (!is_element(n) || is_dropped(tag_of(n))) continue;
    if (tag_of(n) == GUMBO_TAG_BR) out += '\n';
    // Block boundaries inside (a <p> in a <td>) separate words.
    if (is_block(tag_of(n))) out += ' ';
    const GumboVector* kids = children_of(n);
    for (unsigned i = kids->length; i > 0; --i)
      stack.push_back(static_cast<const GumboNode*>(kids->data[i - 1]));
  }
  return out;
}

// The text directly inside `n`, for <title>, whose content is raw text.
std::string direct_text(const GumboNode* n) {
  std::string out;
  const GumboVector* kids = children_of(n);
  for (unsigned i = 0; i < kids->length; ++i) {
    const auto* c = static_cast<const GumboNode*>(kids->data[i]);
    if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE) out += c->v.text.text;
  }
  return out;
}

class HtmlWalker {
 public:
  // `in_main`: the walk starts at the page's main content, whose header and footer are kept.
  HtmlWalker(BlockBuilder& builder, bool in_main) : builder_(builder), sectioning_(in_main) {}

  Status walk(const GumboNode* n, int depth) {
    if (depth > MAX_HTML_DEPTH) return too_deep();
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE ||
        n->type == GUMBO_NODE_CDATA) {
      pending_ += n->v.text.text;
      return Status::ok();
    }
    if (!is_element(n)) return Status::ok();
    GumboTag tag = tag_of(n);
    // ARIA landmarks say the same as the elements: navigation is nav, complementary is aside,
    // banner and contentinfo are the page's header and footer.
    std::string_view role = role_of(n);
    if (is_dropped(tag) || role == "navigation" || role == "complementary" || role == "search") {
      return Status::ok();
    }
    // The page's banner and footer are dropped; those of an article or section hold its
    // title and byline, and are kept.
    bool page_chrome = tag == GUMBO_TAG_HEADER || tag == GUMBO_TAG_FOOTER || role == "banner" ||
                       role == "contentinfo";
    if (page_chrome && sectioning_ == 0) return Status::ok();
    if (int level = heading_level(tag); level > 0) {
      flush();
      builder_.add_heading(level, text_of(n));
      return Status::ok();
    }
    if (tag == GUMBO_TAG_PRE) {
      flush();
      builder_.add(BlockKind::CODE, text_of(n));
      return Status::ok();
    }
    if (tag == GUMBO_TAG_TR) {
      flush();
      add_row(n);
      return Status::ok();
    }
    if (tag == GUMBO_TAG_BR) {
      pending_ += '\n';
      return Status::ok();
    }
    bool block = is_block(tag) || tag == GUMBO_TAG_LI;
    if (block) flush();
    BlockKind saved_kind = kind_;
    if (tag == GUMBO_TAG_LI) kind_ = BlockKind::LIST_ITEM;
    int sectioning = is_sectioning(tag) ? 1 : 0;
    sectioning_ += sectioning;
    const GumboVector* kids = children_of(n);
    for (unsigned i = 0; i < kids->length; ++i) {
      SOCLE_RETURN_IF_ERROR(walk(static_cast<const GumboNode*>(kids->data[i]), depth + 1));
    }
    sectioning_ -= sectioning;
    if (block) flush();
    kind_ = saved_kind;
    return Status::ok();
  }

  void flush() {
    builder_.add(kind_, pending_);
    pending_.clear();
  }

 private:
  void add_row(const GumboNode* tr) {
    std::string line;
    bool any = false;
    bool first = true;
    const GumboVector* cells = children_of(tr);
    for (unsigned i = 0; i < cells->length; ++i) {
      const auto* cell = static_cast<const GumboNode*>(cells->data[i]);
      if (tag_of(cell) != GUMBO_TAG_TD && tag_of(cell) != GUMBO_TAG_TH) continue;
      std::string text = normalize_space(text_of(cell));
      any = any || !text.empty();
      if (!first) line += " | ";
      line += text;
      first = false;
    }
    if (any) builder_.add(BlockKind::TABLE_ROW, line);
  }

  BlockBuilder& builder_;
  std::string pending_;  // inline text of the block being read
  BlockKind kind_ = BlockKind::PARAGRAPH;
  int sectioning_;  // how many main, article or section elements enclose the walk
};

}  // namespace

Result<ParsedDocument> parse_html(std::string_view bytes) {
  SOCLE_ASSIGN_OR_RETURN(std::string html, decode_text(bytes, "the HTML file"));
  if (html_nesting_bound(html, MAX_HTML_DEPTH) > MAX_HTML_DEPTH) return too_deep();
  GumboArena arena;
  GumboOptions options = kGumboDefaultOptions;
  options.allocator = &GumboArena::allocate;
  options.deallocator = &GumboArena::deallocate;
  options.userdata = &arena;
  options.max_errors = 0;  // parse errors are repaired; recording them only costs memory
  GumboOutput* output = gumbo_parse_with_options(&options, html.data(), html.size());
  SOCLE_CHECK(output != nullptr, "gumbo returns a tree for any input");

  ParsedDocument out;
  if (const GumboNode* title = find_first(
          output->root, [](const GumboNode* n) { return tag_of(n) == GUMBO_TAG_TITLE; })) {
    out.title = normalize_space(direct_text(title));
  }
  const GumboNode* main = find_first(output->root, [](const GumboNode* n) {
    return tag_of(n) == GUMBO_TAG_MAIN || has_main_role(n);
  });
  if (main == nullptr) {
    main =
        find_first(output->root, [](const GumboNode* n) { return tag_of(n) == GUMBO_TAG_ARTICLE; });
  }
  bool in_main = main != nullptr;
  if (main == nullptr) main = output->root;
  BlockBuilder builder;
  HtmlWalker walker(builder, in_main);
  SOCLE_RETURN_IF_ERROR(walker.walk(main, 0));
  walker.flush();
  out.blocks = builder.take();
  return out;
}

}  // namespace socle::rag
