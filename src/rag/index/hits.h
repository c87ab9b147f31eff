// Search results shared by the dense and lexical indexes: a hit is a chunk id and its score,
// higher is better; TopK keeps the k best of a stream of hits.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace socle::rag {

struct Hit {
  int64_t id = 0;  // the store's chunk id
  double score = 0;
};

// Says whether a chunk id may appear in the results (the caller's access rules, a document
// subset). Called from the searching thread, possibly many times per search, while the index
// holds its lock: it must not call back into the index.
using IdFilter = std::function<bool(int64_t)>;

// True when `a` ranks before `b`: the higher score, and on equal scores the smaller id, so
// that every ranking is deterministic.
inline bool hit_better(const Hit& a, const Hit& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

// The k best hits pushed so far (a heap whose top is the worst kept hit).
class TopK {
 public:
  explicit TopK(int64_t k);

  void push(int64_t id, double score);
  int64_t size() const { return static_cast<int64_t>(heap_.size()); }
  // The hits best first; leaves the TopK empty.
  std::vector<Hit> take();

 private:
  int64_t k_;
  std::vector<Hit> heap_;
};

}  // namespace socle::rag
