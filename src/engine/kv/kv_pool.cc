#include "engine/kv/kv_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "base/check.h"
#include "engine/kernels/f16_values.h"

namespace socle::engine {
namespace {

constexpr size_t CACHE_LINE = 64;
constexpr size_t HUGE_PAGE = size_t{2} << 20;

// `bytes` uninitialised bytes on a cache line, freed with std::free; from a huge page up, on
// huge pages where the kernel gives them (kernels_bench paged: decode attention over 1.3 GB
// of blocks 1.14 to 1.19 times faster than on 4 KiB pages, a step's row writes 1.2 to 1.3).
std::byte* allocate_bytes(size_t bytes) {
  bytes = std::max<size_t>(1, bytes);
  size_t align = bytes >= HUGE_PAGE ? HUGE_PAGE : CACHE_LINE;
  bytes = (bytes + align - 1) / align * align;
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): aligned, freed by KvPool::Free
  auto* p = static_cast<std::byte*>(std::aligned_alloc(align, bytes));
  if (p == nullptr) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
  if (align == HUGE_PAGE) madvise(p, bytes, MADV_HUGEPAGE);  // a hint: 4 KiB pages otherwise
#endif
  return p;
}

}  // namespace

void KvPool::Free::operator()(std::byte* p) const {
  std::free(p);  // NOLINT(cppcoreguidelines-no-malloc): std::aligned_alloc's memory
}

KvPool::KvPool(int64_t n_layers, int64_t n_blocks, int64_t block_size, int64_t n_kv_heads,
               int64_t head_dim, DType type)
    : n_layers_(n_layers),
      n_blocks_(n_blocks),
      block_size_(block_size),
      n_kv_heads_(n_kv_heads),
      head_dim_(head_dim),
      type_(type),
      width_(value_bytes(type)) {
  SOCLE_CHECK(n_layers > 0 && n_blocks >= 0 && block_size > 0 && n_kv_heads > 0 && head_dim > 0,
              "a pool's shape comes from a loaded model and a validated budget");
  bytes_ = static_cast<size_t>(n_layers * n_blocks * block_size * kv_dim() * width_);
  k_.reset(allocate_bytes(bytes_));
  v_.reset(allocate_bytes(bytes_));
}

void KvPool::touch_all() {
  std::memset(k_.get(), 0, bytes_);
  std::memset(v_.get(), 0, bytes_);
}

int64_t KvPool::value_bytes(DType type) {
  SOCLE_CHECK(type == DType::F32 || type == DType::F16, "the KV type is validated as f32 or f16");
  return type == DType::F16 ? 2 : 4;
}

int64_t KvPool::bytes_per_block(int64_t n_layers, int64_t block_size, int64_t kv_dim, DType type) {
  return 2 * n_layers * block_size * kv_dim * value_bytes(type);
}

void KvPool::write(int64_t layer, int32_t block, int64_t row, const float* k, const float* v,
                   KernelPath path) {
  SOCLE_CHECK(row >= 0 && row < block_size_, "rows index inside a block");
  const auto width = static_cast<size_t>(width_);
  size_t at = offset(layer, block) + static_cast<size_t>(row * head_dim_) * width;
  for (int64_t h = 0; h < n_kv_heads_; ++h) {
    size_t to = at + static_cast<size_t>(h * head_stride()) * width;
    const float* kh = k + h * head_dim_;
    const float* vh = v + h * head_dim_;
    if (type_ == DType::F16) {
      f32_to_f16_values(reinterpret_cast<uint16_t*>(k_.get() + to), kh, head_dim_, path);
      f32_to_f16_values(reinterpret_cast<uint16_t*>(v_.get() + to), vh, head_dim_, path);
    } else {
      std::memcpy(k_.get() + to, kh, static_cast<size_t>(head_dim_) * sizeof(float));
      std::memcpy(v_.get() + to, vh, static_cast<size_t>(head_dim_) * sizeof(float));
    }
  }
}

size_t KvPool::offset(int64_t layer, int32_t block) const {
  SOCLE_CHECK(layer >= 0 && layer < n_layers_, "layers index inside the model");
  SOCLE_CHECK(block >= 0 && block < n_blocks_, "block tables are checked against the pool");
  return static_cast<size_t>(((layer * n_blocks_) + block) * block_size_ * kv_dim() * width_);
}

}  // namespace socle::engine
