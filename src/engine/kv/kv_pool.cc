#include "engine/kv/kv_pool.h"

#include <algorithm>

#include "base/check.h"

namespace socle::engine {

KvPool::KvPool(int64_t n_layers, int64_t n_blocks, int64_t block_size, int64_t n_kv_heads,
               int64_t head_dim)
    : n_layers_(n_layers),
      n_blocks_(n_blocks),
      block_size_(block_size),
      n_kv_heads_(n_kv_heads),
      head_dim_(head_dim) {
  SOCLE_CHECK(n_layers > 0 && n_blocks >= 0 && block_size > 0 && n_kv_heads > 0 && head_dim > 0,
              "a pool's shape comes from a loaded model and a validated budget");
  auto floats = static_cast<size_t>(n_layers * n_blocks * block_size * kv_dim());
  k_ = std::make_unique_for_overwrite<float[]>(floats);
  v_ = std::make_unique_for_overwrite<float[]>(floats);
}

int64_t KvPool::bytes_per_block(int64_t n_layers, int64_t block_size, int64_t kv_dim) {
  return 2 * n_layers * block_size * kv_dim * static_cast<int64_t>(sizeof(float));
}

void KvPool::write(int64_t layer, int32_t block, int64_t row, const float* k, const float* v) {
  SOCLE_CHECK(row >= 0 && row < block_size_, "rows index inside a block");
  size_t at = offset(layer, block) + static_cast<size_t>(row * head_dim_);
  for (int64_t h = 0; h < n_kv_heads_; ++h) {
    size_t to = at + static_cast<size_t>(h * head_stride());
    std::copy_n(k + h * head_dim_, head_dim_, k_.get() + to);
    std::copy_n(v + h * head_dim_, head_dim_, v_.get() + to);
  }
}

size_t KvPool::offset(int64_t layer, int32_t block) const {
  SOCLE_CHECK(layer >= 0 && layer < n_layers_, "layers index inside the model");
  SOCLE_CHECK(block >= 0 && block < n_blocks_, "block tables are checked against the pool");
  return static_cast<size_t>(((layer * n_blocks_) + block) * block_size_ * kv_dim());
}

}  // namespace socle::engine
