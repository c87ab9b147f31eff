// RAG documents: POST /v1/documents (multipart upload into a collection the caller may
// write), GET /v1/documents?collection=ID, GET/DELETE /v1/documents/{id} and
// GET /v1/documents/{id}/chunks. An upload is stored, then ingested by the RAG worker; its
// status goes queued, parsing, embedding, ready or failed (with the reason).
#include <boost/json/array.hpp>
#include <filesystem>

#include "api/auth.h"
#include "api/params.h"
#include "api/rag_views.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/log.h"
#include "http/multipart.h"
#include "rag/parse/document.h"
#include "rag/paths.h"
#include "rag/service.h"

namespace socle::api {
namespace {

using store::Id;

constexpr const char* STATUS_NAMES[] = {"queued", "parsing", "embedding", "ready", "failed"};
constexpr int64_t MAX_LIST = 1000;

}  // namespace

boost::json::object document_json(const store::Document& d) {
  boost::json::array scans;
  for (int page : d.pages_without_text)
    scans.emplace_back(page);
  boost::json::value metadata = boost::json::object();
  if (auto m = json::parse(d.metadata); m.is_ok()) metadata = std::move(m).value();
  return {{"id", d.id},
          {"object", "document"},
          {"collection_id", d.collection_id},
          {"owner_id", d.owner_id},
          {"name", d.name},
          {"content_type", d.content_type},
          {"bytes", d.bytes},
          {"sha256", d.sha256},
          {"metadata", std::move(metadata)},
          {"status", STATUS_NAMES[static_cast<int>(d.status)]},
          {"error", d.error.empty() ? boost::json::value(nullptr) : boost::json::value(d.error)},
          {"page_count", d.page_count},
          {"pages_without_text", std::move(scans)},
          {"chunks", d.chunk_count},
          {"created_at", d.created_at},
          {"updated_at", d.updated_at}};
}

boost::json::object search_hit_json(const rag::SearchHit& h) {
  boost::json::object chunk = chunk_json(h.chunk);
  chunk["document_name"] = h.document_name;
  boost::json::value metadata = boost::json::object();
  if (auto m = json::parse(h.document_metadata); m.is_ok()) metadata = std::move(m).value();
  chunk["metadata"] = std::move(metadata);
  boost::json::object out{{"object", "search.result"},
                          {"method", h.method},
                          {"score", h.score},
                          {"retrieval_score", h.retrieval_score},
                          {"chunk", std::move(chunk)}};
  if (h.rerank_score) out["rerank_score"] = *h.rerank_score;
  return out;
}

boost::json::object chunk_json(const store::Chunk& c) {
  boost::json::array path;
  for (const auto& h : c.heading_path)
    path.emplace_back(h);
  return {{"id", c.id},
          {"object", "chunk"},
          {"document_id", c.document_id},
          {"collection_id", c.collection_id},
          {"seq", c.seq},
          {"content", c.text},
          {"page_start", c.page_start},
          {"page_end", c.page_end},
          {"heading_path", std::move(path)}};
}

namespace {

Result<http::Response> upload(Services& s, const http::Request& req, const tenancy::Principal& p) {
  if (s.rag == nullptr) return unavailable("RAG is not enabled on this server");
  auto type = req.header("content-type");
  SOCLE_ASSIGN_OR_RETURN(http::MultipartForm form,
                         http::parse_multipart(type ? *type : "", req.body));
  for (const auto& part : form.parts) {
    if (part.name != "file" && part.name != "collection" && part.name != "collection_id" &&
        part.name != "metadata") {
      return invalid_argument(
          "unknown form field '" + part.name + "'; the fields are file, collection and metadata",
          part.name);
    }
  }
  SOCLE_RETURN_IF_ERROR(check_form_fields_unique(form));
  const http::MultipartPart* file = form.find("file");
  const http::MultipartPart* col = form.find("collection");
  if (col != nullptr && form.find("collection_id") != nullptr) {
    return invalid_argument(
        "give the form field 'collection' or its other name 'collection_id', not both",
        "collection_id");
  }
  if (col == nullptr) col = form.find("collection_id");
  if (file == nullptr || file->filename.empty()) {
    return invalid_argument("the form field 'file' (a file) is required", "file");
  }
  if (col == nullptr)
    return invalid_argument("the form field 'collection' is required", "collection");
  SOCLE_ASSIGN_OR_RETURN(int64_t collection_id, int_param(col->data, "collection", 1, INT64_MAX));
  std::string metadata = "{}";
  if (const http::MultipartPart* m = form.find("metadata"); m != nullptr && !m->data.empty()) {
    auto parsed = json::parse(m->data);
    if (!parsed.is_ok() || !parsed->is_object()) {
      return invalid_argument("'metadata' must be a JSON object", "metadata");
    }
    metadata = json::dump(*parsed);
  }
  if (file->data.empty()) return invalid_argument("the file is empty", "file");
  // An unsupported type is refused now, not discovered by the worker.
  SOCLE_RETURN_IF_ERROR(
      rag::detect_document_format(file->data, file->filename, file->content_type).status_or_ok());

  store::Actor a = self(p);
  store::Document d;
  d.collection_id = collection_id;
  d.name = file->filename;
  d.content_type = file->content_type.empty() ? "application/octet-stream" : file->content_type;
  d.bytes = static_cast<int64_t>(file->data.size());
  d.sha256 = to_hex(sha256(file->data));
  d.metadata = metadata;
  SOCLE_ASSIGN_OR_RETURN(store::Document made, s.store.documents().create(a, d));
  // The row exists (queued) before the file: a crash in between fails the document cleanly
  // at the next start ("the uploaded file is missing"), it never reports ready.
  std::string path = rag::document_file(s.config.data_dir, collection_id, made.id);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  Status written = ec ? internal_error("cannot create " + path + ": " + ec.message())
                      : write_file_atomic(path, file->data, 0600);
  // The collection (or the document) may have been deleted since the row was made, its folder
  // removed before the file was written into it, or while it was: then the file goes, and the
  // folders made for it if the collection went (a deletion after this check removes the file
  // itself). Looked up as the server: the uploader losing access meanwhile deletes nothing.
  const store::Actor sys = store::Actor::system();
  if (Result<store::Document> still = s.store.documents().get(sys, made.id);
      !still.is_ok() && still.status().code() == StatusCode::NOT_FOUND) {
    std::filesystem::remove(path, ec);
    Result<store::Collection> collection = s.store.collections().get(sys, collection_id);
    if (collection.is_ok() || collection.status().code() != StatusCode::NOT_FOUND) {
      return Status{StatusCode::NOT_FOUND,
                    "document " + std::to_string(made.id) + " was deleted during its upload"};
    }
    std::filesystem::path files = std::filesystem::path(path).parent_path();
    std::filesystem::remove(files, ec);                // only if empty
    std::filesystem::remove(files.parent_path(), ec);  // the same
    return Status{StatusCode::NOT_FOUND,
                  "collection " + std::to_string(collection_id) + " was deleted during the upload"};
  }
  if (!written.is_ok()) {
    (void)s.store.documents().remove(sys, made.id);  // the uploader may have lost access
    return written;
  }
  s.rag->enqueue(made.id);
  return json_response(201, document_json(made));
}

Result<http::Response> list_documents(Services& s, const http::Request& req,
                                      const tenancy::Principal& p) {
  SOCLE_RETURN_IF_ERROR(check_param_names(req.query, {"collection", "after", "limit"}));
  SOCLE_ASSIGN_OR_RETURN(auto collection, optional_int_param(req, "collection", 1, INT64_MAX));
  if (!collection)
    return invalid_argument("'collection' (a collection id) is required", "collection");
  SOCLE_ASSIGN_OR_RETURN(auto after, optional_int_param(req, "after", 0, INT64_MAX));
  SOCLE_ASSIGN_OR_RETURN(auto limit, optional_int_param(req, "limit", 1, MAX_LIST));
  int64_t n = limit.value_or(100);
  SOCLE_ASSIGN_OR_RETURN(auto docs,
                         s.store.documents().list(self(p), *collection, after.value_or(0), n + 1));
  bool more = static_cast<int64_t>(docs.size()) > n;
  if (more) docs.resize(static_cast<size_t>(n));
  boost::json::array data;
  for (const auto& d : docs)
    data.emplace_back(document_json(d));
  return json_response(
      200, boost::json::object{{"object", "list"}, {"data", std::move(data)}, {"has_more", more}});
}

Result<http::Response> delete_document(Services& s, const http::Request& req,
                                       const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "document"));
  store::Actor a = self(p);
  SOCLE_ASSIGN_OR_RETURN(store::Document d, s.store.documents().get(a, id));
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::Chunk> chunks, s.store.documents().chunks(a, id));
  SOCLE_RETURN_IF_ERROR(s.store.documents().remove(a, id));
  std::vector<Id> chunk_ids;
  chunk_ids.reserve(chunks.size());
  for (const auto& c : chunks)
    chunk_ids.push_back(c.id);
  if (s.rag != nullptr) {
    Status st = s.rag->forget_document(d.collection_id, chunk_ids);
    if (!st.is_ok())
      log::warn("document not removed from indexes", {{"id", id}, {"error", st.message()}});
  }
  std::error_code ec;
  std::filesystem::remove(rag::document_file(s.config.data_dir, d.collection_id, id), ec);
  return json_response(200,
                       boost::json::object{{"id", id}, {"object", "document"}, {"deleted", true}});
}

}  // namespace

void register_document_routes(http::Router& router, Services& s) {
  router.add(
      "POST", "/v1/documents",
      with_key(s, "",
               [&s](http::Request& req, const tenancy::Principal& p) { return upload(s, req, p); }),
      http::RouteOptions{s.config.http_max_upload_bytes});
  router.add("GET", "/v1/documents",
             with_key(s, "", [&s](http::Request& req, const tenancy::Principal& p) {
               return list_documents(s, req, p);
             }));
  router.add(
      "GET", "/v1/documents/{id}",
      with_key(s, "",
               [&s](http::Request& req, const tenancy::Principal& p) -> Result<http::Response> {
                 SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "document"));
                 SOCLE_ASSIGN_OR_RETURN(auto d, s.store.documents().get(self(p), id));
                 return json_response(200, document_json(d));
               }));
  router.add("DELETE", "/v1/documents/{id}",
             with_key(s, "", [&s](http::Request& req, const tenancy::Principal& p) {
               return delete_document(s, req, p);
             }));
  router.add(
      "GET", "/v1/documents/{id}/chunks",
      with_key(s, "",
               [&s](http::Request& req, const tenancy::Principal& p) -> Result<http::Response> {
                 SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "document"));
                 SOCLE_ASSIGN_OR_RETURN(auto chunks, s.store.documents().chunks(self(p), id));
                 return list_response(chunks, chunk_json);
               }));
}

}  // namespace socle::api
