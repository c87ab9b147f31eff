#include "bench_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace socle::bench::rag {

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  // Nearest rank: the smallest value with at least q of the values at or below it.
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

void Report::add(const std::string& section, const std::string& what, double value,
                 const std::string& unit, const std::string& note) {
  rows_.push_back({section, what, value, unit, note});
  std::fprintf(stderr, "  %-10s %-44s %12.4g %-10s %s\n", section.c_str(), what.c_str(), value,
               unit.c_str(), note.c_str());
}

bool Report::check(bool ok, const std::string& what) {
  checks_.push_back(std::string(ok ? "ok      " : "FAILED  ") + what);
  std::fprintf(stderr, "  check %s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failed_;
  return ok;
}

void Report::print() const {
  std::printf("\n%-10s %-44s %12s %-10s %s\n", "section", "measure", "value", "unit", "note");
  for (const Row& r : rows_) {
    std::printf("%-10s %-44s %12.4g %-10s %s\n", r.section.c_str(), r.what.c_str(), r.value,
                r.unit.c_str(), r.note.c_str());
  }
  std::printf("\nchecks:\n");
  for (const auto& c : checks_)
    std::printf("  %s\n", c.c_str());
  std::printf("%s\n", failed_ == 0 ? "all checks passed"
                                   : (std::to_string(failed_) + " check(s) FAILED").c_str());
}

}  // namespace socle::bench::rag
