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
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "store/store.h"

namespace socle::rag {

// Embeddings for a collection's model; the API layer implements it over the model registry.
class Embedder {
 public:
  virtual ~Embedder() = default;
  // One vector per text, in order.
  virtual Result<std::vector<std::vector<float>>> embed(const std::string& model,
                                                        const std::vector<std::string>& texts) = 0;
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
};

struct SearchHit {
  store::Chunk chunk;
  std::string document_name;
  std::string document_metadata;  // JSON object
  double score = 0;
  std::string method;  // "semantic", "lexical" or "hybrid"
};

struct RagOptions {
  int64_t embed_batch = 32;                // texts per embedding request
  int64_t dense_exact_threshold = 20'000;  // vectors; HNSW above
  int64_t max_pages = 2000;
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

  struct Indexes;

 private:
  void run();
  Status ingest(store::Id document_id);
  Result<Indexes*> indexes_for(const store::Collection& collection);

  store::Store& store_;
  std::string data_dir_;
  Embedder& embedder_;
  RagOptions options_;

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
  std::map<store::Id, std::unique_ptr<Indexes>> indexes_;  // guarded by indexes_mu_
};

}  // namespace socle::rag
