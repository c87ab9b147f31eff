// Weights repacked at load for the AVX-512 VNNI matmul: rows interleaved in groups of 16, so
// that one 512-bit register holds the same 4 columns of 16 rows and each output lane is one
// row. A matmul then accumulates whole blocks in integer lanes before it touches a float,
// reads each group as one sequential stream, and needs no horizontal sum at the end.
//
// Group g (rows 16g .. 16g + 15; the last group is padded with zero rows) is at
// packed + g * packed_group_bytes(): first the codes of every block of 32 columns (Q4_K: of
// every sub-block), then their scales.
//   Q8_0 codes, 512 bytes a block: for column quad k (0..7), lane i (0..15): the 4 codes of
//        row 16g + i at columns 32b + 4k .. 32b + 4k + 3, each + 128 as an unsigned byte.
//   Q4_0 and Q4_K codes, 256 bytes a block: for k (0..3), lane i: 4 bytes whose low nibbles
//        are the codes (0..15) of quad k and whose high nibbles those of quad k + 4.
//   Q8_0 and Q4_0 scales, 32 bytes a block: lane i's f16 scale.
//   Q4_K scales, 320 bytes a super-block of 8 blocks: the 6-bit scales sc (block j, lane i:
//        byte 16j + i), the 6-bit mins m (byte 128 + 16j + i), then the lanes' f16 d and f16
//        dmin (32 bytes each).
// Q8_0 and Q4_0 take as many bytes as the rows they come from, Q4_K 2.8% more (its scales
// unpacked), rounded up to 64 per group. The view's `data` keeps the rows as stored; other
// paths and row lookups read those.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/kernels/weight.h"

namespace socle::engine {

inline constexpr int64_t PACKED_GROUP_ROWS = 16;  // rows per interleaved group: one register
inline constexpr size_t PACKED_ALIGNMENT = 64;    // bytes: packed groups start on cache lines

// Whether weights of `type` have a packed layout.
inline bool packed_layout_covers(DType type) {
  return type == DType::Q8_0 || type == DType::Q4_0 || type == DType::Q4_K;
}

// Bytes of one group of 16 packed rows of `cols` columns; `type` is one packed_layout_covers.
size_t packed_group_bytes(DType type, int64_t cols);

// Bytes of the whole packed matrix.
size_t packed_weights_bytes(DType type, int64_t rows, int64_t cols);

// Memory aligned to PACKED_ALIGNMENT, freed with std::free.
struct FreeBytes {
  void operator()(std::byte* p) const;
};
using PackedBytes = std::unique_ptr<std::byte[], FreeBytes>;

// Packs `w` (a type packed_layout_covers, as stored) into new aligned memory; set the view's
// `packed` to its address.
PackedBytes pack_weights(const WeightView& w);

}  // namespace socle::engine
