#include "engine/kernels/packed_weights.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "base/check.h"
#include "engine/kernels/quant.h"

namespace socle::engine {
namespace {

constexpr int64_t LANES = PACKED_GROUP_ROWS;
constexpr int64_t BLOCK = 32;            // values per block (Q4_K: per sub-block)
constexpr int64_t QUAD = 4;              // codes per int32 lane
constexpr int64_t QUADS = BLOCK / QUAD;  // column quads per block
constexpr int64_t SUBS = QK_K / BLOCK;   // Q4_K sub-blocks per super-block
constexpr uint8_t Q8_0_OFFSET = 0x80;    // + 128: signed codes as unsigned bytes
constexpr uint8_t LOW_NIBBLE = 0xF;

size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

// The 32 unsigned codes of block b of a row: Q8_0 + 128, Q4_0 and Q4_K as stored (0..15).
void block_codes(DType type, const void* row, int64_t b, uint8_t* codes) {
  if (type == DType::Q8_0) {
    const BlockQ8_0& blk = static_cast<const BlockQ8_0*>(row)[b];
    for (int64_t l = 0; l < BLOCK; ++l)
      codes[l] = static_cast<uint8_t>(static_cast<uint8_t>(blk.qs[l]) ^ Q8_0_OFFSET);
  } else if (type == DType::Q4_0) {
    const BlockQ4_0& blk = static_cast<const BlockQ4_0*>(row)[b];
    for (int64_t l = 0; l < BLOCK / 2; ++l) {
      codes[l] = blk.qs[l] & LOW_NIBBLE;
      codes[l + BLOCK / 2] = blk.qs[l] >> 4;
    }
  } else {
    // Sub-block 2q of a super-block: the low nibbles of qs[32q ..], 2q + 1 their high ones.
    const BlockQ4K& blk = static_cast<const BlockQ4K*>(row)[b / SUBS];
    int64_t j = b % SUBS;
    const uint8_t* qs = blk.qs + (j / 2) * BLOCK;
    for (int64_t l = 0; l < BLOCK; ++l)
      codes[l] = j % 2 == 0 ? qs[l] & LOW_NIBBLE : qs[l] >> 4;
  }
}

// Bytes of a group's codes per block.
size_t code_bytes(DType type) {
  return static_cast<size_t>(type == DType::Q8_0 ? BLOCK * LANES : BLOCK * LANES / 2);
}

// Bytes of a group's scales per block (Q4_K: per super-block).
size_t scale_bytes(DType type) {
  if (type == DType::Q4_K) return static_cast<size_t>(2 * SUBS * LANES + 2 * LANES * 2);
  return static_cast<size_t>(LANES * 2);
}

// A group's codes and scales, before rounding up.
size_t packed_group_bytes_unpadded(DType type, int64_t cols) {
  SOCLE_CHECK(packed_layout_covers(type), "callers pack the types packed_layout_covers only");
  auto blocks = static_cast<size_t>(cols / BLOCK);
  size_t scales =
      type == DType::Q4_K ? blocks / SUBS * scale_bytes(type) : blocks * scale_bytes(type);
  return blocks * code_bytes(type) + scales;
}

}  // namespace

void FreeBytes::operator()(std::byte* p) const {
  std::free(p);  // NOLINT(cppcoreguidelines-no-malloc): std::aligned_alloc's memory
}

size_t packed_group_bytes(DType type, int64_t cols) {
  SOCLE_CHECK(packed_layout_covers(type), "callers pack the types packed_layout_covers only");
  auto blocks = static_cast<size_t>(cols / BLOCK);
  size_t scales =
      type == DType::Q4_K ? blocks / SUBS * scale_bytes(type) : blocks * scale_bytes(type);
  return round_up(blocks * code_bytes(type) + scales, PACKED_ALIGNMENT);
}

size_t packed_weights_bytes(DType type, int64_t rows, int64_t cols) {
  auto groups = static_cast<size_t>((rows + LANES - 1) / LANES);
  return groups * packed_group_bytes(type, cols);
}

PackedBytes pack_weights(const WeightView& w) {
  SOCLE_CHECK(packed_layout_covers(w.type), "callers pack the types packed_layout_covers only");
  SOCLE_CHECK(w.cols % (w.type == DType::Q4_K ? QK_K : BLOCK) == 0,
              "quantised rows are whole blocks");
  size_t total = packed_weights_bytes(w.type, w.rows, w.cols);
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): aligned, freed by FreeBytes
  PackedBytes out(static_cast<std::byte*>(std::aligned_alloc(PACKED_ALIGNMENT, total)));
  if (!out) throw std::bad_alloc();
  int64_t blocks = w.cols / BLOCK;
  size_t group_bytes = packed_group_bytes(w.type, w.cols);
  // Every lane of a row is written below; zeros go only where no row is: the last group's
  // padding rows (zero codes under zero scales add nothing) and each group's tail.
  size_t used = packed_group_bytes_unpadded(w.type, w.cols);
  auto* bytes = reinterpret_cast<uint8_t*>(out.get());
  size_t groups = total / group_bytes;
  for (size_t g = 0; g < groups; ++g)
    std::memset(bytes + g * group_bytes + used, 0, group_bytes - used);
  if (w.rows % LANES != 0) std::memset(bytes + (groups - 1) * group_bytes, 0, group_bytes);
  size_t codes_per_block = code_bytes(w.type);
  for (int64_t r = 0; r < w.rows; ++r) {
    auto* group =
        reinterpret_cast<uint8_t*>(out.get()) + static_cast<size_t>(r / LANES) * group_bytes;
    int64_t lane = r % LANES;
    uint8_t* scales = group + static_cast<size_t>(blocks) * codes_per_block;
    const void* row = w.row(r);
    for (int64_t b = 0; b < blocks; ++b) {
      uint8_t codes[BLOCK];
      block_codes(w.type, row, b, codes);
      uint8_t* dst = group + static_cast<size_t>(b) * codes_per_block + lane * QUAD;
      for (int64_t k = 0; k < QUADS; ++k) {
        for (int64_t j = 0; j < QUAD; ++j) {
          if (w.type == DType::Q8_0) {
            dst[k * QUAD * LANES + j] = codes[k * QUAD + j];
          } else if (k < QUADS / 2) {  // quad k in the low nibbles, quad k + 4 in the high
            dst[k * QUAD * LANES + j] = static_cast<uint8_t>(
                codes[k * QUAD + j] | (codes[(k + QUADS / 2) * QUAD + j] << 4));
          }
        }
      }
      if (w.type == DType::Q8_0) {
        std::memcpy(scales + (b * LANES + lane) * 2, &static_cast<const BlockQ8_0*>(row)[b].d, 2);
      } else if (w.type == DType::Q4_0) {
        std::memcpy(scales + (b * LANES + lane) * 2, &static_cast<const BlockQ4_0*>(row)[b].d, 2);
      } else {
        const BlockQ4K& blk = static_cast<const BlockQ4K*>(row)[b / SUBS];
        int64_t j = b % SUBS;
        uint8_t* sb = scales + static_cast<size_t>(b / SUBS) * scale_bytes(w.type);
        q4_k_scale_min(static_cast<int>(j), blk.scales, sb + j * LANES + lane,
                       sb + (SUBS + j) * LANES + lane);
        if (j == 0) {
          std::memcpy(sb + 2 * SUBS * LANES + lane * 2, &blk.d, 2);
          std::memcpy(sb + 2 * SUBS * LANES + 2 * LANES + lane * 2, &blk.dmin, 2);
        }
      }
    }
  }
  return out;
}

}  // namespace socle::engine
