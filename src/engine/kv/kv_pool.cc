#include "engine/kv/kv_pool.h"

#include "base/check.h"

namespace socle::engine {

KvPool::KvPool(int64_t n_layers, int64_t n_blocks, int64_t block_size, int64_t kv_dim)
    : n_layers_(n_layers), n_blocks_(n_blocks), block_size_(block_size), kv_dim_(kv_dim) {
  SOCLE_CHECK(n_layers > 0 && n_blocks >= 0 && block_size > 0 && kv_dim > 0,
              "a pool's shape comes from a loaded model and a validated budget");
  auto floats = static_cast<size_t>(n_layers * n_blocks * block_size * kv_dim);
  k_ = std::make_unique_for_overwrite<float[]>(floats);
  v_ = std::make_unique_for_overwrite<float[]>(floats);
}

int64_t KvPool::bytes_per_block(int64_t n_layers, int64_t block_size, int64_t kv_dim) {
  return 2 * n_layers * block_size * kv_dim * static_cast<int64_t>(sizeof(float));
}

size_t KvPool::offset(int64_t layer, int32_t block) const {
  SOCLE_CHECK(layer >= 0 && layer < n_layers_, "layers index inside the model");
  SOCLE_CHECK(block >= 0 && block < n_blocks_, "block tables are checked against the pool");
  return static_cast<size_t>(((layer * n_blocks_) + block) * block_size_ * kv_dim_);
}

}  // namespace socle::engine
