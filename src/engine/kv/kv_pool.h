// The memory of a paged KV cache: the keys and values of many sequences in fixed-size
// blocks, which BlockManager (block_manager.h) hands out by id. A sequence's block table
// lists its blocks in position order: block i holds its positions [i * block_size,
// (i + 1) * block_size).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/format/dtype.h"
#include "engine/kernels/kernel_path.h"

namespace socle::engine {

// Keys and values of many sequences in fixed-size blocks: for each layer, n_blocks blocks of
// block_size positions of n_kv_heads * head_dim values, keys and values apart. The values are
// float32 or IEEE half (F16: half the memory, so twice the positions in a budget and half the
// bytes that attention reads; each value rounded to nearest even when written). Inside a block
// the rows are grouped by head: head h's block_size rows of head_dim values, then head h + 1's
// (`head_stride()` values apart), so that the attention of one key/value head reads one
// contiguous run of memory per block rather than a short row every kv_dim floats: with rows of
// every head together, a batch of decode steps spent most of its attention time waiting for
// those rows (docs/engine.md, "KV cache").
class KvPool {
 public:
  // Every count positive but n_blocks, which may be 0. The memory is not initialised (a
  // position is read only after a forward pass wrote it), so a large budget costs no page
  // until a sequence uses it or touch_all() is called. Past 2 MiB it is asked for on huge
  // pages (transparent huge pages, where the kernel has them): a step of many sequences
  // writes and reads rows of 4 KiB runs scattered over the whole pool, and with 4 KiB pages
  // each run cost a TLB miss (docs/engine.md, "The batched forward pass over a paged KV
  // cache").
  // `type` is DType::F32 or DType::F16.
  KvPool(int64_t n_layers, int64_t n_blocks, int64_t block_size, int64_t n_kv_heads,
         int64_t head_dim, DType type = DType::F32);

  // Touches every page now (a server's pool: its budget is held from the start, so a machine
  // without that memory stops the process (out of memory) at start rather than while it
  // serves, and no step waits for the kernel to clear the pages it first writes).
  void touch_all();

  // The memory one block takes in every layer, keys and values: to size a pool from a budget.
  static int64_t bytes_per_block(int64_t n_layers, int64_t block_size, int64_t kv_dim,
                                 DType type = DType::F32);
  // The bytes of one stored value: 4 for F32, 2 for F16.
  static int64_t value_bytes(DType type);

  int64_t n_layers() const { return n_layers_; }
  int64_t n_blocks() const { return n_blocks_; }
  int64_t block_size() const { return block_size_; }
  int64_t n_kv_heads() const { return n_kv_heads_; }
  int64_t head_dim() const { return head_dim_; }
  DType type() const { return type_; }
  int64_t kv_dim() const { return n_kv_heads_ * head_dim_; }
  // Values between one head's rows of a block and the next head's.
  int64_t head_stride() const { return block_size_ * head_dim_; }

  // Writes the keys and values of one position, row `row` of block `block` in layer `layer`:
  // k and v hold kv_dim floats each, head after head. An F16 pool narrows them on `path`
  // (f32_to_f16_values: the same bits on every path, NaN aside; beyond ±65504, infinities).
  void write(int64_t layer, int32_t block, int64_t row, const float* k, const float* v,
             KernelPath path);

  // Block `block`'s keys or values in layer `layer`: (n_kv_heads, block_size, head_dim) values
  // of type(): float, or uint16_t holding IEEE halves.
  void* keys(int64_t layer, int32_t block) { return k_.get() + offset(layer, block); }
  void* values(int64_t layer, int32_t block) { return v_.get() + offset(layer, block); }
  const void* keys(int64_t layer, int32_t block) const { return k_.get() + offset(layer, block); }
  const void* values(int64_t layer, int32_t block) const { return v_.get() + offset(layer, block); }

 private:
  // In bytes.
  size_t offset(int64_t layer, int32_t block) const;

  int64_t n_layers_;
  int64_t n_blocks_;
  int64_t block_size_;
  int64_t n_kv_heads_;
  int64_t head_dim_;
  DType type_;
  int64_t width_;  // value_bytes(type_)
  struct Free {
    void operator()(std::byte* p) const;
  };
  size_t bytes_ = 0;  // in each of k_ and v_
  // (n_layers, n_blocks, n_kv_heads, block_size, head_dim) values of type_
  std::unique_ptr<std::byte[], Free> k_;
  std::unique_ptr<std::byte[], Free> v_;
};

}  // namespace socle::engine
