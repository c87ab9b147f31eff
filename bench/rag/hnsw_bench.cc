// socle's HNSW (DenseIndex in HNSW form: hnswlib's graph code over socle's codec and
// run-time-dispatched distance) against hnswlib alone (its own InnerProductSpace), on the
// same clustered vectors, with the same M, ef_construction and level seed, both built on one
// thread. Each is searched with ef rising until recall@10 against the exact answer reaches the
// target; queries/s are compared at that point, where both give the same quality.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench_collection.h"
#include "bench_vectors.h"
#include "hnswlib_baseline.h"
#include "rag/index/dense_index.h"
#include "sections.h"

namespace socle::bench::rag {
namespace {

using socle::rag::DenseIndex;
using socle::rag::DenseOptions;

constexpr int64_t K = 10;
constexpr uint64_t SHAPE_SEED = 21;
constexpr uint64_t DATA_SEED = 22;
constexpr uint64_t QUERY_SEED = 23;
constexpr int64_t VECTORS_PER_CLUSTER = 100;
constexpr int TRUTH_CHECKS = 10;  // exact answers checked against the double brute force
constexpr int WARM_QUERIES = 20;
// Passes over the queries at the chosen ef; the fastest counts (the least disturbed by other
// work on the machine). The sweep, which only looks for the recall, makes one.
constexpr int PASSES = 3;
// ef doubles from k: the first step that reaches the target is within 2x of the smallest.
const std::vector<int64_t> EF_STEPS = {10, 20, 40, 80, 160, 320, 640, 1280, 2560};

struct Point {
  int64_t ef = 0;
  double recall = 0;
  double qps = 0;
};

// Runs the queries through `search` (query index -> ids), after a few unmeasured ones,
// `passes` times; the fastest pass gives queries/s.
template <typename Search>
Point measure(int64_t ef, int queries, const std::vector<std::vector<int64_t>>& truth, int passes,
              Search search) {
  for (int q = 0; q < std::min(WARM_QUERIES, queries); ++q)
    (void)search(q);
  std::vector<std::vector<int64_t>> got(static_cast<size_t>(queries));
  double s = 0;
  for (int pass = 0; pass < passes; ++pass) {
    Clock::time_point start = Clock::now();
    for (int q = 0; q < queries; ++q)
      got[static_cast<size_t>(q)] = search(q);
    double t = seconds_since(start);
    s = pass == 0 ? t : std::min(s, t);
  }
  double sum = 0;
  for (int q = 0; q < queries; ++q)
    sum += recall(got[static_cast<size_t>(q)], truth[static_cast<size_t>(q)]);
  return {ef, sum / queries, queries / s};
}

DenseOptions hnsw_options(int64_t dim, int64_t ef) {
  DenseOptions o;
  o.dim = dim;
  o.exact_max = 0;  // HNSW at any size
  o.hnsw.ef_search = ef;
  return o;
}

}  // namespace

Status run_hnsw(const BenchSizes& sizes, Report& report) {
  const int64_t n = sizes.hnsw_vectors, dim = sizes.hnsw_dim;
  const int nq = sizes.hnsw_queries;
  const int64_t clusters = std::max<int64_t>(1, n / VECTORS_PER_CLUSTER);
  std::vector<float> data = clustered_vectors(n, dim, clusters, SHAPE_SEED, DATA_SEED);
  std::vector<float> queries = clustered_vectors(nq, dim, clusters, SHAPE_SEED, QUERY_SEED);
  std::vector<int64_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    ids[static_cast<size_t>(i)] = i;
  auto query = [&](int q) {
    return std::span<const float>(queries.data() + q * dim, static_cast<size_t>(dim));
  };

  SOCLE_ASSIGN_OR_RETURN(std::string dir, make_temp_dir("socle-bench-hnsw-"));
  struct Cleanup {
    std::string dir;
    ~Cleanup() { remove_tree(dir); }
  } cleanup{dir};

  // The exact answer: socle's exact scan (checked against the scalar brute force in the scan
  // section), itself checked here on a few queries.
  std::vector<std::vector<int64_t>> truth(static_cast<size_t>(nq));
  {
    DenseOptions o;
    o.dim = dim;
    o.exact_max = n;
    SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<DenseIndex> exact, DenseIndex::open(dir + "/exact", o));
    SOCLE_RETURN_IF_ERROR(exact->add(ids, data));
    for (int q = 0; q < nq; ++q) {
      SOCLE_ASSIGN_OR_RETURN(auto hits, exact->search(query(q), K));
      for (const auto& h : hits)
        truth[static_cast<size_t>(q)].push_back(h.id);
    }
  }
  int exact_matches = 0;
  int checks = std::min(TRUTH_CHECKS, nq);
  for (int q = 0; q < checks; ++q) {
    std::vector<double> scores(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r)
      scores[static_cast<size_t>(r)] = cosine(query(q).data(), data.data() + r * dim, dim);
    std::vector<int64_t> want;
    for (const auto& h : top_k(scores, K))
      want.push_back(h.id);
    exact_matches += recall(truth[static_cast<size_t>(q)], want) == 1.0 ? 1 : 0;
  }
  if (!report.check(exact_matches == checks,
                    "hnsw: the exact scan's top 10 equals the double brute force's on " +
                        std::to_string(exact_matches) + " of " + std::to_string(checks) +
                        " queries")) {
    return Status::ok();
  }

  // socle: build, save, then reopen with each ef (ef_search is an option of the open index).
  socle::rag::HnswParams params;
  Clock::time_point start = Clock::now();
  {
    SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<DenseIndex> index,
                           DenseIndex::open(dir + "/hnsw", hnsw_options(dim, params.ef_search)));
    SOCLE_RETURN_IF_ERROR(index->add(ids, data));
    if (index->mode() != socle::rag::DenseMode::HNSW)
      return internal_error("socle's index is not HNSW");
    double build_s = seconds_since(start);
    report.add("hnsw", "socle build", build_s, "s",
               std::to_string(n) + " x " + std::to_string(dim) + ", M " + std::to_string(params.m) +
                   ", ef_construction " + std::to_string(params.ef_construction));
    SOCLE_RETURN_IF_ERROR(index->save());
  }
  double socle_build_s = seconds_since(start);
  auto socle_search = [&](const DenseIndex& index) {
    return [&index, &query](int q) {
      std::vector<int64_t> out;
      auto hits = index.search(query(q), K);
      if (hits.is_ok()) {
        for (const auto& h : *hits)
          out.push_back(h.id);
      }
      return out;
    };
  };
  std::optional<Point> socle_at;
  for (int64_t ef : EF_STEPS) {
    SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<DenseIndex> index,
                           DenseIndex::open(dir + "/hnsw", hnsw_options(dim, ef)));
    Point p = measure(ef, nq, truth, 1, socle_search(*index));
    std::fprintf(stderr, "  socle   ef %5lld: recall %.4f, %.0f queries/s\n",
                 static_cast<long long>(ef), p.recall, p.qps);
    if (p.recall >= sizes.hnsw_recall) {
      socle_at = measure(ef, nq, truth, PASSES, socle_search(*index));
      break;
    }
  }
  Point socle_default;
  {
    SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<DenseIndex> index,
                           DenseIndex::open(dir + "/hnsw", hnsw_options(dim, params.ef_search)));
    socle_default = measure(params.ef_search, nq, truth, PASSES, socle_search(*index));
  }

  // hnswlib alone, on the same vectors normalised (its inner-product space expects them so).
  std::vector<float> unit = data;
  for (int64_t r = 0; r < n; ++r)
    normalize(unit.data() + r * dim, dim);
  std::vector<float> unit_queries = queries;
  for (int q = 0; q < nq; ++q)
    normalize(unit_queries.data() + q * dim, dim);
  start = Clock::now();
  SOCLE_ASSIGN_OR_RETURN(
      auto alone, HnswlibAlone::build(unit.data(), n, dim, params.m, params.ef_construction));
  double alone_build_s = seconds_since(start);
  report.add("hnsw", std::string("hnswlib alone build (") + HnswlibAlone::simd() + ")",
             alone_build_s, "s",
             "socle build + save / hnswlib: " +
                 std::to_string(socle_build_s / alone_build_s).substr(0, 4));
  std::optional<Point> alone_at;
  for (int64_t ef : EF_STEPS) {
    alone->set_ef(ef);
    auto alone_search = [&](int q) { return alone->search(unit_queries.data() + q * dim, K); };
    Point p = measure(ef, nq, truth, 1, alone_search);
    std::fprintf(stderr, "  hnswlib ef %5lld: recall %.4f, %.0f queries/s\n",
                 static_cast<long long>(ef), p.recall, p.qps);
    if (p.recall >= sizes.hnsw_recall) {
      alone_at = measure(ef, nq, truth, PASSES, alone_search);
      break;
    }
  }

  // Both at the server's ef_search, where the graph walk is long and the distance code counts.
  alone->set_ef(params.ef_search);
  Point alone_default = measure(params.ef_search, nq, truth, PASSES, [&](int q) {
    return alone->search(unit_queries.data() + q * dim, K);
  });

  char target[64];
  std::snprintf(target, sizeof target, "recall@10 >= %.2f", sizes.hnsw_recall);
  report.check(socle_at.has_value(), std::string("hnsw: socle reaches ") + target);
  report.check(alone_at.has_value(), std::string("hnsw: hnswlib alone reaches ") + target);
  auto note = [](const Point& p) {
    char s[96];
    std::snprintf(s, sizeof s, "ef %lld, recall@10 %.3f", static_cast<long long>(p.ef), p.recall);
    return std::string(s);
  };
  if (socle_at)
    report.add("hnsw", "socle queries/s at the target recall", socle_at->qps, "q/s",
               note(*socle_at));
  if (alone_at)
    report.add("hnsw", "hnswlib alone queries/s at the target recall", alone_at->qps, "q/s",
               note(*alone_at));
  if (socle_at && alone_at) {
    report.add("hnsw", "socle / hnswlib alone, queries/s", socle_at->qps / alone_at->qps, "x",
               "each at its own smallest ef reaching the target");
  }
  report.add("hnsw", "socle queries/s at the server's ef_search", socle_default.qps, "q/s",
             note(socle_default));
  report.add("hnsw", "hnswlib alone queries/s at that ef", alone_default.qps, "q/s",
             note(alone_default));
  report.add("hnsw", "socle / hnswlib alone, queries/s at that ef",
             socle_default.qps / alone_default.qps, "x", "the same ef, the same graph parameters");
  return Status::ok();
}

}  // namespace socle::bench::rag
