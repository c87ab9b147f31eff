// The exact dense scan against the memory's bandwidth. An index larger than the last-level
// cache must stream its codes from memory for every query, so the ceiling is the rate at which
// one core reads memory: measured here in the same run, by summing a buffer as large as the
// index (read) and by memcpy (copy), and the scan's GB/s of codes is reported against both.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_collection.h"
#include "bench_vectors.h"
#include "rag/index/dense_index.h"
#include "sections.h"

namespace socle::bench::rag {
namespace {

using socle::rag::DenseIndex;
using socle::rag::DenseOptions;
using socle::rag::DensePrecision;

constexpr int64_t K = 10;
constexpr int64_t ADD_BATCH = 4096;   // rows generated and added at a time
constexpr int BANDWIDTH_REPEATS = 3;  // best of: the first pass may still fault pages in
constexpr uint64_t DATA_SEED = 11;
constexpr uint64_t QUERY_SEED = 12;
// INT8 codes round each value to 1/127 of the vector's largest: scores move by about 1e-3 on
// these vectors, enough to swap neighbours whose scores are that close, so the int8 top 10
// must hold most, not all, of the exact top 10, and each score must be within the codec's
// stated 1e-2 of the exact cosine.
constexpr double INT8_MIN_RECALL = 0.8;
constexpr double INT8_SCORE_TOLERANCE = 1e-2;
constexpr double FLOAT32_SCORE_TOLERANCE = 1e-5;
constexpr double GB = 1e9;

struct Bandwidth {
  double read_gb_s = 0;
  double copy_gb_s = 0;
};

// One core's memory bandwidth over `bytes`: a sum of 64-bit words (read) and memcpy from one
// half of the buffer to the other (copy, counted as the bytes copied).
Bandwidth measure_bandwidth(size_t bytes) {
  size_t words = bytes / sizeof(uint64_t);
  std::vector<uint64_t> buffer(words);
  for (size_t i = 0; i < words; ++i)
    buffer[i] = i;
  Bandwidth best;
  uint64_t sink = 0;
  for (int rep = 0; rep < BANDWIDTH_REPEATS; ++rep) {
    Clock::time_point start = Clock::now();
    // Four sums: independent chains, so that the loads, not one add's latency, set the pace.
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= words; i += 4) {
      s0 += buffer[i];
      s1 += buffer[i + 1];
      s2 += buffer[i + 2];
      s3 += buffer[i + 3];
    }
    for (; i < words; ++i)
      s0 += buffer[i];
    double s = seconds_since(start);
    sink += s0 + s1 + s2 + s3;
    best.read_gb_s = std::max(best.read_gb_s, static_cast<double>(words * 8) / s / GB);
  }
  size_t half = words / 2;
  for (int rep = 0; rep < BANDWIDTH_REPEATS; ++rep) {
    Clock::time_point start = Clock::now();
    std::memcpy(buffer.data() + half, buffer.data(), half * sizeof(uint64_t));
    double s = seconds_since(start);
    sink += buffer[words - 1];
    best.copy_gb_s = std::max(best.copy_gb_s, static_cast<double>(half * 8) / s / GB);
  }
  // The sums must be used, or the compiler may drop the loop.
  if (sink == 1) std::fprintf(stderr, " ");
  return best;
}

Status scan_one(const BenchSizes& sizes, DensePrecision precision, const Bandwidth& bw,
                Report& report) {
  const int64_t dim = sizes.scan_dim;
  const size_t code_bytes = socle::rag::dense_code_bytes(dim, precision);
  const int64_t n = sizes.scan_bytes / static_cast<int64_t>(code_bytes);
  const std::string name = socle::rag::dense_precision_name(precision);

  SOCLE_ASSIGN_OR_RETURN(std::string dir, make_temp_dir("socle-bench-scan-"));
  struct Cleanup {
    std::string dir;
    ~Cleanup() { remove_tree(dir); }
  } cleanup{dir};
  DenseOptions o;
  o.dim = dim;
  o.precision = precision;
  o.exact_max = n;  // the exact scan at any size here
  SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<DenseIndex> index, DenseIndex::open(dir + "/dense", o));
  std::vector<float> batch;
  std::vector<int64_t> ids;
  for (int64_t first = 0; first < n; first += ADD_BATCH) {
    int64_t rows = std::min(ADD_BATCH, n - first);
    batch.resize(static_cast<size_t>(rows * dim));
    ids.resize(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      uniform_row(DATA_SEED, first + r, dim, batch.data() + r * dim);
      ids[static_cast<size_t>(r)] = first + r;
    }
    SOCLE_RETURN_IF_ERROR(index->add(ids, batch));
  }
  if (index->mode() != socle::rag::DenseMode::EXACT || index->size() != n) {
    return internal_error("the " + name + " index is not an exact scan of every vector");
  }

  std::vector<float> queries(static_cast<size_t>(sizes.scan_queries * dim));
  for (int q = 0; q < sizes.scan_queries; ++q)
    uniform_row(QUERY_SEED, q, dim, queries.data() + q * dim);
  std::vector<std::vector<socle::rag::Hit>> found(static_cast<size_t>(sizes.scan_queries));
  SOCLE_RETURN_IF_ERROR(
      index->search({queries.data(), static_cast<size_t>(dim)}, K).status_or_ok());
  Clock::time_point start = Clock::now();
  for (int q = 0; q < sizes.scan_queries; ++q) {
    SOCLE_ASSIGN_OR_RETURN(found[static_cast<size_t>(q)],
                           index->search({queries.data() + q * dim, static_cast<size_t>(dim)}, K));
  }
  double per_query = seconds_since(start) / sizes.scan_queries;
  double gb_s = static_cast<double>(n) * static_cast<double>(code_bytes) / per_query / GB;
  std::string size_note =
      std::to_string(n) + " x " + std::to_string(dim) + ", " +
      std::to_string(static_cast<int64_t>(n) * static_cast<int64_t>(code_bytes) >> 20) + " MiB";
  report.add("scan", name + " exact scan, per query", per_query * 1e3, "ms", size_note);
  char ratio[128];
  std::snprintf(ratio, sizeof ratio, "%.2f x read, %.2f x memcpy", gb_s / bw.read_gb_s,
                gb_s / bw.copy_gb_s);
  report.add("scan", name + " exact scan, codes read", gb_s, "GB/s", ratio);

  // The scalar brute force in double over the same rows, made again from their seeds.
  const int checks = std::min(sizes.scan_checks, sizes.scan_queries);
  std::vector<std::vector<double>> scores(static_cast<size_t>(checks),
                                          std::vector<double>(static_cast<size_t>(n)));
  std::vector<float> row(static_cast<size_t>(dim));
  for (int64_t r = 0; r < n; ++r) {
    uniform_row(DATA_SEED, r, dim, row.data());
    for (int q = 0; q < checks; ++q)
      scores[static_cast<size_t>(q)][static_cast<size_t>(r)] =
          cosine(queries.data() + q * dim, row.data(), dim);
  }
  double recall_sum = 0, worst_score_error = 0;
  for (int q = 0; q < checks; ++q) {
    auto truth = top_k(scores[static_cast<size_t>(q)], K);
    std::vector<int64_t> want, got;
    for (const auto& h : truth)
      want.push_back(h.id);
    for (const auto& h : found[static_cast<size_t>(q)]) {
      got.push_back(h.id);
      double exact = scores[static_cast<size_t>(q)][static_cast<size_t>(h.id)];
      worst_score_error = std::max(worst_score_error, std::abs(h.score - exact));
    }
    recall_sum += recall(got, want);
  }
  double r = recall_sum / checks;
  bool is_float = precision == DensePrecision::FLOAT32;
  char what[256];
  std::snprintf(what, sizeof what,
                "scan %s: top %lld of %d queries against the scalar brute force: recall %.3f "
                "(need %s), worst score error %.2g (limit %.0e)",
                name.c_str(), static_cast<long long>(K), checks, r, is_float ? "1" : "0.8",
                worst_score_error, is_float ? FLOAT32_SCORE_TOLERANCE : INT8_SCORE_TOLERANCE);
  report.check((is_float ? r == 1.0 : r >= INT8_MIN_RECALL) &&
                   worst_score_error <= (is_float ? FLOAT32_SCORE_TOLERANCE : INT8_SCORE_TOLERANCE),
               what);
  return Status::ok();
}

}  // namespace

Status run_scan(const BenchSizes& sizes, Report& report) {
  Bandwidth bw = measure_bandwidth(static_cast<size_t>(sizes.scan_bytes));
  report.add("scan", "memory read (sum of 64-bit words), one core", bw.read_gb_s, "GB/s",
             std::to_string(sizes.scan_bytes >> 20) + " MiB buffer, best of 3");
  report.add("scan", "memory copy (memcpy), one core", bw.copy_gb_s, "GB/s", "bytes copied per s");
  SOCLE_RETURN_IF_ERROR(scan_one(sizes, DensePrecision::FLOAT32, bw, report));
  SOCLE_RETURN_IF_ERROR(scan_one(sizes, DensePrecision::INT8, bw, report));
  return Status::ok();
}

}  // namespace socle::bench::rag
