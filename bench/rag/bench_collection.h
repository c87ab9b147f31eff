// A RAG service as the server runs it, for the benchmark: an SQLite store in a temporary data
// directory, one user, and socle::rag::Rag (the ingestion worker and the search that
// POST /v1/search calls) with the server's default options. Documents go in as an upload
// does (row, file, queue); the embedder is HashEmbedder below, since no model is loaded.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "rag/service.h"
#include "store/store.h"

namespace socle::bench::rag {

// A deterministic stand-in for an embedding model: each lowercased word maps to a fixed
// random unit vector (seeded by the word's hash), and a text's vector is the sum of its
// words' vectors. Texts that share words get similar vectors, so dense search finds them, and
// the dense index is as large and as busy as with a real model of that dimension.
class HashEmbedder final : public socle::rag::Embedder {
 public:
  explicit HashEmbedder(int64_t dim) : dim_(dim) {}
  Result<std::vector<std::vector<float>>> embed(const std::string& model,
                                                const std::vector<std::string>& texts) override;
  int64_t dim() const { return dim_; }

 private:
  const std::vector<float>& word_vector(const std::string& word);

  int64_t dim_;
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<float>> cache_;  // guarded by mu_
};

class BenchCollection {
 public:
  // A fresh data directory under TMPDIR (removed by the destructor), the store, a user and one
  // collection with `embedding_model` ("" for lexical only) and chunks of `chunk_size`
  // characters; the Rag service started.
  static Result<std::unique_ptr<BenchCollection>> create(const std::string& embedding_model,
                                                         int64_t chunk_size, int64_t embed_dim);
  ~BenchCollection();
  BenchCollection(const BenchCollection&) = delete;
  BenchCollection& operator=(const BenchCollection&) = delete;

  // Creates the document row and writes its file, as an upload does, without queueing it.
  Result<store::Id> add_document(const std::string& name, const std::string& content_type,
                                 const std::string& bytes);
  // Queues the documents added so far and waits until the worker has ingested them all.
  void ingest_all();

  Result<std::vector<socle::rag::SearchHit>> search(const socle::rag::SearchRequest& request);

  store::Store& store() { return *store_; }
  const store::Actor& actor() const { return actor_; }
  store::Id collection_id() const { return collection_id_; }
  const std::vector<store::Id>& documents() const { return documents_; }
  const std::string& data_dir() const { return data_dir_; }

 private:
  BenchCollection() = default;

  std::string data_dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<HashEmbedder> embedder_;
  std::unique_ptr<socle::rag::Rag> rag_;
  store::Actor actor_;
  store::Id collection_id_ = 0;
  std::vector<store::Id> documents_;
  size_t queued_ = 0;  // documents_ before this index are queued
};

// A fresh directory under TMPDIR; removed with its contents by remove_tree.
Result<std::string> make_temp_dir(const std::string& prefix);
void remove_tree(const std::string& path);

}  // namespace socle::bench::rag
