#include "rag/index/dense_index.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/file.h"
#include "rag/index/index_file.h"

namespace socle::rag {
namespace {

constexpr char META_MAGIC[8] = {'S', 'O', 'C', 'L', 'E', 'D', 'N', 'M'};
constexpr uint32_t META_VERSION = 1;
constexpr const char* META_FILE = "dense.meta";
// Every file the dense index writes starts with this, so that open can remove what a crash
// left behind without touching the collection's other files.
constexpr const char* DATA_PREFIX = "dense-";
constexpr const char* META_TMP_PREFIX = "dense.meta.tmp-";

struct Meta {
  DensePrecision precision = DensePrecision::FLOAT32;
  DenseMode mode = DenseMode::EXACT;
  uint64_t dim = 0;
  uint64_t generation = 0;
  uint64_t data_bytes = 0;
};

std::string meta_serialize(const Meta& m) {
  IndexFileWriter w;
  w.raw(META_MAGIC, sizeof META_MAGIC);
  w.u32(META_VERSION);
  w.u32(static_cast<uint32_t>(m.precision));
  w.u32(static_cast<uint32_t>(m.mode));
  w.u32(0);  // reserved, keeps the 64-bit fields aligned
  w.u64(m.dim);
  w.u64(m.generation);
  w.u64(m.data_bytes);
  return w.take();
}

Result<Meta> meta_parse(std::string_view bytes, const std::string& path) {
  IndexFileReader r(bytes);
  char magic[sizeof META_MAGIC];
  uint32_t version = 0, precision = 0, mode = 0, reserved = 0;
  Meta m;
  if (!r.raw(magic, sizeof magic) || std::memcmp(magic, META_MAGIC, sizeof magic) != 0) {
    return internal_error(path + " is not a dense index meta file");
  }
  if (!r.u32(&version) || !r.u32(&precision) || !r.u32(&mode) || !r.u32(&reserved) ||
      !r.u64(&m.dim) || !r.u64(&m.generation) || !r.u64(&m.data_bytes) || r.left() != 0) {
    return internal_error(path + " has the wrong size");
  }
  if (version != META_VERSION) {
    return internal_error(path + " has format version " + std::to_string(version) +
                          ", this build reads " + std::to_string(META_VERSION));
  }
  if (precision > static_cast<uint32_t>(DensePrecision::INT8) ||
      mode > static_cast<uint32_t>(DenseMode::HNSW)) {
    return internal_error(path + " names an unknown precision or form");
  }
  m.precision = static_cast<DensePrecision>(precision);
  m.mode = static_cast<DenseMode>(mode);
  return m;
}

std::string data_file_name(uint64_t generation, DenseMode mode) {
  return DATA_PREFIX + std::to_string(generation) + (mode == DenseMode::EXACT ? ".exact" : ".hnsw");
}

Status check_options(const DenseOptions& o) {
  if (o.dim < 1 || o.dim > DENSE_MAX_DIM) {
    return invalid_argument("dense index dimension " + std::to_string(o.dim) + " is outside [1, " +
                            std::to_string(DENSE_MAX_DIM) + "]");
  }
  if (o.exact_max < 0) return invalid_argument("exact_max must not be negative");
  // hnswlib draws levels with 1 / log(m): m = 1 would divide by zero.
  if (o.hnsw.m < 2 || o.hnsw.ef_construction < 1 || o.hnsw.ef_search < 1) {
    return invalid_argument("HNSW parameters need m >= 2, ef_construction >= 1, ef_search >= 1");
  }
  if (!(o.rebuild_deleted_fraction > 0 && o.rebuild_deleted_fraction <= 1)) {
    return invalid_argument("rebuild_deleted_fraction must be in (0, 1]");
  }
  return Status::ok();
}

}  // namespace

DenseIndex::DenseIndex(std::string dir, const DenseOptions& options, engine::KernelPath path)
    : dir_(std::move(dir)), options_(options), codec_(options.dim, options.precision, path) {}

DenseIndex::~DenseIndex() = default;

Result<std::unique_ptr<DenseIndex>> DenseIndex::open(const std::string& dir,
                                                     const DenseOptions& options) {
  SOCLE_RETURN_IF_ERROR(check_options(options));
  engine::KernelPath path = engine::kernel_path_active();
  if (options.kernel_path) {
    SOCLE_ASSIGN_OR_RETURN(
        path, engine::kernel_path_parse(engine::kernel_path_name(*options.kernel_path)));
  }
  SOCLE_RETURN_IF_ERROR(make_dirs(dir));
  std::unique_ptr<DenseIndex> index(new DenseIndex(dir, options, path));
  SOCLE_RETURN_IF_ERROR(index->load());
  return index;
}

Status DenseIndex::load() {
  std::string meta_path = dir_ + "/" + META_FILE;
  std::error_code ec;
  std::string current;  // the data file to keep
  if (!std::filesystem::exists(meta_path, ec)) {
    exact_ = std::make_unique<ExactStore>(codec_);
  } else {
    SOCLE_ASSIGN_OR_RETURN(std::string bytes, read_file(meta_path));
    SOCLE_ASSIGN_OR_RETURN(Meta meta, meta_parse(bytes, meta_path));
    if (meta.dim != static_cast<uint64_t>(codec_.dim()) || meta.precision != codec_.precision()) {
      return {StatusCode::FAILED_PRECONDITION,
              "the dense index in " + dir_ + " holds " + dense_precision_name(meta.precision) +
                  " vectors of dimension " + std::to_string(meta.dim) + ", not " +
                  dense_precision_name(codec_.precision()) + " of dimension " +
                  std::to_string(codec_.dim()) + "; rebuild it for the new embedding settings"};
    }
    current = data_file_name(meta.generation, meta.mode);
    std::string data_path = dir_ + "/" + current;
    auto size = std::filesystem::file_size(data_path, ec);
    if (ec || size != meta.data_bytes) {
      return internal_error("the dense index file " + data_path + " is missing or has " +
                            (ec ? std::string("no") : std::to_string(size)) +
                            " bytes where the meta file says " + std::to_string(meta.data_bytes) +
                            "; rebuild the index");
    }
    if (meta.mode == DenseMode::EXACT) {
      SOCLE_ASSIGN_OR_RETURN(std::string data, read_file(data_path));
      auto store = ExactStore::parse(data, codec_);
      if (!store.is_ok()) return internal_error(data_path + ": " + store.status().message());
      exact_ = std::move(store).value();
    } else {
      SOCLE_ASSIGN_OR_RETURN(hnsw_, HnswGraph::load(codec_, options_.hnsw, data_path));
    }
    generation_ = meta.generation;
  }

  // Files of older generations and temporary files that a crash left behind.
  std::filesystem::directory_iterator it(dir_, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    bool ours = name.starts_with(DATA_PREFIX) || name.starts_with(META_TMP_PREFIX);
    std::error_code ignored;
    if (ours && name != current) std::filesystem::remove(it->path(), ignored);
  }
  // The threshold may have been lowered since the index was saved.
  return migrate_if_needed();
}

Status DenseIndex::migrate_if_needed() {
  if (exact_ && exact_->size() > options_.exact_max) return rebuild();
  if (hnsw_ && static_cast<double>(hnsw_->deleted_count()) >
                   options_.rebuild_deleted_fraction *
                       static_cast<double>(hnsw_->live_count() + hnsw_->deleted_count())) {
    return rebuild();
  }
  return Status::ok();
}

Status DenseIndex::rebuild() {
  // Readers keep searching the current form while the new one is built: only this writer
  // changes it.
  int64_t live = exact_ ? exact_->size() : hnsw_->live_count();
  auto each_live = [&](const std::function<void(int64_t, const void*)>& fn) {
    if (exact_) {
      for (int64_t r = 0; r < exact_->size(); ++r)
        fn(exact_->id_at(r), exact_->code_at(r));
    } else {
      hnsw_->for_each_live(fn);
    }
  };

  std::unique_ptr<ExactStore> new_exact;
  std::unique_ptr<HnswGraph> new_hnsw;
  if (live <= options_.exact_max) {
    new_exact = std::make_unique<ExactStore>(codec_);
    each_live([&](int64_t id, const void* code) { new_exact->put(id, code); });
  } else {
    SOCLE_ASSIGN_OR_RETURN(new_hnsw, HnswGraph::create(codec_, options_.hnsw, live));
    Status status;
    each_live([&](int64_t id, const void* code) {
      if (status.is_ok()) status = new_hnsw->add(id, code);
    });
    SOCLE_RETURN_IF_ERROR(status);
  }
  std::unique_lock lock(mu_);
  exact_ = std::move(new_exact);
  hnsw_ = std::move(new_hnsw);
  dirty_ = true;
  return Status::ok();
}

Status DenseIndex::add(std::span<const int64_t> ids, std::span<const float> vectors) {
  auto dim = static_cast<size_t>(codec_.dim());
  if (vectors.size() != ids.size() * dim) {
    return invalid_argument(std::to_string(ids.size()) + " ids need " +
                            std::to_string(ids.size() * dim) + " vector values (dimension " +
                            std::to_string(dim) + "), got " + std::to_string(vectors.size()));
  }
  size_t cb = codec_.code_bytes();
  // Encoded before taking any lock, so that a bad vector changes nothing. From operator new:
  // aligned for float, and cb is a multiple of 4.
  std::vector<uint8_t> codes(ids.size() * cb);
  for (size_t i = 0; i < ids.size(); ++i) {
    Status s = codec_.encode(vectors.data() + i * dim, codes.data() + i * cb);
    if (!s.is_ok()) {
      return invalid_argument("vector " + std::to_string(i) + " (id " + std::to_string(ids[i]) +
                              "): " + s.message());
    }
  }

  std::lock_guard writer(write_mu_);
  dirty_ = true;
  if (exact_) {
    std::unique_lock lock(mu_);
    for (size_t i = 0; i < ids.size(); ++i)
      exact_->put(ids[i], codes.data() + i * cb);
  } else {
    // One insert at a time under the exclusive lock: each links a node in about a
    // millisecond, and searches get in between.
    for (size_t i = 0; i < ids.size(); ++i) {
      std::unique_lock lock(mu_);
      SOCLE_RETURN_IF_ERROR(hnsw_->add(ids[i], codes.data() + i * cb));
    }
  }
  return migrate_if_needed();
}

Status DenseIndex::remove(std::span<const int64_t> ids) {
  std::lock_guard writer(write_mu_);
  {
    std::unique_lock lock(mu_);
    for (int64_t id : ids) {
      bool removed = exact_ ? exact_->erase(id) : hnsw_->remove(id);
      dirty_ = dirty_ || removed;
    }
  }
  return migrate_if_needed();
}

Result<std::vector<Hit>> DenseIndex::search(std::span<const float> query, int64_t k,
                                            const IdFilter* filter) const {
  if (query.size() != static_cast<size_t>(codec_.dim())) {
    return invalid_argument("the query vector has " + std::to_string(query.size()) +
                            " values, the index's dimension is " + std::to_string(codec_.dim()));
  }
  if (k < 0) return invalid_argument("k must not be negative");
  if (k == 0) return std::vector<Hit>{};
  std::vector<uint8_t> code(codec_.code_bytes());
  Status s = codec_.encode(query.data(), code.data());
  if (!s.is_ok()) return invalid_argument("query vector: " + s.message());

  std::shared_lock lock(mu_);
  if (exact_) return exact_->search(code.data(), k, filter);
  return hnsw_->search(code.data(), k, filter);
}

Status DenseIndex::save() {
  std::lock_guard writer(write_mu_);
  if (!dirty_ && generation_ > 0) return Status::ok();
  Meta meta;
  meta.precision = codec_.precision();
  meta.mode = exact_ ? DenseMode::EXACT : DenseMode::HNSW;
  meta.dim = static_cast<uint64_t>(codec_.dim());
  meta.generation = generation_ + 1;
  std::string data_path = dir_ + "/" + data_file_name(meta.generation, meta.mode);
  if (exact_) {
    std::string bytes = exact_->serialize();
    meta.data_bytes = bytes.size();
    SOCLE_RETURN_IF_ERROR(write_file_atomic(data_path, bytes));
  } else {
    SOCLE_RETURN_IF_ERROR(hnsw_->save(data_path));
    std::error_code ec;
    meta.data_bytes = std::filesystem::file_size(data_path, ec);
    if (ec) return internal_error("cannot read the size of " + data_path + ": " + ec.message());
  }
  SOCLE_RETURN_IF_ERROR(write_file_atomic(dir_ + "/" + META_FILE, meta_serialize(meta)));

  if (generation_ > 0) {
    std::error_code ec;
    std::filesystem::remove(dir_ + "/" + data_file_name(generation_, DenseMode::EXACT), ec);
    std::filesystem::remove(dir_ + "/" + data_file_name(generation_, DenseMode::HNSW), ec);
  }
  generation_ = meta.generation;
  dirty_ = false;
  return Status::ok();
}

int64_t DenseIndex::size() const {
  std::shared_lock lock(mu_);
  return exact_ ? exact_->size() : hnsw_->live_count();
}

DenseMode DenseIndex::mode() const {
  std::shared_lock lock(mu_);
  return exact_ ? DenseMode::EXACT : DenseMode::HNSW;
}

}  // namespace socle::rag
