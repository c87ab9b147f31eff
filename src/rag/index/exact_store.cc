#include "rag/index/exact_store.h"

#include <cstring>

#include "rag/index/index_file.h"

namespace socle::rag {
namespace {

constexpr char EXACT_MAGIC[8] = {'S', 'O', 'C', 'L', 'E', 'D', 'E', 'X'};

}  // namespace

void ExactStore::put(int64_t id, const void* code) {
  // codes_ comes from operator new, aligned for any scalar, and each code is a multiple of
  // four bytes long, so every row's float32 fields are aligned.
  size_t cb = codec_.code_bytes();
  auto found = row_of_.find(id);
  if (found != row_of_.end()) {
    std::memcpy(codes_.data() + static_cast<size_t>(found->second) * cb, code, cb);
    return;
  }
  row_of_.emplace(id, size());
  ids_.push_back(id);
  const auto* bytes = static_cast<const uint8_t*>(code);
  codes_.insert(codes_.end(), bytes, bytes + cb);
}

bool ExactStore::erase(int64_t id) {
  auto found = row_of_.find(id);
  if (found == row_of_.end()) return false;
  size_t cb = codec_.code_bytes();
  auto row = static_cast<size_t>(found->second);
  size_t last = ids_.size() - 1;
  row_of_.erase(found);
  if (row != last) {
    ids_[row] = ids_[last];
    std::memcpy(codes_.data() + row * cb, codes_.data() + last * cb, cb);
    row_of_[ids_[row]] = static_cast<int64_t>(row);
  }
  ids_.pop_back();
  codes_.resize(last * cb);
  return true;
}

std::vector<Hit> ExactStore::search(const void* query_code, int64_t k,
                                    const IdFilter* filter) const {
  TopK top(k);
  ScoreFn score = codec_.score_fn();
  int64_t dim = codec_.dim();
  for (int64_t r = 0; r < size(); ++r) {
    int64_t id = id_at(r);
    if (filter != nullptr && !(*filter)(id)) continue;
    top.push(id, score(query_code, code_at(r), dim));
  }
  return top.take();
}

std::string ExactStore::serialize() const {
  IndexFileWriter w;
  w.raw(EXACT_MAGIC, sizeof EXACT_MAGIC);
  w.u64(ids_.size());
  w.u64(codec_.code_bytes());
  w.raw(ids_.data(), ids_.size() * sizeof(int64_t));
  w.raw(codes_.data(), codes_.size());
  return w.take();
}

Result<std::unique_ptr<ExactStore>> ExactStore::parse(std::string_view bytes,
                                                      const VectorCodec& codec) {
  IndexFileReader r(bytes);
  char magic[sizeof EXACT_MAGIC];
  uint64_t count = 0, code_bytes = 0;
  if (!r.raw(magic, sizeof magic) || std::memcmp(magic, EXACT_MAGIC, sizeof magic) != 0) {
    return internal_error("not an exact dense index file (bad magic)");
  }
  if (!r.u64(&count) || !r.u64(&code_bytes)) return internal_error("exact index header cut short");
  if (code_bytes != codec.code_bytes()) {
    return internal_error("exact index holds codes of " + std::to_string(code_bytes) +
                          " bytes, the index's dimension and precision need " +
                          std::to_string(codec.code_bytes()));
  }
  // count * (8 + code_bytes) must be exactly what is left; divide rather than multiply so
  // that a huge count cannot overflow.
  if (r.left() % (sizeof(int64_t) + code_bytes) != 0 ||
      r.left() / (sizeof(int64_t) + code_bytes) != count) {
    return internal_error("exact index says " + std::to_string(count) + " vectors but holds " +
                          std::to_string(r.left()) + " bytes for them");
  }
  auto store = std::make_unique<ExactStore>(codec);
  store->ids_.resize(count);
  store->codes_.resize(count * code_bytes);
  if (!r.raw(store->ids_.data(), count * sizeof(int64_t)) ||
      !r.raw(store->codes_.data(), count * code_bytes)) {
    return internal_error("exact index cut short");
  }
  store->row_of_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (!store->row_of_.emplace(store->ids_[i], static_cast<int64_t>(i)).second) {
      return internal_error("exact index holds id " + std::to_string(store->ids_[i]) + " twice");
    }
  }
  return store;
}

}  // namespace socle::rag
