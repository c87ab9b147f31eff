// RAG collections: POST/GET/PATCH/DELETE /v1/collections, in Albert API's shape plus socle's
// group sharing, embedding model and chunking settings. Every route acts as the caller
// itself (no administrator bypass: documents are their owners'); a collection the caller
// may not read answers exactly as a missing one.
#include <boost/json/array.hpp>

#include "api/auth.h"
#include "api/params.h"
#include "api/rag_views.h"
#include "base/file.h"
#include "base/json.h"
#include "base/log.h"
#include "rag/paths.h"
#include "tenancy/audit.h"
#include "tenancy/permissions.h"

namespace socle::api {
namespace {

using store::Id;

constexpr size_t MAX_NAME_CHARS = 200;
constexpr size_t MAX_DESCRIPTION_CHARS = 2000;
constexpr int64_t MIN_CHUNK = 16;
constexpr int64_t MAX_CHUNK = 8192;

}  // namespace

boost::json::object collection_json(const store::Collection& c,
                                    const providers::Registry& registry) {
  boost::json::array shares;
  for (const auto& s : c.shares) {
    shares.push_back(
        boost::json::object{{"group_id", s.group_id},
                            {"access", s.access == store::ShareAccess::WRITE ? "write" : "read"}});
  }
  boost::json::object o{
      {"id", c.id},
      {"object", "collection"},
      {"name", c.name},
      {"description", c.description},
      {"visibility", c.visibility == store::Visibility::PUBLIC ? "public" : "private"},
      {"owner_id", c.owner_id},
      {"embedding_model", nullptr},
      {"chunk_size", c.chunk_size},
      {"chunk_overlap", c.chunk_overlap},
      {"shares", std::move(shares)},
      {"documents", c.documents},
      {"created_at", c.created_at},
      {"updated_at", c.updated_at}};
  // The unit follows the model's configuration now, as the ingestion does (rag::Rag's
  // chunk_measure): documents uploaded after a tokenizer is added are chunked in tokens.
  rag::ChunkUnit unit = rag::ChunkUnit::CHARACTERS;
  if (!c.embedding_model.empty()) {
    o["embedding_model"] = c.embedding_model;
    const providers::Model* m = registry.find(c.embedding_model);
    // A model socle runs has its own tokenizer (RegistryEmbedder::tokenizer_path).
    if (m != nullptr && (!m->spec().tokenizer.empty() || m->spec().local)) {
      unit = rag::ChunkUnit::TOKENS;
    } else {
      o["chunk_unit_note"] = "the embedding model '" + c.embedding_model +
                             "' has no tokenizer in socle.toml: chunk sizes are counted in "
                             "characters";
    }
  }
  o["chunk_unit"] = rag::chunk_unit_name(unit);
  return o;
}

namespace {

Status check_text(const std::optional<std::string>& v, const char* field, size_t min, size_t max) {
  if (v && (v->size() < min || v->size() > max)) {
    return invalid_argument("'" + std::string(field) + "' must be " + std::to_string(min) + " to " +
                                std::to_string(max) + " characters",
                            field);
  }
  return Status::ok();
}

Result<std::optional<store::Visibility>> visibility_field(const boost::json::object& body,
                                                          const tenancy::Principal& p) {
  std::optional<std::string> v;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "visibility", false, &v));
  if (!v) return std::optional<store::Visibility>();
  if (*v == "private") return std::optional<store::Visibility>(store::Visibility::PRIVATE);
  if (*v != "public") {
    return invalid_argument("'visibility' must be \"private\" or \"public\"", "visibility");
  }
  if (!p.has(tenancy::PERM_CREATE_PUBLIC_COLLECTION)) {
    return Status{StatusCode::PERMISSION_DENIED,
                  "a public collection needs the 'create_public_collection' permission"};
  }
  return std::optional<store::Visibility>(store::Visibility::PUBLIC);
}

Result<std::optional<std::vector<store::CollectionShare>>> shares_field(
    const boost::json::object& body) {
  const boost::json::value* v = body.if_contains("shares");
  if (v == nullptr) return std::optional<std::vector<store::CollectionShare>>();
  const char* shape =
      "'shares' must be a list of {\"group_id\": N, \"access\": \"read\"|\"write\"}";
  if (!v->is_array()) return invalid_argument(shape, "shares");
  std::vector<store::CollectionShare> out;
  for (const auto& item : v->as_array()) {
    if (!item.is_object()) return invalid_argument(shape, "shares");
    const auto& o = item.as_object();
    SOCLE_RETURN_IF_ERROR(json::check_keys(o, {"group_id", "access"}));
    std::optional<int64_t> group;
    std::optional<std::string> access;
    SOCLE_RETURN_IF_ERROR(json::get_int(o, "group_id", true, &group));
    SOCLE_RETURN_IF_ERROR(json::get_string(o, "access", false, &access));
    if (access && *access != "read" && *access != "write") return invalid_argument(shape, "shares");
    out.push_back({*group, access && *access == "write" ? store::ShareAccess::WRITE
                                                        : store::ShareAccess::READ});
  }
  return std::optional<std::vector<store::CollectionShare>>(std::move(out));
}

Result<http::Response> create_collection(Services& s, const http::Request& req,
                                         const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(
      json::check_keys(body, {"name", "description", "visibility", "embedding_model", "chunk_size",
                              "chunk_overlap", "shares"}));
  store::Collection c;
  std::optional<std::string> name, description, model;
  std::optional<int64_t> size, overlap;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "name", true, &name));
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "description", false, &description));
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "embedding_model", false, &model));
  SOCLE_RETURN_IF_ERROR(json::get_int(body, "chunk_size", false, &size));
  SOCLE_RETURN_IF_ERROR(json::get_int(body, "chunk_overlap", false, &overlap));
  SOCLE_RETURN_IF_ERROR(check_text(name, "name", 1, MAX_NAME_CHARS));
  SOCLE_RETURN_IF_ERROR(check_text(description, "description", 0, MAX_DESCRIPTION_CHARS));
  SOCLE_ASSIGN_OR_RETURN(auto visibility, visibility_field(body, p));
  SOCLE_ASSIGN_OR_RETURN(auto shares, shares_field(body));
  if (model) {
    const providers::Model* m = s.registry.find(*model);
    if (m == nullptr || m->spec().kind != providers::ModelKind::EMBEDDING) {
      return invalid_argument(
          "'embedding_model' must name an embedding model of GET /v1/models "
          "(or be left out for a lexical-only collection); '" +
              *model + "' is not one",
          "embedding_model");
    }
    c.embedding_model = m->spec().name;
  }
  c.chunk_size = size.value_or(c.chunk_size);
  c.chunk_overlap = overlap.value_or(c.chunk_overlap);
  if (c.chunk_size < MIN_CHUNK || c.chunk_size > MAX_CHUNK) {
    return invalid_argument(
        "'chunk_size' must be " + std::to_string(MIN_CHUNK) + " to " + std::to_string(MAX_CHUNK),
        "chunk_size");
  }
  // The chunker needs room for new text after the overlap: less than half of chunk_size.
  if (c.chunk_overlap < 0 || c.chunk_overlap * 2 >= c.chunk_size) {
    return invalid_argument(
        "'chunk_overlap' must be at least 0 and less than half of chunk_size (" +
            std::to_string(c.chunk_size) + "), got " + std::to_string(c.chunk_overlap),
        "chunk_overlap");
  }
  c.name = *name;
  c.description = description.value_or("");
  c.visibility = visibility.value_or(store::Visibility::PRIVATE);
  if (shares) c.shares = *shares;
  store::Actor a = self(p);
  store::Collection made;
  SOCLE_RETURN_IF_ERROR(s.store.transaction([&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(made, s.store.collections().create(a, c));
    return s.audit
        .append(a, tenancy::audit_event(
                       "collection.create", "collection", made.id,
                       {{"name", made.name},
                        {"visibility", collection_json(made, s.registry).at("visibility")},
                        {"via", "api"}}))
        .status_or_ok();
  }));
  return json_response(201, collection_json(made, s.registry));
}

Result<http::Response> patch_collection(Services& s, const http::Request& req,
                                        const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "collection"));
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(body, {"name", "description", "visibility", "shares"}));
  store::CollectionUpdate u;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "name", false, &u.name));
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "description", false, &u.description));
  SOCLE_RETURN_IF_ERROR(check_text(u.name, "name", 1, MAX_NAME_CHARS));
  SOCLE_RETURN_IF_ERROR(check_text(u.description, "description", 0, MAX_DESCRIPTION_CHARS));
  SOCLE_ASSIGN_OR_RETURN(u.visibility, visibility_field(body, p));
  SOCLE_ASSIGN_OR_RETURN(u.shares, shares_field(body));
  store::Actor a = self(p);
  store::Collection c;
  SOCLE_RETURN_IF_ERROR(s.store.transaction([&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(c, s.store.collections().update(a, id, u));
    boost::json::object details{{"via", "api"}};
    if (u.visibility) details["visibility"] = collection_json(c, s.registry).at("visibility");
    if (u.shares) details["shares"] = collection_json(c, s.registry).at("shares");
    return s.audit.append(a, tenancy::audit_event("collection.update", "collection", id, details))
        .status_or_ok();
  }));
  SOCLE_ASSIGN_OR_RETURN(c, s.store.collections().get(a, id));
  return json_response(200, collection_json(c, s.registry));
}

Result<http::Response> delete_collection(Services& s, const http::Request& req,
                                         const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "collection"));
  store::Actor a = self(p);
  SOCLE_RETURN_IF_ERROR(s.store.transaction([&]() -> Status {
    SOCLE_RETURN_IF_ERROR(s.store.collections().remove(a, id));
    return s.audit
        .append(a, tenancy::audit_event("collection.delete", "collection", id, {{"via", "api"}}))
        .status_or_ok();
  }));
  // The rows are gone: the indexes and files go after them (a crash in between leaves a
  // directory that no row names, removed at the next start).
  if (s.rag != nullptr) s.rag->forget_collection(id);
  if (Status removed = remove_tree(rag::collection_dir(s.config.data_dir, id)); !removed.is_ok())
    log::warn("collection files not removed", {{"id", id}, {"error", removed.message()}});
  return json_response(
      200, boost::json::object{{"id", id}, {"object", "collection"}, {"deleted", true}});
}

}  // namespace

void register_collection_routes(http::Router& router, Services& s) {
  router.add("POST", "/v1/collections",
             with_key(s, "", [&s](http::Request& req, const tenancy::Principal& p) {
               return create_collection(s, req, p);
             }));
  router.add(
      "GET", "/v1/collections",
      with_key(
          s, "", [&s](http::Request& req, const tenancy::Principal& p) -> Result<http::Response> {
            SOCLE_RETURN_IF_ERROR(check_param_names(req.query, {}));
            SOCLE_ASSIGN_OR_RETURN(auto list, s.store.collections().list(self(p)));
            return list_response(
                list, [&s](const store::Collection& c) { return collection_json(c, s.registry); });
          }));
  router.add(
      "GET", "/v1/collections/{id}",
      with_key(s, "",
               [&s](http::Request& req, const tenancy::Principal& p) -> Result<http::Response> {
                 SOCLE_ASSIGN_OR_RETURN(Id id, path_id(req.param("id"), "collection"));
                 SOCLE_ASSIGN_OR_RETURN(auto c, s.store.collections().get(self(p), id));
                 return json_response(200, collection_json(c, s.registry));
               }));
  router.add("PATCH", "/v1/collections/{id}",
             with_key(s, "", [&s](http::Request& req, const tenancy::Principal& p) {
               return patch_collection(s, req, p);
             }));
  router.add("DELETE", "/v1/collections/{id}",
             with_key(s, "", [&s](http::Request& req, const tenancy::Principal& p) {
               return delete_collection(s, req, p);
             }));
}

}  // namespace socle::api
