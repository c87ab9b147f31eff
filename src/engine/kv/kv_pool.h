// The memory of a paged KV cache: the keys and values of many sequences in fixed-size
// blocks, which BlockManager (block_manager.h) hands out by id. A sequence's block table
// lists its blocks in position order: block i holds its positions [i * block_size,
// (i + 1) * block_size).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace socle::engine {

// Keys and values of many sequences in fixed-size blocks: for each layer, n_blocks blocks of
// block_size positions of kv_dim floats, keys and values apart.
class KvPool {
 public:
  // Every count positive but n_blocks, which may be 0. The memory is not initialised (a
  // position is read only after a forward pass wrote it), so a large budget costs no page
  // until a sequence uses it.
  KvPool(int64_t n_layers, int64_t n_blocks, int64_t block_size, int64_t kv_dim);

  // The memory one block takes in every layer, keys and values: to size a pool from a budget.
  static int64_t bytes_per_block(int64_t n_layers, int64_t block_size, int64_t kv_dim);

  int64_t n_layers() const { return n_layers_; }
  int64_t n_blocks() const { return n_blocks_; }
  int64_t block_size() const { return block_size_; }
  int64_t kv_dim() const { return kv_dim_; }  // n_kv_heads * head_dim

  // Block `block`'s keys or values in layer `layer`: (block_size, kv_dim).
  float* keys(int64_t layer, int32_t block) { return k_.get() + offset(layer, block); }
  float* values(int64_t layer, int32_t block) { return v_.get() + offset(layer, block); }
  const float* keys(int64_t layer, int32_t block) const { return k_.get() + offset(layer, block); }
  const float* values(int64_t layer, int32_t block) const {
    return v_.get() + offset(layer, block);
  }

 private:
  size_t offset(int64_t layer, int32_t block) const;

  int64_t n_layers_;
  int64_t n_blocks_;
  int64_t block_size_;
  int64_t kv_dim_;
  std::unique_ptr<float[]> k_;  // (n_layers, n_blocks, block_size, kv_dim)
  std::unique_ptr<float[]> v_;  // (n_layers, n_blocks, block_size, kv_dim)
};

}  // namespace socle::engine
