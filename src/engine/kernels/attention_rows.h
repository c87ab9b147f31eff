// Internal to the attention kernels: walks one key/value head's rows of KvBlocks in position
// order, a block at a time, without a division per row, and reads their values as float.
#pragma once

#include <cstdint>
#include <span>

#include "engine/format/dtype.h"

namespace socle::engine {

// T is the blocks' value type: float (KvBlocks::type F32) or uint16_t (F16).
template <typename T>
class KvRowCursor {
 public:
  // At position `pos` of the rows in `blocks` (`block_size` positions each, rows `stride`
  // values apart), `offset` values into each row.
  KvRowCursor(std::span<const void* const> blocks, int64_t block_size, int64_t offset,
              int64_t stride, int64_t pos)
      : blocks_(blocks.data()),
        block_size_(block_size),
        offset_(offset),
        stride_(stride),
        block_(pos / block_size),
        row_(pos % block_size) {}

  // Only for a position that the blocks cover.
  const T* row() const { return static_cast<const T*>(blocks_[block_]) + row_ * stride_ + offset_; }

  void next() {
    if (++row_ == block_size_) {
      row_ = 0;
      ++block_;
    }
  }

 private:
  const void* const* blocks_;
  int64_t block_size_;
  int64_t offset_;
  int64_t stride_;
  int64_t block_;
  int64_t row_;
};

// A stored value as float: exact for both types.
inline float kv_value(const float* row, int64_t d) {
  return row[d];
}
inline float kv_value(const uint16_t* row, int64_t d) {
  return f16_to_f32(row[d]);
}

}  // namespace socle::engine
