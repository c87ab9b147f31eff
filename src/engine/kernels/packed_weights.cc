#include "engine/kernels/packed_weights.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "base/check.h"
#include "engine/kernels/quant.h"
#include "engine/kernels/thread_pool.h"

namespace socle::engine {
namespace {

constexpr int64_t LANES = PACKED_GROUP_ROWS;
constexpr int64_t BLOCK = 32;            // values per block (Q4_K: per sub-block)
constexpr int64_t QUAD = 4;              // codes per int32 lane
constexpr int64_t QUADS = BLOCK / QUAD;  // column quads per block
constexpr int64_t SUBS = QK_K / BLOCK;   // Q4_K sub-blocks per super-block

size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
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

namespace {

uint32_t load_u32(const uint8_t* p) {
  uint32_t v = 0;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

void store_u32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, sizeof(v));
}

// Packs the rows of group g (those that exist) into `group`.
template <DType TYPE>
void pack_group(const WeightView& w, int64_t g, uint8_t* group) {
  constexpr uint32_t FLIP = 0x80808080u;  // + 128 on each of 4 signed codes
  constexpr uint32_t LOW = 0x0F0F0F0Fu;
  const int64_t blocks = w.cols / BLOCK;
  const size_t per_block = code_bytes(TYPE);
  uint8_t* scales = group + static_cast<size_t>(blocks) * per_block;
  for (int64_t lane = 0; lane < LANES && g * LANES + lane < w.rows; ++lane) {
    const void* row = w.row(g * LANES + lane);
    for (int64_t b = 0; b < blocks; ++b) {
      uint8_t* dst = group + static_cast<size_t>(b) * per_block + lane * QUAD;
      if constexpr (TYPE == DType::Q8_0) {
        const BlockQ8_0& blk = static_cast<const BlockQ8_0*>(row)[b];
        const auto* qs = reinterpret_cast<const uint8_t*>(blk.qs);
        for (int64_t k = 0; k < QUADS; ++k)
          store_u32(dst + k * QUAD * LANES, load_u32(qs + k * QUAD) ^ FLIP);
        std::memcpy(scales + (b * LANES + lane) * 2, &blk.d, 2);
      } else if constexpr (TYPE == DType::Q4_0) {
        // Byte l of a Q4_0 block holds value l (low nibble) and value l + 16 (high): byte
        // 4k + j already is quad k's code j under quad k + 4's.
        const BlockQ4_0& blk = static_cast<const BlockQ4_0*>(row)[b];
        for (int64_t k = 0; k < QUADS / 2; ++k)
          store_u32(dst + k * QUAD * LANES, load_u32(blk.qs + k * QUAD));
        std::memcpy(scales + (b * LANES + lane) * 2, &blk.d, 2);
      } else {
        // Sub-block j of a super-block: the low (j even) or high (j odd) nibbles of
        // qs[32 (j / 2) ..]; value v of it sits in byte v of those 32.
        const BlockQ4K& blk = static_cast<const BlockQ4K*>(row)[b / SUBS];
        int64_t j = b % SUBS;
        const uint8_t* qs = blk.qs + (j / 2) * BLOCK;
        for (int64_t k = 0; k < QUADS / 2; ++k) {
          uint32_t lo = load_u32(qs + k * QUAD);
          uint32_t hi = load_u32(qs + BLOCK / 2 + k * QUAD);
          uint32_t v =
              j % 2 == 0 ? (lo & LOW) | ((hi & LOW) << 4) : ((lo >> 4) & LOW) | (hi & ~LOW);
          store_u32(dst + k * QUAD * LANES, v);
        }
        uint8_t* sb = scales + static_cast<size_t>(b / SUBS) * scale_bytes(TYPE);
        q4_k_scale_min(static_cast<int>(j), blk.scales, sb + j * LANES + lane,
                       sb + (SUBS + j) * LANES + lane);
        if (j == 0) {
          std::memcpy(sb + 2 * SUBS * LANES + lane * 2, &blk.d, 2);
          std::memcpy(sb + 2 * SUBS * LANES + 2 * LANES + lane * 2, &blk.dmin, 2);
        }
      }
    }
  }
}

// Memory for `total` packed bytes, cache-line aligned. (Transparent huge pages, asked for
// with madvise, made the engine bench's decode slower on this virtual machine, 3 runs of 3.)
PackedBytes allocate(size_t total) {
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): aligned, freed by FreeBytes
  PackedBytes out(static_cast<std::byte*>(std::aligned_alloc(PACKED_ALIGNMENT, total)));
  if (!out) throw std::bad_alloc();
  return out;
}

}  // namespace

PackedBytes pack_weights(const WeightView& w) {
  SOCLE_CHECK(packed_layout_covers(w.type), "callers pack the types packed_layout_covers only");
  SOCLE_CHECK(w.cols % (w.type == DType::Q4_K ? QK_K : BLOCK) == 0,
              "quantised rows are whole blocks");
  size_t total = packed_weights_bytes(w.type, w.rows, w.cols);
  PackedBytes out = allocate(total);
  size_t group_bytes = packed_group_bytes(w.type, w.cols);
  size_t used = packed_group_bytes_unpadded(w.type, w.cols);
  auto* bytes = reinterpret_cast<uint8_t*>(out.get());
  auto groups = static_cast<int64_t>(total / group_bytes);
  void (*pack)(const WeightView&, int64_t, uint8_t*) =
      w.type == DType::Q8_0   ? pack_group<DType::Q8_0>
      : w.type == DType::Q4_0 ? pack_group<DType::Q4_0>
                              : pack_group<DType::Q4_K>;
  default_thread_pool().parallel_for(groups, 1, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {
      uint8_t* group = bytes + static_cast<size_t>(g) * group_bytes;
      // Zeros where no row is: the last group's padding rows (zero codes under zero scales
      // add nothing) and each group's tail.
      if ((g + 1) * LANES > w.rows) std::memset(group, 0, group_bytes);
      std::memset(group + used, 0, group_bytes - used);
      pack(w, g, group);
    }
  });
  return out;
}

}  // namespace socle::engine
