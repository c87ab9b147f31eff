// The RAG benchmark (bench/rag/run drives it; results in docs/benchmarks.md):
//   1. ingestion: generated multi-page French PDFs (groff) through the service's worker:
//      pages/s and chunks/s, against parsing alone;
//   2. exact scan: float32 and int8 indexes larger than the cache: GB/s of codes read per
//      query, against one core's memory read and copy bandwidth measured in the same run;
//   3. HNSW: socle's graph against hnswlib alone, queries/s at equal recall@10, build times;
//   4. hybrid: p50 and p99 latency of Rag::search (what POST /v1/search runs) on a 100k-chunk
//      collection, per method.
// Each part checks its results (pages, marker words, brute-force answers, recall, chunks);
// the exit status is 1 when any check fails.
//
//   rag_bench [--quick] [--only ingestion,scan,hnsw,hybrid] [--seed N]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "base/log.h"
#include "engine/kernels/kernel_path.h"
#include "sections.h"

namespace socle::bench::rag {

BenchSizes BenchSizes::quick() {
  BenchSizes s;
  s.pdfs = 3;
  s.pages_per_pdf = 4;
  s.scan_dim = 64;
  s.scan_bytes = int64_t{4} << 20;
  s.scan_queries = 5;
  s.scan_checks = 2;
  s.hnsw_vectors = 3000;
  s.hnsw_dim = 32;
  s.hnsw_queries = 100;
  s.hybrid_chunks = 1500;
  s.hybrid_chunks_per_doc = 500;
  s.hybrid_dim = 64;
  s.hybrid_queries = 100;
  return s;
}

}  // namespace socle::bench::rag

namespace {

const char* const USAGE =
    "usage: rag_bench [--quick] [--only ingestion,scan,hnsw,hybrid] [--seed N]\n"
    "  --quick  small sizes: a smoke run of every path and check\n"
    "  --only   comma-separated parts to run (default: all four)\n"
    "  --seed   seed of the generated text and vectors (default 1)\n";

int usage_error(const std::string& what) {
  std::fprintf(stderr, "rag_bench: %s\n%s", what.c_str(), USAGE);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace socle::bench::rag;  // NOLINT(google-build-using-namespace): main only
  bool quick = false;
  std::string only = "ingestion,scan,hnsw,hybrid";
  uint64_t seed = 1;
  // Three options: parsed here rather than with CLI11, whose inlined string code trips GCC
  // 12's -Wnull-dereference at -O2.
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if ((arg == "--only" || arg == "--seed") && i + 1 < argc) {
      std::string value = argv[++i];
      if (arg == "--only") {
        only = value;
      } else {
        char* end = nullptr;
        seed = std::strtoull(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0')
          return usage_error("--seed takes a number, not '" + value + "'");
      }
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(USAGE, stdout);
      return 0;
    } else {
      return usage_error("unknown or incomplete option '" + arg + "'");
    }
  }
  // The service logs every ingested document at info.
  socle::log::set_level(socle::log::Level::WARN);

  BenchSizes sizes = quick ? BenchSizes::quick() : BenchSizes{};
  sizes.seed = seed;
  std::fprintf(stderr, "rag_bench: %s sizes, kernels %s, %u hardware threads\n",
               quick ? "quick" : "full",
               socle::engine::kernel_path_name(socle::engine::kernel_path_active()),
               std::thread::hardware_concurrency());

  struct Part {
    const char* name;
    socle::Status (*run)(const BenchSizes&, Report&);
  };
  const Part parts[] = {
      {"ingestion", run_ingestion}, {"scan", run_scan}, {"hnsw", run_hnsw}, {"hybrid", run_hybrid}};
  Report report;
  bool any = false;
  for (const Part& p : parts) {
    if (("," + only + ",").find(std::string(",") + p.name + ",") == std::string::npos) continue;
    any = true;
    std::fprintf(stderr, "== %s\n", p.name);
    Clock::time_point start = Clock::now();
    socle::Status s = p.run(sizes, report);
    report.check(s.is_ok(), std::string(p.name) + " ran" + (s.is_ok() ? "" : ": " + s.message()));
    std::fprintf(stderr, "   (%s took %.1f s)\n", p.name, seconds_since(start));
  }
  if (!any) {
    std::fprintf(stderr, "rag_bench: --only names no part (ingestion, scan, hnsw, hybrid): '%s'\n",
                 only.c_str());
    return 2;
  }
  report.print();
  return report.all_passed() ? 0 : 1;
}
