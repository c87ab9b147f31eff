// What rag_bench measured and checked: rows of a table (one measurement each, with its
// ratio to the baseline measured in the same run, when it has one) and pass/fail checks.
// The process exits non-zero when any check failed.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace socle::bench::rag {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The q-quantile (0 <= q <= 1) of `values` by the nearest-rank method; 0 when empty.
double quantile(std::vector<double> values, double q);

class Report {
 public:
  // A measurement: `section` (ingestion, scan, hnsw, hybrid), what it is, its value and unit,
  // and a note (the ratio to the baseline, the parameters).
  void add(const std::string& section, const std::string& what, double value,
           const std::string& unit, const std::string& note = {});
  // A check; printed at once and in the summary. Returns `ok`.
  bool check(bool ok, const std::string& what);

  bool all_passed() const { return failed_ == 0; }
  // The table, then the checks, on stdout.
  void print() const;

 private:
  struct Row {
    std::string section, what;
    double value = 0;
    std::string unit, note;
  };
  std::vector<Row> rows_;
  std::vector<std::string> checks_;
  int failed_ = 0;
};

}  // namespace socle::bench::rag
