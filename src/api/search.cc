// POST /v1/search: retrieves chunks from the collections the caller may read, by dense
// (semantic), lexical (BM25) or hybrid (reciprocal-rank fusion) search, in Albert API's shape.
// A collection the caller may not read answers 404 exactly as a missing one.
#include <boost/json/array.hpp>

#include "api/auth.h"
#include "api/embedder.h"
#include "api/errors.h"
#include "api/rag_views.h"
#include "base/json.h"
#include "rag/service.h"

namespace socle::api {

Result<rag::SearchRequest> parse_search(const boost::json::object& body, bool in_chat) {
  rag::SearchRequest r;
  std::optional<std::string> query, method;
  if (!in_chat) {
    SOCLE_RETURN_IF_ERROR(json::get_string(body, "prompt", false, &query));
    if (!query) SOCLE_RETURN_IF_ERROR(json::get_string(body, "query", false, &query));
    if (!query || query->empty()) {
      return invalid_argument("'prompt' (the text to search for) is required", "prompt");
    }
    r.query = *query;
  }
  const boost::json::value* cols = body.if_contains("collections");
  if (cols == nullptr || !cols->is_array() || cols->as_array().empty()) {
    return invalid_argument("'collections' must be a non-empty list of collection ids",
                            "collections");
  }
  for (const auto& c : cols->as_array()) {
    if (!c.is_int64() || c.as_int64() <= 0) {
      return invalid_argument("'collections' must hold collection ids (positive integers)",
                              "collections");
    }
    r.collections.push_back(c.as_int64());
  }
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "method", false, &method));
  if (method) {
    if (*method == "semantic") {
      r.method = rag::SearchMethod::SEMANTIC;
    } else if (*method == "lexical") {
      r.method = rag::SearchMethod::LEXICAL;
    } else if (*method == "hybrid") {
      r.method = rag::SearchMethod::HYBRID;
    } else {
      return invalid_argument("'method' must be \"semantic\", \"lexical\" or \"hybrid\"", "method");
    }
  }
  std::optional<int64_t> k;
  SOCLE_RETURN_IF_ERROR(json::get_int(body, "k", false, &k));
  if (k && (*k < 1 || *k > 100)) return invalid_argument("'k' must be 1 to 100", "k");
  r.k = k.value_or(in_chat ? 5 : 10);
  for (const char* key : {"rrf_k", "rff_k"}) {  // Albert API spells it rff_k
    if (const auto* v = body.if_contains(key)) {
      if (!v->is_number() || v->to_number<double>() < 0) {
        return invalid_argument(std::string("'") + key + "' must be a number >= 0", key);
      }
      r.rrf_k = v->to_number<double>();
    }
  }
  if (const auto* v = body.if_contains("score_threshold")) {
    if (!v->is_number())
      return invalid_argument("'score_threshold' must be a number", "score_threshold");
    r.score_threshold = v->to_number<double>();
  }
  if (const auto* v = body.if_contains("filters")) {
    if (!v->is_object()) {
      return invalid_argument("'filters' must be an object of metadata key: value", "filters");
    }
    for (const auto& [key, val] : v->as_object()) {
      if (val.is_object() || val.is_array()) {
        return invalid_argument("a filter's value must be a string, a number or a boolean",
                                "filters");
      }
      r.metadata.emplace_back(std::string(key), json::dump(val));
    }
  }
  std::optional<std::string> rerank;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "rerank_model", false, &rerank));
  if (rerank) {
    if (rerank->empty()) {
      return invalid_argument("'rerank_model' must name a rerank model of GET /v1/models",
                              "rerank_model");
    }
    r.rerank_model = *rerank;
  }
  return r;
}

namespace {

// A model that failed RAG's call answers 502, as a relayed request whose upstream failed.
http::Response search_error(const Status& st) {
  if (st.error_code() == "upstream_error") {
    return error_response(502, st.message(), "upstream_error");
  }
  return error_response(st);
}

// Parses the request on the I/O thread and runs the search on a RAG thread: a query
// embedding must not hold an I/O thread.
void search(Services& s, const http::Request& req, const tenancy::Principal& p,
            http::ResponderPtr out) {
  auto fail = [&out](const Status& st) { out->send(error_response(st)); };
  if (s.rag == nullptr) return fail(unavailable("RAG is not enabled on this server"));
  Result<boost::json::object> body = json_body(req);
  if (!body.is_ok()) return fail(body.status());
  Status keys = json::check_keys(*body, {"prompt", "query", "collections", "method", "k", "rrf_k",
                                         "rff_k", "score_threshold", "filters", "rerank_model"});
  if (!keys.is_ok()) return fail(keys);
  Result<rag::SearchRequest> r = parse_search(*body, false);
  if (!r.is_ok()) return fail(r.status());
  if (!r->rerank_model.empty()) {
    // Checked here too, so that a bad name is answered before the search is queued.
    Result<providers::Model*> m = find_rerank_model(s.registry, r->rerank_model);
    if (!m.is_ok()) return fail(m.status());
  }
  r->key_id = p.key_id;
  r->request_id = req.request_id;
  s.rag->search_async(store::Actor::user(p.user_id, p.org_id), std::move(r).value(),
                      [out](Result<std::vector<rag::SearchHit>> hits) {
                        if (!hits.is_ok()) {
                          out->send(search_error(hits.status()));
                          return;
                        }
                        out->send(list_response(*hits, search_hit_json));
                      });
}

}  // namespace

void register_search_routes(http::Router& router, Services& s) {
  router.add_async(
      "POST", "/v1/search",
      with_key_async(s, "",
                     [&s](http::Request& req, const tenancy::Principal& p, http::ResponderPtr out) {
                       search(s, req, p, std::move(out));
                     }));
}

}  // namespace socle::api
