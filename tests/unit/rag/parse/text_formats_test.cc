// Markdown, plain text, CSV and JSON.
#include <gtest/gtest.h>

#include "rag/parse/block_builder.h"
#include "unit/rag/parse/fixtures.h"

namespace socle::rag {
namespace {

using testing::parse_ok;
using testing::show;

Status parse_error(const std::string& bytes, const std::string& filename) {
  Result<ParsedDocument> r = parse_document(bytes, filename, "", ParseLimits{});
  return r.status_or_ok();
}

constexpr const char* MARKDOWN = R"(---
title: essai
---
# Guide **rapide** #

Premier paragraphe
sur deux lignes avec un [lien](https://exemple.fr/a_(b)), une ![image](i.png) et `du code`.

Sous-titre
----------

- un
- deux
  suite de deux
1. premier
* [x] tâche faite

```bash
echo "# pas un titre"

  indenté
```

| Nom | Valeur |
|-----|:------:|
| a \| b | 1 |
| c | <https://exemple.fr> |

## Fin ##
> citation
> sur deux lignes
***
Dernier\_mot.
[ref]: https://exemple.fr
)";

TEST(MarkdownTest, HeadingsListsCodeTablesAndInlineText) {
  ParsedDocument doc = parse_ok(MARKDOWN, "guide.md", "text/markdown");
  EXPECT_EQ(show(doc),
            (std::vector<std::string>{
                "heading1: Guide rapide",
                "paragraph: Premier paragraphe sur deux lignes avec un lien, une image et du "
                "code.  @ Guide rapide",
                "heading2: Sous-titre  @ Guide rapide",
                "list_item: un  @ Guide rapide > Sous-titre",
                "list_item: deux suite de deux  @ Guide rapide > Sous-titre",
                "list_item: premier  @ Guide rapide > Sous-titre",
                "list_item: [x] tâche faite  @ Guide rapide > Sous-titre",
                "code: echo \"# pas un titre\"\n\n  indenté  @ Guide rapide > Sous-titre",
                "table_row: Nom | Valeur  @ Guide rapide > Sous-titre",
                "table_row: a | b | 1  @ Guide rapide > Sous-titre",
                "table_row: c | https://exemple.fr  @ Guide rapide > Sous-titre",
                "heading2: Fin  @ Guide rapide",
                "paragraph: citation sur deux lignes  @ Guide rapide > Fin",
                "paragraph: Dernier_mot.  @ Guide rapide > Fin",
            }));
}

TEST(MarkdownTest, SetextLevelOneAndAnUnclosedFence) {
  ParsedDocument doc = parse_ok("Titre\n=====\ntexte\n~~~~\ncode\n", "a.markdown", "");
  EXPECT_EQ(show(doc), (std::vector<std::string>{"heading1: Titre", "paragraph: texte  @ Titre",
                                                 "code: code  @ Titre"}));
}

TEST(MarkdownTest, UnmatchedBracketsStayText) {
  std::string line(100000, '[');
  ParsedDocument doc = parse_ok("[a](b " + line + "\n", "a.md", "");
  ASSERT_EQ(doc.blocks.size(), 1u);
  EXPECT_EQ(doc.blocks[0].text, "[a](b " + line);
}

TEST(TextTest, ParagraphsOnBlankLines) {
  ParsedDocument doc =
      parse_ok("\xEF\xBB\xBFPremier paragraphe\r\nsur deux lignes.\r\n\r\n  \t\nSecond.\n\n\n",
               "notes.txt", "text/plain");
  EXPECT_EQ(show(doc), (std::vector<std::string>{
                           "paragraph: Premier paragraphe sur deux lignes.",
                           "paragraph: Second.",
                       }));
  EXPECT_TRUE(parse_ok("", "vide.txt", "text/plain").blocks.empty());
}

TEST(TextTest, NotUtf8IsReadAsWindows1252) {
  // "Café crème à 5 € – l’été" as Windows-1252 writes it.
  ParsedDocument doc =
      parse_ok("Caf\xE9 cr\xE8me \xE0 5 \x80 \x96 l\x92\xE9t\xE9", "vieux.txt", "text/plain");
  EXPECT_EQ(show(doc), std::vector<std::string>{"paragraph: Café crème à 5 € – l’été"});
}

TEST(TextTest, BinaryAndUndefinedBytesAreRefused) {
  Status s = parse_error(std::string("abc\0def", 7), "a.txt");
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.message(), "the text file holds a NUL byte at offset 3: it is binary data, not text");
  s = parse_error(std::string("\xFF\xFEh\0i\0", 6), "a.txt");
  EXPECT_EQ(s.message(),
            "the text file holds a NUL byte at offset 3: it is UTF-16; save it as UTF-8");
  s = parse_error("caf\xE9 \x81", "a.txt");
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.message(),
            "the text file is neither UTF-8 nor Windows-1252: byte 0x81 at offset 5; save it as "
            "UTF-8");
}

TEST(CsvTest, FrenchSemicolonsQuotedFieldsAndNewlines) {
  constexpr const char* csv =
      "nom;adresse;commentaire\r\n"
      "\"Dupont, Jean\";\"12 rue de la Paix\n75002 Paris\";\"dit \"\"bonjour\"\"\"\r\n"
      "Durand;;\r\n"
      ";;\r\n";
  ParsedDocument doc = parse_ok(csv, "contacts.csv", "text/csv; charset=utf-8");
  EXPECT_EQ(show(doc),
            (std::vector<std::string>{
                "table_row: nom: Dupont, Jean | adresse: 12 rue de la Paix 75002 Paris | "
                "commentaire: dit \"bonjour\"",
                "table_row: nom: Durand",
            }));
}

TEST(CsvTest, CommasExtraColumnsAndUnnamedColumns) {
  ParsedDocument doc = parse_ok("a,,c\n1,2,3,4\n\"x;y\",\"\",z", "t.csv", "");
  EXPECT_EQ(show(doc), (std::vector<std::string>{
                           "table_row: a: 1 | column 2: 2 | c: 3 | column 4: 4",
                           "table_row: a: x;y | c: z",
                       }));
}

TEST(CsvTest, AnUnclosedQuoteNamesItsLine) {
  Status s = parse_error("a,b\n1,2\n\"ouvert,3\n4,5\n", "t.csv");
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.message(), "the CSV file has a quoted field opened on line 3 that is never closed");
}

TEST(JsonTest, FlattenedPerTopLevelMember) {
  constexpr const char* json = R"({"service": "Mairie",
    "adresse": {"rue": "1 place de l'Hôtel de Ville", "cp": 75004},
    "horaires": [{"jour": "lundi", "ouvert": true}, {"jour": "dimanche", "ouvert": false}],
    "vide": {}, "note": null, "texte": "deux\nlignes", "prix": 1.5})";
  ParsedDocument doc = parse_ok(json, "mairie.json", "application/json");
  EXPECT_EQ(show(doc), (std::vector<std::string>{
                           "paragraph: service: Mairie",
                           "paragraph: adresse.rue: 1 place de l'Hôtel de Ville\nadresse.cp: 75004",
                           "paragraph: horaires[0].jour: lundi\nhoraires[0].ouvert: "
                           "true\nhoraires[1].jour: dimanche\nhoraires[1].ouvert: false",
                           "paragraph: note: null",
                           "paragraph: texte: deux lignes",
                           "paragraph: prix: 1.5",
                       }));
}

// Labels repeated on every block or row are cut to MAX_LABEL_BYTES at a character boundary,
// with "…": a heading in the path of the blocks under it (its own block keeps it whole), a CSV
// column name, a JSON key.
TEST(Labels, LongRepeatedLabelsAreCut) {
  std::string long_title;
  for (int i = 0; i < 300; ++i)
    long_title += "é";  // 600 bytes: the cut falls between the two bytes of a character
  const std::string cut = std::string(label(long_title));
  EXPECT_LE(cut.size(), MAX_LABEL_BYTES);
  EXPECT_EQ(cut.substr(cut.size() - 3), "\xE2\x80\xA6");
  EXPECT_EQ(cut.substr(0, cut.size() - 3), long_title.substr(0, cut.size() - 3));
  EXPECT_EQ((cut.size() - 3) % 2, 0u) << "whole characters only";
  EXPECT_EQ(label("court"), "court");

  ParsedDocument md = parse_ok("# " + long_title + "\n\n## a\n\ntexte\n", "x.md", "text/markdown");
  ASSERT_EQ(md.blocks.size(), 3u);
  EXPECT_EQ(md.blocks[0].text, long_title) << "the heading's own block is whole";
  EXPECT_EQ(md.blocks[2].heading_path, (std::vector<std::string>{cut, "a"}));

  ParsedDocument csv = parse_ok(long_title + ";b\n1;2\n", "x.csv", "text/csv");
  ASSERT_EQ(csv.blocks.size(), 1u);
  EXPECT_EQ(csv.blocks[0].text, cut + ": 1 | b: 2");

  ParsedDocument json = parse_ok("{\"" + long_title + "\": [1, 2]}", "x.json", "application/json");
  ASSERT_EQ(json.blocks.size(), 1u);
  EXPECT_EQ(json.blocks[0].text, cut + "[0]: 1\n" + cut + "[1]: 2");
}

TEST(JsonTest, FlattenedPerTopLevelElement) {
  ParsedDocument doc = parse_ok(R"([{"a": 1, "b": [2, 3]}, "seul", [[4]]])", "l.json", "");
  EXPECT_EQ(show(doc), (std::vector<std::string>{
                           "paragraph: a: 1\nb[0]: 2\nb[1]: 3",
                           "paragraph: seul",
                           "paragraph: [0][0]: 4",
                       }));
}

TEST(JsonTest, InvalidJsonGivesTheOffset) {
  Status s = parse_error(R"({"a": [1, 2})", "x.json");
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(s.message().starts_with("the JSON file is invalid at byte 11: ")) << s.message();
  s = parse_error(std::string(100, '[') + std::string(100, ']'), "deep.json");
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(s.message().starts_with("the JSON file is invalid at byte 6")) << s.message();
}

}  // namespace
}  // namespace socle::rag
