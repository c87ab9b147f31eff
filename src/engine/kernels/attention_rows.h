// Internal to the attention kernels: walks one key/value head's rows of KvBlocks in position
// order, a block at a time, without a division per row.
#pragma once

#include <cstdint>
#include <span>

namespace socle::engine {

class KvRowCursor {
 public:
  // At position `pos` of the rows in `blocks` (`block_size` positions each, rows `stride`
  // floats apart), `offset` floats into each row.
  KvRowCursor(std::span<const float* const> blocks, int64_t block_size, int64_t offset,
              int64_t stride, int64_t pos)
      : blocks_(blocks.data()),
        block_size_(block_size),
        offset_(offset),
        stride_(stride),
        block_(pos / block_size),
        row_(pos % block_size) {}

  // Only for a position that the blocks cover.
  const float* row() const { return blocks_[block_] + row_ * stride_ + offset_; }

  void next() {
    if (++row_ == block_size_) {
      row_ = 0;
      ++block_;
    }
  }

 private:
  const float* const* blocks_;
  int64_t block_size_;
  int64_t offset_;
  int64_t stride_;
  int64_t block_;
  int64_t row_;
};

}  // namespace socle::engine
