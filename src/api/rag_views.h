// The JSON shapes of RAG objects (collections, documents, chunks, search hits), shared by
// the collection, document, search and chat routes; and the search request as both
// POST /v1/search and the chat completions' `search` field read it.
#pragma once

#include <boost/json/object.hpp>

#include "base/status.h"
#include "providers/registry.h"
#include "rag/service.h"
#include "store/records.h"

namespace socle::api {

// With "chunk_unit": "tokens" when the embedding model has a tokenizer in `registry`, else
// "characters" (and, for a model without one, "chunk_unit_note" saying so).
boost::json::object collection_json(const store::Collection& c,
                                    const providers::Registry& registry);
boost::json::object document_json(const store::Document& d);
boost::json::object chunk_json(const store::Chunk& c);
// {"object": "search.result", "method", "score", "retrieval_score", "rerank_score" (when
// reranked), "chunk": {...chunk_json, "document_name", "metadata"}}
boost::json::object search_hit_json(const rag::SearchHit& h);

// Reads collections, method, k, rrf_k (or Albert's rff_k), score_threshold, filters and
// rerank_model (not in chat); and
// the query from "prompt" (or "query") unless `in_chat` (the chat's last user message is it).
Result<rag::SearchRequest> parse_search(const boost::json::object& body, bool in_chat);

}  // namespace socle::api
