// The keys and values one sequence has computed so far, per layer: what lets a decoder add
// one token without recomputing its prefix.
#pragma once

#include <cstdint>
#include <vector>

#include "base/check.h"

namespace socle::engine {

class KvCache {
 public:
  // Room for `capacity` positions of `kv_dim` (n_kv_heads * head_dim) values in each of
  // `n_layers` layers, keys and values alike.
  KvCache(int64_t n_layers, int64_t capacity, int64_t kv_dim)
      : n_layers_(n_layers),
        capacity_(capacity),
        kv_dim_(kv_dim),
        k_(static_cast<size_t>(n_layers * capacity * kv_dim)),
        v_(static_cast<size_t>(n_layers * capacity * kv_dim)) {}

  int64_t size() const { return size_; }  // positions filled
  int64_t capacity() const { return capacity_; }
  int64_t kv_dim() const { return kv_dim_; }

  // Layer `layer`'s keys or values: (capacity, kv_dim), rows [0, size) filled.
  float* keys(int64_t layer) { return k_.data() + offset(layer); }
  float* values(int64_t layer) { return v_.data() + offset(layer); }

  // Marks `n` more positions as filled, once every layer has written them.
  void advance(int64_t n) {
    SOCLE_CHECK(size_ + n <= capacity_, "the forward pass checks capacity before writing");
    size_ += n;
  }
  // Forgets positions from `size` on (to rewind a rejected continuation).
  void truncate(int64_t size) {
    SOCLE_CHECK(size >= 0 && size <= size_, "truncate only shortens");
    size_ = size;
  }

 private:
  size_t offset(int64_t layer) const {
    SOCLE_CHECK(layer >= 0 && layer < n_layers_, "layers index inside the model");
    return static_cast<size_t>(layer * capacity_ * kv_dim_);
  }

  int64_t n_layers_;
  int64_t capacity_;
  int64_t kv_dim_;
  int64_t size_ = 0;
  std::vector<float> k_;  // (n_layers, capacity, kv_dim)
  std::vector<float> v_;  // (n_layers, capacity, kv_dim)
};

}  // namespace socle::engine
