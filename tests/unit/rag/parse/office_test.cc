// DOCX and ODT packages zipped by Info-ZIP from XML written here.
#include <gtest/gtest.h>

#include "unit/rag/parse/fixtures.h"

namespace socle::rag {
namespace {

using testing::show;
using testing::TempDir;
using testing::zip_package;

constexpr const char* DOCX_CONTENT_TYPES =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>)";

constexpr const char* DOCX_RELS = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>)";

// French Word's style ids (Titre1, Titre2, ListeApuces, TM1) with their built-in English names.
constexpr const char* DOCX_STYLES = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="Titre1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="Titre2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="Titre"><w:name w:val="Title"/></w:style>
<w:style w:type="paragraph" w:styleId="ListeApuces"><w:name w:val="List Bullet"/>
  <w:pPr><w:numPr><w:numId w:val="2"/></w:numPr></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="TM1"><w:name w:val="toc 1"/></w:style>
<w:style w:type="character" w:styleId="Titre1Car"><w:name w:val="Titre 1 Car"/></w:style>
</w:styles>)";

constexpr const char* DOCX_DOCUMENT = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">
<w:body>
<w:p><w:pPr><w:pStyle w:val="Titre"/></w:pPr><w:r><w:t>Guide de l’usager</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="TM1"/></w:pPr><w:r><w:t>Démarches</w:t></w:r><w:r><w:tab/><w:t>1</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Titre1"/></w:pPr><w:r><w:t>Démarches</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">Pour obtenir </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>une carte</w:t></w:r><w:r><w:t xml:space="preserve"> </w:t></w:r><w:r><w:t>d’identité,</w:t></w:r><w:r><w:tab/><w:t>prenez</w:t></w:r><w:r><w:br/><w:t>rendez</w:t></w:r><w:r><w:noBreakHyphen/><w:t>vous.</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Titre2"/></w:pPr><w:r><w:t>Pièces à fournir</w:t></w:r></w:p>
<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>Justificatif de domicile</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="ListeApuces"/></w:pPr><w:hyperlink><w:r><w:t>Photo d’identité</w:t></w:r></w:hyperlink></w:p>
<w:p><w:pPr><w:pStyle w:val="ListeApuces"/><w:numPr><w:numId w:val="0"/></w:numPr></w:pPr><w:r><w:t>Pas une liste</w:t></w:r></w:p>
<w:p><w:r><w:t>Texte gardé</w:t></w:r><w:del><w:r><w:delText> supprimé</w:delText></w:r></w:del><w:ins><w:r><w:t xml:space="preserve"> et inséré</w:t></w:r></w:ins></w:p>
<w:tbl><w:tblPr/>
<w:tr><w:tc><w:p><w:r><w:t>Pièce</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Délai</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>Passeport</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>3 semaines</w:t></w:r></w:p><w:p><w:r><w:t>environ</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p/></w:tc><w:tc><w:p/></w:tc></w:tr>
<w:tr><w:tc><w:p/></w:tc><w:tc><w:p><w:r><w:t>sans pièce</w:t></w:r></w:p></w:tc></w:tr>
</w:tbl>
<w:p><w:pPr><w:outlineLvl w:val="0"/></w:pPr><w:r><w:t>Annexe</w:t></w:r></w:p>
<w:p><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:t>Zone de texte</w:t></mc:Choice><mc:Fallback><w:t>Zone de texte</w:t></mc:Fallback></mc:AlternateContent></w:r></w:p>
<w:sdt><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>Dans un contrôle de contenu</w:t></w:r></w:p></w:sdtContent></w:sdt>
<w:p/>
<w:sectPr/>
</w:body>
</w:document>)";

constexpr const char* DOCX_CORE = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
    xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Guide  de l’usager (2024)</dc:title></cp:coreProperties>)";

const std::vector<std::string> DOCX_BLOCKS = {
    "paragraph: Guide de l’usager",
    "heading1: Démarches",
    "paragraph: Pour obtenir une carte d’identité, prenez rendez-vous.  @ Démarches",
    "heading2: Pièces à fournir  @ Démarches",
    "list_item: Justificatif de domicile  @ Démarches > Pièces à fournir",
    "list_item: Photo d’identité  @ Démarches > Pièces à fournir",
    "paragraph: Pas une liste  @ Démarches > Pièces à fournir",
    "paragraph: Texte gardé et inséré  @ Démarches > Pièces à fournir",
    "table_row: Pièce | Délai  @ Démarches > Pièces à fournir",
    "table_row: Passeport | 3 semaines environ  @ Démarches > Pièces à fournir",
    "table_row: | sans pièce  @ Démarches > Pièces à fournir",
    "heading1: Annexe",
    "paragraph: Zone de texte  @ Annexe",
    "paragraph: Dans un contrôle de contenu  @ Annexe",
};

TEST(DocxTest, HeadingsListsTablesAndTitle) {
  TempDir dir;
  std::string docx = zip_package(dir, {{"[Content_Types].xml", DOCX_CONTENT_TYPES},
                                       {"_rels/.rels", DOCX_RELS},
                                       {"word/document.xml", DOCX_DOCUMENT},
                                       {"word/styles.xml", DOCX_STYLES},
                                       {"docProps/core.xml", DOCX_CORE}});
  ParsedDocument doc =
      testing::parse_ok(docx, "guide.docx",
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  EXPECT_EQ(show(doc), DOCX_BLOCKS);
  EXPECT_EQ(doc.title, "Guide de l’usager (2024)");
  EXPECT_EQ(doc.page_count, 0);
  EXPECT_TRUE(doc.pages_without_text.empty());
}

TEST(DocxTest, WithoutStylesTheBuiltInStyleIdsStillMakeHeadings) {
  // No styles part and no core properties: English and French built-in ids, the Title
  // paragraph as the title.
  constexpr const char* document = R"(<?xml version="1.0" encoding="UTF-8"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>Note de service</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Objet</w:t></w:r></w:p>
<w:p><w:r><w:t>Texte.</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Titre3"/></w:pPr><w:r><w:t>Détail</w:t></w:r></w:p>
<w:p><w:r><w:t>Plus.</w:t></w:r></w:p>
</w:body></w:document>)";
  TempDir dir;
  std::string docx = zip_package(
      dir, {{"[Content_Types].xml", DOCX_CONTENT_TYPES}, {"word/document.xml", document}});
  // Declared generically: the package's content decides.
  ParsedDocument doc = testing::parse_ok(docx, "note", "application/octet-stream");
  EXPECT_EQ(show(doc), (std::vector<std::string>{
                           "paragraph: Note de service",
                           "heading1: Objet",
                           "paragraph: Texte.  @ Objet",
                           "heading3: Détail  @ Objet",
                           "paragraph: Plus.  @ Objet > Détail",
                       }));
  EXPECT_EQ(doc.title, "Note de service");
}

TEST(DocxTest, BrokenPackagesSayWhatIsWrong) {
  TempDir dir;
  std::string bad_xml =
      zip_package(dir, {{"[Content_Types].xml", DOCX_CONTENT_TYPES},
                        {"word/document.xml", "<w:document xmlns:w=\"x\"><w:body><w:p></w:body>"}});
  Result<ParsedDocument> r = parse_document(bad_xml, "a.docx", "", ParseLimits{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r.status().message(),
            "word/document.xml in the package is not well-formed XML: Start-end tags mismatch at "
            "byte 39");

  std::string docx = zip_package(
      dir, {{"[Content_Types].xml", DOCX_CONTENT_TYPES}, {"word/document.xml", DOCX_DOCUMENT}});
  // Cut short: the central directory is gone.
  r = parse_document(docx.substr(0, docx.size() / 2), "a.docx", "", ParseLimits{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(r.status().message().starts_with("the file is not a readable ZIP package: "))
      << r.status().message();
  // Flip bytes inside the compressed data: a CRC or inflate error, reported.
  std::string damaged = docx;
  size_t data = damaged.find("word/document.xml") + 40;
  for (size_t i = data; i < data + 64 && i < damaged.size(); ++i)
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5A);
  r = parse_document(damaged, "a.docx", "", ParseLimits{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT) << r.status().to_string();

  std::string encrypted = zip_package(
      dir, {{"[Content_Types].xml", DOCX_CONTENT_TYPES}, {"word/document.xml", DOCX_DOCUMENT}},
      false, "secret");
  r = parse_document(encrypted, "a.docx", "", ParseLimits{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(),
            "word/document.xml in the package is encrypted; remove the password");

  std::string declared_but_not_zip = "<w:document/>";
  r = parse_document(declared_but_not_zip, "a.docx", "", ParseLimits{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "the file 'a.docx' is not a DOCX package: it is not a ZIP file");
}

TEST(DocxTest, AnEntryThatInflatesPastTheLimitIsRefused) {
  TempDir dir;
  std::string big =
      "<w:document xmlns:w=\"x\"><w:body>" + std::string(300000, ' ') + "</w:body></w:document>";
  std::string docx = zip_package(dir, {{"word/document.xml", big}});
  ASSERT_LT(docx.size(), 10000u);  // deflate squeezes the spaces
  ParseLimits limits;
  limits.max_unpacked_bytes = 200000;
  Result<ParsedDocument> r = parse_document(docx, "bomb.docx", "", limits);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::PAYLOAD_TOO_LARGE);
  EXPECT_EQ(r.status().message(),
            "word/document.xml in the package unpacks to more than 200000 bytes "
            "(max_unpacked_bytes)");
  limits.max_unpacked_bytes = 400000;
  EXPECT_TRUE(parse_document(docx, "bomb.docx", "", limits).is_ok());
}

TEST(DocxTest, DeepNestingIsRefusedNotRecursedInto) {
  std::string open, close;
  for (int i = 0; i < 5000; ++i) {
    open += "<w:sdt><w:sdtContent>";
    close += "</w:sdtContent></w:sdt>";
  }
  TempDir dir;
  std::string docx = zip_package(
      dir, {{"word/document.xml",
             "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
             "<w:body>" +
                 open + "<w:p><w:r><w:t>x</w:t></w:r></w:p>" + close + "</w:body></w:document>"}});
  Result<ParsedDocument> r = parse_document(docx, "deep.docx", "", ParseLimits{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(),
            "word/document.xml in the package nests elements deeper than 256 levels");
}

constexpr const char* ODT_MANIFEST = R"(<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>
</manifest:manifest>)";

constexpr const char* ODT_CONTENT = R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.2">
<office:body><office:text>
<text:sequence-decls><text:sequence-decl text:name="Illustration"/></text:sequence-decls>
<text:table-of-content><text:index-body><text:p>Horaires d’ouverture 1</text:p></text:index-body></text:table-of-content>
<text:h text:outline-level="1">Horaires d’ouverture</text:h>
<text:p>La mairie est ouverte<text:s text:c="3"/>du lundi<text:tab/>au vendredi.<text:note text:note-class="footnote"><text:note-citation>1</text:note-citation><text:note-body><text:p>Sauf jours fériés.</text:p></text:note-body></text:note></text:p>
<text:h text:outline-level="2">Été</text:h>
<text:list><text:list-item><text:p>Matin : 9 h – 12 h</text:p></text:list-item><text:list-item><text:p>Après-midi</text:p><text:list><text:list-item><text:p>Mardi : <text:span>14 h</text:span></text:p></text:list-item></text:list></text:list-item></text:list>
<table:table table:name="T"><table:table-column table:number-columns-repeated="2"/>
<table:table-header-rows><table:table-row><table:table-cell><text:p>Jour</text:p></table:table-cell><table:table-cell><text:p>Heures</text:p></table:table-cell></table:table-row></table:table-header-rows>
<table:table-row><table:table-cell><text:p>Samedi</text:p></table:table-cell><table:table-cell><text:p>9 h –</text:p><text:p>12 h</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell/><table:covered-table-cell/></table:table-row>
</table:table>
<text:section text:name="S"><text:h text:outline-level="1">Contact</text:h><text:p>Écrire à <text:a xlink:href="mailto:mairie@exemple.fr">la mairie</text:a>.<text:line-break/>Merci.</text:p></text:section>
<text:h>Sans niveau</text:h>
<text:p><office:annotation><text:p>commentaire</text:p></office:annotation>Fin.</text:p>
</office:text></office:body></office:document-content>)";

constexpr const char* ODT_META = R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.2">
<office:meta><dc:title>Horaires de la mairie</dc:title></office:meta></office:document-meta>)";

TEST(OdtTest, HeadingsListsTablesAndTitle) {
  TempDir dir;
  std::string odt = zip_package(dir,
                                {{"mimetype", "application/vnd.oasis.opendocument.text"},
                                 {"META-INF/manifest.xml", ODT_MANIFEST},
                                 {"content.xml", ODT_CONTENT},
                                 {"meta.xml", ODT_META}},
                                true);
  ParsedDocument doc =
      testing::parse_ok(odt, "horaires.odt", "application/vnd.oasis.opendocument.text");
  EXPECT_EQ(show(doc), (std::vector<std::string>{
                           "heading1: Horaires d’ouverture",
                           "paragraph: La mairie est ouverte du lundi au vendredi.  @ Horaires "
                           "d’ouverture",
                           "heading2: Été  @ Horaires d’ouverture",
                           "list_item: Matin : 9 h – 12 h  @ Horaires d’ouverture > Été",
                           "list_item: Après-midi  @ Horaires d’ouverture > Été",
                           "list_item: Mardi : 14 h  @ Horaires d’ouverture > Été",
                           "table_row: Jour | Heures  @ Horaires d’ouverture > Été",
                           "table_row: Samedi | 9 h – 12 h  @ Horaires d’ouverture > Été",
                           "heading1: Contact",
                           "paragraph: Écrire à la mairie. Merci.  @ Contact",
                           "heading1: Sans niveau",
                           "paragraph: Fin.  @ Sans niveau",
                       }));
  EXPECT_EQ(doc.title, "Horaires de la mairie");
}

TEST(OdtTest, OtherOpenDocumentTypesAreUnsupported) {
  TempDir dir;
  std::string ods = zip_package(
      dir,
      {{"mimetype", "application/vnd.oasis.opendocument.spreadsheet"}, {"content.xml", "<x/>"}},
      true);
  Result<ParsedDocument> r = parse_document(ods, "budget.ods", "", ParseLimits{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
  EXPECT_TRUE(r.status().message().starts_with(
      "the OpenDocument file application/vnd.oasis.opendocument.spreadsheet 'budget.ods' is not "
      "supported: supported are PDF, DOCX, ODT"))
      << r.status().message();
}

TEST(OdtTest, MissingContentIsReported) {
  TempDir dir;
  std::string odt = zip_package(
      dir, {{"mimetype", "application/vnd.oasis.opendocument.text"}, {"meta.xml", ODT_META}}, true);
  Result<ParsedDocument> r = parse_document(odt, "vide.odt", "", ParseLimits{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r.status().message(), "the package has no content.xml");
}

}  // namespace
}  // namespace socle::rag
