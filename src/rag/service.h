// The RAG service of one server: the ingestion queue (a worker thread that parses, chunks,
// embeds and indexes uploaded documents) and search over the collections a caller may read.
// The store is the truth; the indexes under DATA/collections/<id>/ are derived from it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "rag/chunk/chunker.h"
#include "rag/chunk/token_measure.h"
#include "store/store.h"

namespace socle::rag {

// Whom a model call made by RAG is for, and what it was: the usage record's identity and
// endpoint label ("rag.ingest" for a document's chunks, "rag.search" for a query,
// "rag.rerank" for reranking search candidates).
struct OnBehalf {
  store::Id user_id = 0;
  store::Id org_id = 0;
  store::Id key_id = 0;  // 0: no key (ingestion runs after the upload's request)
  std::string request_id;
  std::string endpoint;
};

// The models RAG calls: embeddings for a collection's model, and a reranker for search. The
// API layer implements it over the model registry.
class Embedder {
 public:
  virtual ~Embedder() = default;
  // One vector per text, in order.
  virtual Result<std::vector<std::vector<float>>> embed(const std::string& model,
                                                        const std::vector<std::string>& texts) = 0;
  // embed(), recorded as usage for `who` where the implementation keeps usage.
  virtual Result<std::vector<std::vector<float>>> embed_on_behalf(
      const OnBehalf& /*who*/, const std::string& model, const std::vector<std::string>& texts) {
    return embed(model, texts);
  }
  // One relevance score per document (higher is more relevant), in the documents' order, from
  // the rerank model `model`; recorded as usage for `who`. INVALID_ARGUMENT (param
  // rerank_model) when `model` is not a rerank model; an upstream failure carries the error
  // code "upstream_error".
  virtual Result<std::vector<double>> rerank(const OnBehalf& /*who*/, const std::string& model,
                                             const std::string& /*query*/,
                                             const std::vector<std::string>& /*documents*/) {
    return invalid_argument("this server has no rerank model for '" + model + "'", "rerank_model");
  }
  // The tokenizer file configured for the embedding model `model`, "" when it has none.
  virtual std::string tokenizer_path(const std::string& /*model*/) const { return ""; }
};

enum class SearchMethod { SEMANTIC, LEXICAL, HYBRID };

struct SearchRequest {
  std::string query;
  std::vector<store::Id> collections;
  SearchMethod method = SearchMethod::HYBRID;
  int64_t k = 10;
  double rrf_k = 60;
  std::optional<double> score_threshold;  // hits scoring below are dropped
  // Metadata filters: each key must equal the document's metadata value (strings, numbers
  // and booleans compared as JSON).
  std::vector<std::pair<std::string, std::string>> metadata;  // key -> JSON-serialised value
  // A rerank model: the first rerank_candidates(k) retrieved chunks are reordered by its
  // scores, and the best k kept. "" for none.
  std::string rerank_model;
  // For the usage records of the query's embedding and the reranking.
  store::Id key_id = 0;
  std::string request_id;
  std::string usage_endpoint = "rag.search";
};

// How many retrieved chunks a rerank model scores: four times k, at least 20 (a small k
// still gives the reranker a choice), at most 200 (each candidate costs the reranker a
// forward pass of query and chunk together).
inline constexpr int64_t MIN_RERANK_CANDIDATES = 20;
inline constexpr int64_t MAX_RERANK_CANDIDATES = 200;
int64_t rerank_candidates(int64_t k);

struct SearchHit {
  store::Chunk chunk;
  std::string document_name;
  std::string document_metadata;       // JSON object
  double score = 0;                    // what the hits are ordered by: rerank_score when reranked
  std::string method;                  // "semantic", "lexical" or "hybrid"
  double retrieval_score = 0;          // the method's score (cosine, BM25 or fused rank)
  std::optional<double> rerank_score;  // the rerank model's, when one was asked for
};

// The unit a collection's chunk_size and chunk_overlap count.
enum class ChunkUnit { CHARACTERS, TOKENS };
const char* chunk_unit_name(ChunkUnit unit);

struct RagOptions {
  int64_t embed_batch = 32;                // texts per embedding request
  int64_t dense_exact_threshold = 20'000;  // vectors; HNSW above
  int64_t max_pages = 2000;
  int64_t max_chunks = 100'000;  // per document: more fails it, with the count
  int64_t max_bytes = int64_t{100} << 20;
  int search_threads = 4;  // searches waiting on embeddings at once
};

class Rag {
 public:
  Rag(store::Store& store, std::string data_dir, Embedder& embedder, RagOptions options);
  ~Rag();
  Rag(const Rag&) = delete;
  Rag& operator=(const Rag&) = delete;

  // Starts the worker and queues the documents a previous run left unfinished.
  Status start();
  // Finishes the document in hand and stops; queued documents stay queued in the store.
  void stop();

  // Queues an uploaded document (its row and file exist).
  void enqueue(store::Id document_id);
  // Blocks until the queue is empty and the worker idle (tests, shutdown).
  void wait_idle();

  // Drops a deleted document's chunks from its collection's indexes.
  Status forget_document(store::Id collection_id, const std::vector<store::Id>& chunk_ids);
  // Closes a deleted collection's indexes (the caller removes the folder).
  void forget_collection(store::Id collection_id);

  // Searches the readable collections among `request.collections`; an unreadable or missing
  // one answers NOT_FOUND, naming it, exactly alike.
  Result<std::vector<SearchHit>> search(const store::Actor& actor, const SearchRequest& request);

  // search() on one of the service's search threads, then `done` there: for the HTTP I/O
  // threads, which must not wait for an embedding model.
  using SearchDone = std::function<void(Result<std::vector<SearchHit>>)>;
  void search_async(const store::Actor& actor, SearchRequest request, SearchDone done);

  // Rebuilds every collection's indexes from the store (`socle index rebuild`).
  Status rebuild_all();

  // What a collection's chunks are measured with: its embedding model's tokenizer when the
  // model has one (loaded once, shared), else characters (lexical-only collections, and
  // models configured without a tokenizer). FAILED_PRECONDITION when the tokenizer file does
  // not load.
  Result<Measure> chunk_measure(const store::Collection& collection);

  struct Indexes;

 private:
  void run();
  Status ingest(store::Id document_id);
  Result<std::shared_ptr<Indexes>> indexes_for(const store::Collection& collection);
  // Drops a collection's indexes from the map (writers in progress finish first); `deleted`:
  // never open them again.
  void close_indexes(store::Id collection_id, bool deleted);

  Result<std::vector<SearchHit>> rerank(const store::Actor& actor, const SearchRequest& request,
                                        std::vector<SearchHit> candidates);

  store::Store& store_;
  std::string data_dir_;
  Embedder& embedder_;
  RagOptions options_;
  TokenizerCache tokenizers_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<store::Id> queue_;  // guarded by mu_
  bool busy_ = false;            // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  std::thread worker_;

  void search_loop();
  std::deque<std::function<void()>> searches_;  // guarded by mu_
  std::condition_variable search_wake_;
  std::vector<std::thread> search_threads_;

  std::mutex indexes_mu_;
  std::map<store::Id, std::shared_ptr<Indexes>> indexes_;  // guarded by indexes_mu_
  std::set<store::Id> forgotten_;  // deleted collections, never opened again; indexes_mu_
};

}  // namespace socle::rag
