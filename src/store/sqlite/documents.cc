// Documents and chunks: each read goes through its collection's access check; ingestion
// progress and chunks are data, written without moving the change counter.
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <map>

#include "base/json.h"
#include "store/sqlite/stores.h"

namespace socle::store::sqlite {
namespace {

constexpr const char* DOCUMENT_COLUMNS =
    "id, collection_id, owner_id, name, content_type, bytes, sha256, metadata, status, error, "
    "page_count, pages_without_text, chunk_count, created_at, updated_at";
constexpr const char* CHUNK_COLUMNS =
    "id, document_id, collection_id, seq, text, page_start, page_end, heading_path";

constexpr std::string_view STATUS_NAMES[] = {"queued", "parsing", "embedding", "ready", "failed"};

std::string_view status_name(DocumentStatus s) {
  return STATUS_NAMES[static_cast<int>(s)];
}

DocumentStatus parse_status(const std::string& s) {
  for (size_t i = 0; i < std::size(STATUS_NAMES); ++i) {
    if (STATUS_NAMES[i] == s) return static_cast<DocumentStatus>(i);
  }
  return DocumentStatus::FAILED;
}

std::string int_list_json(const std::vector<int>& v) {
  boost::json::array a;
  for (int x : v)
    a.emplace_back(x);
  return boost::json::serialize(a);
}

std::string string_list_json(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& x : v)
    a.emplace_back(x);
  return boost::json::serialize(a);
}

Document read_document(const Stmt& s) {
  Document d;
  d.id = s.column_int(0);
  d.collection_id = s.column_int(1);
  d.owner_id = s.column_int(2);
  d.name = s.column_text(3);
  d.content_type = s.column_text(4);
  d.bytes = s.column_int(5);
  d.sha256 = s.column_text(6);
  d.metadata = s.column_text(7);
  d.status = parse_status(s.column_text(8));
  d.error = s.column_text(9);
  d.page_count = s.column_int(10);
  if (auto v = json::parse(s.column_text(11)); v.is_ok() && v->is_array()) {
    for (const auto& p : v->as_array()) {
      if (p.is_int64()) d.pages_without_text.push_back(static_cast<int>(p.as_int64()));
    }
  }
  d.chunk_count = s.column_int(12);
  d.created_at = s.column_int(13);
  d.updated_at = s.column_int(14);
  return d;
}

Chunk read_chunk(const Stmt& s) {
  Chunk c;
  c.id = s.column_int(0);
  c.document_id = s.column_int(1);
  c.collection_id = s.column_int(2);
  c.seq = s.column_int(3);
  c.text = s.column_text(4);
  c.page_start = s.column_int(5);
  c.page_end = s.column_int(6);
  if (auto v = json::parse(s.column_text(7)); v.is_ok() && v->is_array()) {
    for (const auto& h : v->as_array()) {
      if (h.is_string()) c.heading_path.emplace_back(h.as_string());
    }
  }
  return c;
}

// Every row `s` gives, read by `read`, appended to `out`.
template <typename T>
Status read_all(Stmt& s, T (*read)(const Stmt&), std::vector<T>& out) {
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) return Status::ok();
    out.push_back(read(s));
  }
}

// The document row whatever the actor (callers check access on its collection).
Result<Document> read_document_row(Connection& c, Id id) {
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c.db.prepare(std::string("SELECT ") + DOCUMENT_COLUMNS +
                                              " FROM documents WHERE id = ?"));
  s.bind(1, id);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found("no document " + std::to_string(id));
  return read_document(s);
}

// The document if the actor may read it (NOT_FOUND otherwise), with the actor's access.
Result<Document> readable_document(Connection& c, const Actor& actor, Id id,
                                   CollectionAccess* access = nullptr) {
  SOCLE_ASSIGN_OR_RETURN(Document d, read_document_row(c, id));
  SOCLE_ASSIGN_OR_RETURN(CollectionAccess a, collection_access(c, actor, d.collection_id));
  if (a == CollectionAccess::NONE) return not_found("no document " + std::to_string(id));
  if (access != nullptr) *access = a;
  return d;
}

bool writes(CollectionAccess a) {
  return a == CollectionAccess::WRITE || a == CollectionAccess::OWNER;
}

Status need_system(const Actor& actor) {
  if (actor.all_tenants && actor.user_id == 0) return Status::ok();
  return {StatusCode::PERMISSION_DENIED, "only the server's ingestion changes a document's state"};
}

}  // namespace

Result<Document> SqliteDocumentStore::create(const Actor& actor, const Document& in) {
  Document d = in;
  d.owner_id = actor.user_id;
  d.status = DocumentStatus::QUEUED;
  d.created_at = d.updated_at = c_.clock.unix_seconds();
  if (d.metadata.empty()) d.metadata = "{}";
  SOCLE_RETURN_IF_ERROR(write_data_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(CollectionAccess a, collection_access(c_, actor, d.collection_id));
    if (a == CollectionAccess::NONE) {
      return not_found("no collection " + std::to_string(d.collection_id));
    }
    if (!writes(a)) {
      return Status{StatusCode::PERMISSION_DENIED,
                    "collection " + std::to_string(d.collection_id) + " is read-only to you"};
    }
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st, c_.db.prepare("INSERT INTO documents (collection_id, owner_id, name, "
                               "content_type, bytes, sha256, metadata, status, created_at, "
                               "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, d.collection_id)
                              .bind(2, d.owner_id)
                              .bind(3, std::string_view(d.name))
                              .bind(4, std::string_view(d.content_type))
                              .bind(5, d.bytes)
                              .bind(6, std::string_view(d.sha256))
                              .bind(7, std::string_view(d.metadata))
                              .bind(8, d.created_at)
                              .bind(9, d.updated_at)
                              .run());
    d.id = c_.db.last_insert_id();
    return Status::ok();
  }));
  return d;
}

Result<Document> SqliteDocumentStore::get(const Actor& actor, Id id) {
  std::lock_guard lock(c_.mu);
  return readable_document(c_, actor, id);
}

Result<std::vector<Document>> SqliteDocumentStore::list(const Actor& actor, Id collection_id,
                                                        Id after_id, int64_t limit) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(CollectionAccess a, collection_access(c_, actor, collection_id));
  if (a == CollectionAccess::NONE)
    return not_found("no collection " + std::to_string(collection_id));
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + DOCUMENT_COLUMNS +
                                               " FROM documents WHERE collection_id = ? AND id > "
                                               "? ORDER BY id LIMIT ?"));
  s.bind(1, collection_id).bind(2, after_id).bind(3, limit);
  std::vector<Document> out;
  SOCLE_RETURN_IF_ERROR(read_all(s, read_document, out));
  return out;
}

Status SqliteDocumentStore::remove(const Actor& actor, Id id) {
  return write_data_in_savepoint(c_, [&]() -> Status {
    CollectionAccess a = CollectionAccess::NONE;
    SOCLE_RETURN_IF_ERROR(readable_document(c_, actor, id, &a).status_or_ok());
    if (!writes(a)) {
      return Status{StatusCode::PERMISSION_DENIED,
                    "this document's collection is read-only to you"};
    }
    SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare("DELETE FROM documents WHERE id = ?"));
    return st.bind(1, id).run();
  });
}

Status SqliteDocumentStore::set_status(const Actor& actor, const Document& d) {
  SOCLE_RETURN_IF_ERROR(need_system(actor));
  return write_data_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st, c_.db.prepare("UPDATE documents SET status = ?, error = ?, page_count = ?, "
                               "pages_without_text = ?, chunk_count = ?, updated_at = ? WHERE id "
                               "= ?"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, status_name(d.status))
                              .bind(2, std::string_view(d.error))
                              .bind(3, d.page_count)
                              .bind(4, std::string_view(int_list_json(d.pages_without_text)))
                              .bind(5, d.chunk_count)
                              .bind(6, c_.clock.unix_seconds())
                              .bind(7, d.id)
                              .run());
    if (c_.db.changes() == 0) return not_found("no document " + std::to_string(d.id));
    return Status::ok();
  });
}

Result<std::vector<Chunk>> SqliteDocumentStore::put_chunks(const Actor& actor, Id document_id,
                                                           const std::vector<Chunk>& chunks) {
  SOCLE_RETURN_IF_ERROR(need_system(actor));
  std::vector<Chunk> out;
  SOCLE_RETURN_IF_ERROR(write_data_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(Document d, read_document_row(c_, document_id));
    SOCLE_ASSIGN_OR_RETURN(Stmt del, c_.db.prepare("DELETE FROM chunks WHERE document_id = ?"));
    SOCLE_RETURN_IF_ERROR(del.bind(1, document_id).run());
    for (size_t i = 0; i < chunks.size(); ++i) {
      Chunk c = chunks[i];
      c.document_id = document_id;
      c.collection_id = d.collection_id;
      c.seq = static_cast<int64_t>(i);
      SOCLE_ASSIGN_OR_RETURN(
          Stmt st, c_.db.prepare("INSERT INTO chunks (document_id, collection_id, seq, text, "
                                 "page_start, page_end, heading_path) VALUES (?, ?, ?, ?, ?, ?, "
                                 "?)"));
      SOCLE_RETURN_IF_ERROR(st.bind(1, c.document_id)
                                .bind(2, c.collection_id)
                                .bind(3, c.seq)
                                .bind(4, std::string_view(c.text))
                                .bind(5, c.page_start)
                                .bind(6, c.page_end)
                                .bind(7, std::string_view(string_list_json(c.heading_path)))
                                .run());
      c.id = c_.db.last_insert_id();
      out.push_back(std::move(c));
    }
    return Status::ok();
  }));
  return out;
}

Result<std::vector<Chunk>> SqliteDocumentStore::chunks(const Actor& actor, Id document_id) {
  std::lock_guard lock(c_.mu);
  SOCLE_RETURN_IF_ERROR(readable_document(c_, actor, document_id).status_or_ok());
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + CHUNK_COLUMNS +
                                               " FROM chunks WHERE document_id = ? ORDER BY seq"));
  s.bind(1, document_id);
  std::vector<Chunk> out;
  SOCLE_RETURN_IF_ERROR(read_all(s, read_chunk, out));
  return out;
}

Result<std::vector<Chunk>> SqliteDocumentStore::chunks_by_id(const Actor& actor,
                                                             const std::vector<Id>& ids) {
  std::lock_guard lock(c_.mu);
  std::vector<Chunk> out;
  std::map<Id, CollectionAccess> seen;
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c_.db.prepare(std::string("SELECT ") + CHUNK_COLUMNS + " FROM chunks WHERE id = ?"));
  for (Id id : ids) {
    s.reset();
    s.bind(1, id);
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) continue;
    Chunk c = read_chunk(s);
    auto it = seen.find(c.collection_id);
    if (it == seen.end()) {
      SOCLE_ASSIGN_OR_RETURN(CollectionAccess a, collection_access(c_, actor, c.collection_id));
      it = seen.emplace(c.collection_id, a).first;
    }
    if (it->second != CollectionAccess::NONE) out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<Document>> SqliteDocumentStore::with_status(
    const Actor& actor, const std::vector<DocumentStatus>& states) {
  SOCLE_RETURN_IF_ERROR(need_system(actor));
  std::lock_guard lock(c_.mu);
  std::vector<Document> out;
  for (DocumentStatus st : states) {
    SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + DOCUMENT_COLUMNS +
                                                 " FROM documents WHERE status = ? ORDER BY id"));
    s.bind(1, status_name(st));
    SOCLE_RETURN_IF_ERROR(read_all(s, read_document, out));
  }
  std::sort(out.begin(), out.end(),
            [](const Document& a, const Document& b) { return a.id < b.id; });
  return out;
}

Result<std::vector<Document>> SqliteDocumentStore::owned_by(const Actor& actor, Id user_id) {
  SOCLE_RETURN_IF_ERROR(need_system(actor));
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(Stmt s, c_.db.prepare(std::string("SELECT ") + DOCUMENT_COLUMNS +
                                               " FROM documents WHERE owner_id = ? ORDER BY id"));
  s.bind(1, user_id);
  std::vector<Document> out;
  SOCLE_RETURN_IF_ERROR(read_all(s, read_document, out));
  return out;
}

}  // namespace socle::store::sqlite
