// The keys and values one sequence has computed so far, per layer: what lets a decoder add
// one token without recomputing its prefix. It is a KvPool of one block that holds the whole
// sequence, so the batched forward pass serves it with the block table {0}.
#pragma once

#include <algorithm>
#include <cstdint>

#include "base/check.h"
#include "engine/kv/kv_pool.h"

namespace socle::engine {

class KvCache {
 public:
  // Room for `capacity` positions of n_kv_heads * head_dim values in each of `n_layers`
  // layers, keys and values alike.
  KvCache(int64_t n_layers, int64_t capacity, int64_t n_kv_heads, int64_t head_dim)
      : capacity_(capacity),
        pool_(n_layers, 1, std::max<int64_t>(capacity, 1), n_kv_heads, head_dim) {}

  int64_t size() const { return size_; }  // positions filled
  int64_t capacity() const { return capacity_; }
  int64_t kv_dim() const { return pool_.kv_dim(); }

  // The memory: one block (id 0) of `capacity` positions, float32 (KvPool's layout: layer l's
  // keys are pool().keys(l, 0), (n_kv_heads, capacity, head_dim), rows [0, size) filled).
  KvPool& pool() { return pool_; }

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
  int64_t capacity_;
  int64_t size_ = 0;
  KvPool pool_;
};

}  // namespace socle::engine
