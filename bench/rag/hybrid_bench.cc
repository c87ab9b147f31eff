// Hybrid search latency at collection scale, through the function that POST /v1/search runs
// (socle::rag::Rag::search: lexical BM25 and dense retrieval, reciprocal-rank fusion, chunks
// fetched from the store with their access check). The collection is built by the service's
// own ingestion: text documents of generated French paragraphs, one chunk each, embedded by
// HashEmbedder. Queries are known-item: a few words of one paragraph, whose chunk should
// come back; the rate at which it does is reported per method, and latency per method.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "bench_collection.h"
#include "french_corpus.h"
#include "rag/chunk/chunker.h"
#include "rag/service.h"
#include "sections.h"

namespace socle::bench::rag {
namespace {

using socle::rag::SearchMethod;

// Paragraphs of 300 to 440 characters: two never fit one 512-character chunk, and one always
// fits with up to 64 characters of overlap from the previous chunk, so each paragraph is
// exactly one chunk.
constexpr int64_t MIN_PARAGRAPH_CHARS = 300;
constexpr int64_t MAX_PARAGRAPH_CHARS = 440;
constexpr int64_t CHUNK_SIZE = 512;
constexpr int QUERY_WORDS = 3;
constexpr size_t MIN_QUERY_WORD_BYTES = 5;  // skip short (often stop) words
constexpr int64_t K = 10;
constexpr int WARM_QUERIES = 20;
// A broken index or fusion finds almost no known item; a working one finds most.
constexpr double MIN_HYBRID_FOUND = 0.5;

struct KnownItem {
  std::string query;
  size_t document = 0;   // index into the generated documents
  size_t paragraph = 0;  // index within it
};

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text) {
    if (c == ' ' || c == '.' || c == '\n') {
      if (!w.empty()) out.push_back(std::move(w));
      w.clear();
    } else {
      w += c;
    }
  }
  if (!w.empty()) out.push_back(std::move(w));
  return out;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

Status run_hybrid(const BenchSizes& sizes, Report& report) {
  SOCLE_ASSIGN_OR_RETURN(FrenchWords words, FrenchWords::load(FRENCH_VOCABULARY, sizes.seed));
  SOCLE_ASSIGN_OR_RETURN(auto col,
                         BenchCollection::create("bench-hash", CHUNK_SIZE, sizes.hybrid_dim));
  std::mt19937_64 rng(sizes.seed + 1);
  std::vector<std::vector<std::string>> docs;
  store::Id first_doc_id = 0;
  for (int64_t made = 0; made < sizes.hybrid_chunks;) {
    int64_t n = std::min(sizes.hybrid_chunks_per_doc, sizes.hybrid_chunks - made);
    std::vector<std::string> paragraphs;
    std::string text;
    for (int64_t i = 0; i < n; ++i) {
      paragraphs.push_back(words.paragraph(rng, MIN_PARAGRAPH_CHARS, MAX_PARAGRAPH_CHARS));
      if (i > 0) text += "\n\n";
      text += paragraphs.back();
    }
    SOCLE_ASSIGN_OR_RETURN(
        store::Id id,
        col->add_document("notes-" + std::to_string(docs.size()) + ".txt", "text/plain", text));
    if (docs.empty()) first_doc_id = id;
    docs.push_back(std::move(paragraphs));
    made += n;
  }
  Clock::time_point start = Clock::now();
  col->ingest_all();
  double ingest_s = seconds_since(start);
  int64_t chunks = 0;
  for (store::Id id : col->documents()) {
    SOCLE_ASSIGN_OR_RETURN(store::Document d, col->store().documents().get(col->actor(), id));
    chunks += d.status == store::DocumentStatus::READY ? d.chunk_count : 0;
  }
  report.add(
      "hybrid", "ingestion with embedding (HashEmbedder)", static_cast<double>(chunks) / ingest_s,
      "chunks/s",
      std::to_string(docs.size()) + " text documents, dim " + std::to_string(sizes.hybrid_dim));
  if (!report.check(chunks == sizes.hybrid_chunks, "hybrid: " + std::to_string(chunks) +
                                                       " chunks ready, one per paragraph (" +
                                                       std::to_string(sizes.hybrid_chunks) + ")")) {
    return Status::ok();
  }
  // The chunks of the first document are its paragraphs, in order (each after its overlap).
  SOCLE_ASSIGN_OR_RETURN(auto stored, col->store().documents().chunks(col->actor(), first_doc_id));
  bool in_order = stored.size() == docs[0].size();
  for (size_t i = 0; in_order && i < stored.size(); ++i)
    in_order = ends_with(stored[i].text, docs[0][i]);
  report.check(in_order, "hybrid: the first document's chunks end with its paragraphs, in order");

  // Known-item queries.
  std::vector<KnownItem> items;
  std::uniform_int_distribution<size_t> pick_doc(0, docs.size() - 1);
  while (static_cast<int>(items.size()) < sizes.hybrid_queries + WARM_QUERIES) {
    KnownItem it;
    it.document = pick_doc(rng);
    it.paragraph = std::uniform_int_distribution<size_t>(0, docs[it.document].size() - 1)(rng);
    std::vector<std::string> candidates;
    for (auto& w : split_words(docs[it.document][it.paragraph])) {
      if (w.size() >= MIN_QUERY_WORD_BYTES) candidates.push_back(std::move(w));
    }
    if (static_cast<int>(candidates.size()) < QUERY_WORDS) continue;
    std::shuffle(candidates.begin(), candidates.end(), rng);
    for (int i = 0; i < QUERY_WORDS; ++i)
      it.query += (i > 0 ? " " : "") + candidates[static_cast<size_t>(i)];
    items.push_back(std::move(it));
  }

  struct Method {
    SearchMethod method;
    const char* name;
  };
  const Method methods[] = {{SearchMethod::LEXICAL, "lexical"},
                            {SearchMethod::SEMANTIC, "semantic"},
                            {SearchMethod::HYBRID, "hybrid"}};
  double hybrid_found = 0;
  int64_t hybrid_short = 0;
  for (const Method& m : methods) {
    std::vector<double> ms;
    int64_t found = 0, short_answers = 0;
    for (size_t q = 0; q < items.size(); ++q) {
      socle::rag::SearchRequest r;
      r.query = items[q].query;
      r.collections = {col->collection_id()};
      r.method = m.method;
      r.k = K;
      Clock::time_point t = Clock::now();
      SOCLE_ASSIGN_OR_RETURN(std::vector<socle::rag::SearchHit> hits, col->search(r));
      double elapsed = seconds_since(t);
      if (q < WARM_QUERIES) continue;
      ms.push_back(elapsed * 1e3);
      short_answers += static_cast<int64_t>(hits.size()) < K ? 1 : 0;
      const std::string& want = docs[items[q].document][items[q].paragraph];
      for (const auto& h : hits) {
        if (h.chunk.document_id == col->documents()[items[q].document] &&
            ends_with(h.chunk.text, want)) {
          ++found;
          break;
        }
      }
    }
    double rate = static_cast<double>(found) / static_cast<double>(ms.size());
    char note[160];
    std::snprintf(note, sizeof note, "p99 %.2f ms, mean %.2f ms; known item in top %lld: %.3f",
                  quantile(ms, 0.99),
                  std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size()),
                  static_cast<long long>(K), rate);
    report.add("hybrid", std::string(m.name) + " search p50", quantile(ms, 0.5), "ms", note);
    report.add("hybrid", std::string(m.name) + " search p99", quantile(ms, 0.99), "ms",
               std::to_string(ms.size()) + " queries of " + std::to_string(QUERY_WORDS) +
                   " words, " + std::to_string(chunks) + " chunks");
    if (m.method == SearchMethod::HYBRID) {
      hybrid_found = rate;
      hybrid_short = short_answers;
    }
  }
  report.check(hybrid_short == 0, "hybrid: every query got " + std::to_string(K) + " hits");
  char what[128];
  std::snprintf(what, sizeof what,
                "hybrid: known item in the top %lld for %.3f of queries (need %.1f)",
                static_cast<long long>(K), hybrid_found, MIN_HYBRID_FOUND);
  report.check(hybrid_found >= MIN_HYBRID_FOUND, what);
  return Status::ok();
}

}  // namespace socle::bench::rag
