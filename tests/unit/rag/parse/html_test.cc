// HTML: the main content only, headings, lists, code, tables, entities, title.
#include <gtest/gtest.h>

#include "unit/rag/parse/fixtures.h"

namespace socle::rag {
namespace {

using testing::parse_ok;
using testing::show;

constexpr const char* PAGE = R"(<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Démarches &amp; formulaires</title>
<style>p { color: red }</style><script>var x = "pas du texte";</script></head>
<body>
<header><p>Bandeau du site</p></header>
<nav><ul><li>Accueil</li><li>Contact</li></ul></nav>
<main>
<h1>Carte d&#39;identité</h1>
<p>Le délai est de <b>3&nbsp;semaines</b>.<br>Prévoyez&hellip;</p>
<aside>Publicité</aside>
<h2>Pièces</h2>
<ul><li>Photo</li><li>Justificatif <ul><li>de moins de 3 mois</li></ul></li></ul>
<pre>ligne 1
  ligne 2</pre>
<table><tr><th>Pièce</th><th>Prix</th></tr><tr><td>Carte</td><td><p>0</p><p>€</p></td></tr></table>
<h3>Note</h3><div>Texte dans un div <span>avec</span>  <em>span</em><div>imbriqué</div>suite</div>
<form><label>Nom</label><input name="n"></form>
<script>document.write("non")</script>
</main>
<footer>Mentions légales</footer>
</body></html>)";

TEST(HtmlTest, MainContentOnlyWithStructure) {
  ParsedDocument doc = parse_ok(PAGE, "page.html", "text/html; charset=utf-8");
  EXPECT_EQ(doc.title, "Démarches & formulaires");
  EXPECT_EQ(show(doc), (std::vector<std::string>{
                           "heading1: Carte d'identité",
                           "paragraph: Le délai est de 3\u00A0semaines. Prévoyez…  @ Carte "
                           "d'identité",
                           "heading2: Pièces  @ Carte d'identité",
                           "list_item: Photo  @ Carte d'identité > Pièces",
                           "list_item: Justificatif  @ Carte d'identité > Pièces",
                           "list_item: de moins de 3 mois  @ Carte d'identité > Pièces",
                           "code: ligne 1\n  ligne 2  @ Carte d'identité > Pièces",
                           "table_row: Pièce | Prix  @ Carte d'identité > Pièces",
                           "table_row: Carte | 0 €  @ Carte d'identité > Pièces",
                           "heading3: Note  @ Carte d'identité > Pièces",
                           "paragraph: Texte dans un div avec span  @ Carte d'identité > Pièces > "
                           "Note",
                           "paragraph: imbriqué  @ Carte d'identité > Pièces > Note",
                           "paragraph: suite  @ Carte d'identité > Pièces > Note",
                       }));
}

TEST(HtmlTest, WithoutMainTheArticleIsTheTextAndKeepsItsHeader) {
  constexpr const char* page =
      "<html><body><header>Site</header><article><header><h1>Titre</h1><p>par X</p></header>"
      "<p>Corps.</p><footer>Publié hier</footer></article><footer>Pied</footer></body></html>";
  EXPECT_EQ(
      show(parse_ok(page, "a.htm", "")),
      (std::vector<std::string>{"heading1: Titre", "paragraph: par X  @ Titre",
                                "paragraph: Corps.  @ Titre", "paragraph: Publié hier  @ Titre"}));
}

TEST(HtmlTest, WithoutMainOrArticleTheBodyWithoutPageChrome) {
  constexpr const char* page =
      "<body><header>Site</header><div role=\"navigation\"><p>Accueil</p></div><h2>Sous "
      "titre</h2>Texte nu<p>Paragraphe</p><footer>Pied</footer>";
  EXPECT_EQ(show(parse_ok(page, "a.html", "text/html")),
            (std::vector<std::string>{"heading2: Sous titre", "paragraph: Texte nu  @ Sous titre",
                                      "paragraph: Paragraphe  @ Sous titre"}));
}

TEST(HtmlTest, RoleMainCountsAsMain) {
  constexpr const char* page =
      "<body><div>Menu</div><div role=\"main\"><header><h1>Titre</h1></header><p>Texte</p></div>";
  EXPECT_EQ(show(parse_ok(page, "a.html", "text/html")),
            (std::vector<std::string>{"heading1: Titre", "paragraph: Texte  @ Titre"}));
}

TEST(HtmlTest, Latin1PagesAreDecoded) {
  ParsedDocument doc = parse_ok("<p>Caf\xE9 cr\xE8me \x80 2</p>", "a.html", "text/html");
  EXPECT_EQ(show(doc), std::vector<std::string>{"paragraph: Café crème € 2"});
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += s;
  return out;
}

std::string numbered(std::string_view before, std::string_view after, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += before;
    out += std::to_string(i);
    out += after;
  }
  return out;
}

// Gumbo spends time proportional to the depth on each tag: these would take minutes.
TEST(HtmlTest, DeepNestingIsRefusedBeforeParsing) {
  const std::string deep_pages[] = {
      repeat("<div>", 20000),
      // End tags that do not close past a div, and one hidden in an attribute value.
      repeat("<span><div></span>", 20000),
      repeat("<div title=\"></div>\">", 20000),
      // Formatting elements closed by their block but reopened by the parser.
      numbered("<div><b id=", "></div>", 20000),
      // Self-closing syntax means nothing to an HTML element.
      repeat("<div/>", 20000),
      repeat("<ul><li>", 20000),
  };
  for (const std::string& page : deep_pages) {
    SCOPED_TRACE(page.substr(0, 40));
    Result<ParsedDocument> r = parse_document(page + "x", "deep.html", "text/html", ParseLimits{});
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(r.status().message(), "the HTML nests elements deeper than 512 levels");
  }
}

// Long pages of elements that the parser closes by itself are not deep.
TEST(HtmlTest, ImpliedEndsAreNotDepth) {
  const std::string flat_pages[] = {
      repeat("<p>para", 1000),
      "<ul>" + repeat("<li>item", 1000) + "</ul>",
      "<table>" + repeat("<tr><td>a<td><p>b", 1000) + "</table>",
      "<dl>" + repeat("<dt>t<dd>d", 1000) + "</dl>",
      "<svg>" + repeat("<path d=\"M0 0\"/>", 1000) + "</svg>",
      repeat("<p><a id=\"x\"/>ancre</p>", 1000),
      repeat("<script>if (a < b) { x = '<div>'; }</script>", 1000),
      repeat("<!-- <div> -->", 1000),
      repeat("<span><b>gras</b></span><div><i>i</i></div>", 1000),
  };
  for (const std::string& page : flat_pages) {
    SCOPED_TRACE(page.substr(0, 40));
    Result<ParsedDocument> r = parse_document(page, "flat.html", "text/html", ParseLimits{});
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  }
}

TEST(HtmlTest, TagSoupIsRepairedNotRefused) {
  ParsedDocument doc =
      parse_ok("<p>un <b>deux <i>trois</b> quatre</p><li>cinq", "a.html", "text/html");
  EXPECT_EQ(show(doc),
            (std::vector<std::string>{"paragraph: un deux trois quatre", "list_item: cinq"}));
}

}  // namespace
}  // namespace socle::rag
