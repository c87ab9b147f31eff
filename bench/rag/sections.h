// The four parts of rag_bench, each measuring into a Report and checking its own results:
// ingestion of generated PDFs, the exact dense scan against memory bandwidth, HNSW against
// hnswlib alone at equal recall, and hybrid search latency through the service's search.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "bench_report.h"

namespace socle::bench::rag {

struct BenchSizes {
  uint64_t seed = 1;
  // Ingestion: PDFs of `pages_per_pdf` pages, each page about `page_paragraphs` paragraphs.
  int pdfs = 100;
  int pages_per_pdf = 20;
  int page_paragraphs = 3;
  // Exact scan: the bytes of vector codes per index (float32 and int8 alike), queries timed,
  // queries checked against the scalar brute force.
  int64_t scan_dim = 384;
  int64_t scan_bytes = int64_t{600} << 20;
  int scan_queries = 20;
  int scan_checks = 3;
  // HNSW: clustered vectors, queries, graph parameters (the server's defaults).
  int64_t hnsw_vectors = 100'000;
  int64_t hnsw_dim = 384;
  int hnsw_queries = 1000;
  double hnsw_recall = 0.95;
  // Hybrid: chunks (one per generated paragraph) in documents of `hybrid_chunks_per_doc`,
  // embedding dimension, queries per method.
  int64_t hybrid_chunks = 100'000;
  int64_t hybrid_chunks_per_doc = 5000;
  int64_t hybrid_dim = 384;
  int hybrid_queries = 1000;

  // Small sizes for a smoke run (ctest -L bench): every path and check, in seconds.
  static BenchSizes quick();
};

Status run_ingestion(const BenchSizes& sizes, Report& report);
Status run_scan(const BenchSizes& sizes, Report& report);
Status run_hnsw(const BenchSizes& sizes, Report& report);
Status run_hybrid(const BenchSizes& sizes, Report& report);

}  // namespace socle::bench::rag
