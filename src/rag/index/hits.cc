#include "rag/index/hits.h"

#include <algorithm>

namespace socle::rag {

// No reserve: k comes from the request and may be far larger than the hits there are.
TopK::TopK(int64_t k) : k_(std::max<int64_t>(k, 0)) {}

void TopK::push(int64_t id, double score) {
  if (k_ == 0) return;
  Hit hit{id, score};
  // std::*_heap keeps the greatest element on top; with hit_better as "less than", the
  // greatest is the worst hit, the one to evict.
  if (size() < k_) {
    heap_.push_back(hit);
    std::push_heap(heap_.begin(), heap_.end(), hit_better);
    return;
  }
  if (!hit_better(hit, heap_.front())) return;
  std::pop_heap(heap_.begin(), heap_.end(), hit_better);
  heap_.back() = hit;
  std::push_heap(heap_.begin(), heap_.end(), hit_better);
}

std::vector<Hit> TopK::take() {
  std::sort(heap_.begin(), heap_.end(), hit_better);
  std::vector<Hit> out = std::move(heap_);
  heap_.clear();
  return out;
}

}  // namespace socle::rag
