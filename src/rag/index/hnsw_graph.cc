#include "rag/index/hnsw_graph.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <queue>
#include <unordered_map>

// Debian's hnswlib 0.6.2, header-only. Included here and nowhere else (see the header).
// NO_MANUAL_VECTORIZATION turns off its SSE code: its own SIMD distances, which socle does
// not use, and its prefetches, whose address computation reads one entry past the end of a
// full upper-layer link list (a heap over-read that AddressSanitizer reports; fixed upstream
// after 0.6.2). The prefetches are hints; the search is the same without them.
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

namespace socle::rag {
namespace {

using Graph = hnswlib::HierarchicalNSW<float>;

// hnswlib's seed for the level of each new node: fixed, so that the same inserts build the
// same graph and tests are repeatable.
constexpr size_t LEVEL_SEED = 100;
// The smallest capacity a graph starts with or grows to.
constexpr int64_t MIN_CAPACITY = 1024;
// With a filter, the graph is asked for this many times k candidates (or ef_search, if
// more) before falling back to a filtered exact scan: enough when at least about a quarter
// of the vectors are allowed, which is the common case (a user's own documents within a
// shared collection are filtered by partition, not here).
constexpr int64_t FILTER_OVERFETCH = 4;

// What hnswlib's distance function receives as its third argument. `dim` comes first and is
// a size_t because hnswlib's getDataByLabel reads the dimension there.
struct DistanceParam {
  size_t dim;
  ScoreFn score;
};

float codec_distance(const void* query, const void* code, const void* param) {
  const auto* p = static_cast<const DistanceParam*>(param);
  return 1.0f - p->score(query, code, static_cast<int64_t>(p->dim));
}

// hnswlib's view of the codec: opaque codes of code_bytes() bytes and 1 - score between them.
class CodecSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit CodecSpace(const VectorCodec& codec)
      : data_size_(codec.code_bytes()),
        param_{static_cast<size_t>(codec.dim()), codec.score_fn()} {}

  size_t get_data_size() override { return data_size_; }
  hnswlib::DISTFUNC<float> get_dist_func() override { return codec_distance; }
  void* get_dist_func_param() override { return &param_; }

 private:
  size_t data_size_;
  DistanceParam param_;
};

Status errno_status(const std::string& what) {
  return internal_error(what + ": " + std::strerror(errno));
}

// The size of the file hnswlib's saveIndex writes for `g`: its header fields, the bottom
// layer (links, code and label of every node), then for each node the byte count of its
// upper-layer links and those links. Checked after saving, since hnswlib writes through an
// ofstream whose errors (a full disk) it does not report.
size_t saved_file_bytes(const Graph& g) {
  size_t header = sizeof g.offsetLevel0_ + sizeof g.max_elements_ + sizeof g.cur_element_count +
                  sizeof g.size_data_per_element_ + sizeof g.label_offset_ + sizeof g.offsetData_ +
                  sizeof g.maxlevel_ + sizeof g.enterpoint_node_ + sizeof g.maxM_ +
                  sizeof g.maxM0_ + sizeof g.M_ + sizeof g.mult_ + sizeof g.ef_construction_;
  size_t bytes = header + g.cur_element_count * g.size_data_per_element_;
  for (size_t i = 0; i < g.cur_element_count; ++i) {
    int level = g.element_levels_[i];
    bytes += sizeof(unsigned int);
    if (level > 0) bytes += g.size_links_per_element_ * static_cast<size_t>(level);
  }
  return bytes;
}

Status fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return errno_status("cannot open " + path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return errno_status("cannot fsync " + path);
  return Status::ok();
}

}  // namespace

struct HnswGraph::Impl {
  // The space first: the graph keeps a pointer to its distance parameter.
  std::unique_ptr<CodecSpace> space;
  std::unique_ptr<Graph> graph;
  const VectorCodec* codec = nullptr;
  HnswParams params;

  // The node of a live id, or nullopt.
  std::optional<hnswlib::tableint> live_node(int64_t id) const {
    auto found = graph->label_lookup_.find(static_cast<hnswlib::labeltype>(id));
    if (found == graph->label_lookup_.end() || graph->isMarkedDeleted(found->second)) {
      return std::nullopt;
    }
    return found->second;
  }
};

HnswGraph::HnswGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HnswGraph::~HnswGraph() = default;

Result<std::unique_ptr<HnswGraph>> HnswGraph::create(const VectorCodec& codec,
                                                     const HnswParams& params, int64_t capacity) {
  auto impl = std::make_unique<Impl>();
  impl->space = std::make_unique<CodecSpace>(codec);
  impl->codec = &codec;
  impl->params = params;
  try {
    impl->graph = std::make_unique<Graph>(
        impl->space.get(), static_cast<size_t>(std::max(capacity, MIN_CAPACITY)),
        static_cast<size_t>(params.m), static_cast<size_t>(params.ef_construction), LEVEL_SEED);
  } catch (const std::exception& e) {
    return internal_error(std::string("cannot create an HNSW graph: ") + e.what());
  }
  impl->graph->setEf(static_cast<size_t>(params.ef_search));
  return std::unique_ptr<HnswGraph>(new HnswGraph(std::move(impl)));
}

Result<std::unique_ptr<HnswGraph>> HnswGraph::load(const VectorCodec& codec,
                                                   const HnswParams& params,
                                                   const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->space = std::make_unique<CodecSpace>(codec);
  impl->codec = &codec;
  impl->params = params;
  try {
    impl->graph = std::make_unique<Graph>(impl->space.get(), path, false, 0);
  } catch (const std::exception& e) {
    return internal_error("cannot load the HNSW graph " + path + ": " + e.what() +
                          "; rebuild the collection's index");
  }
  Graph& g = *impl->graph;
  size_t links0 = g.maxM0_ * sizeof(hnswlib::tableint) + sizeof(hnswlib::linklistsizeint);
  if (g.offsetData_ != links0 || g.label_offset_ != links0 + codec.code_bytes() ||
      g.size_data_per_element_ != links0 + codec.code_bytes() + sizeof(hnswlib::labeltype)) {
    return internal_error("the HNSW graph " + path + " holds codes of another size than " +
                          std::to_string(codec.code_bytes()) + " bytes");
  }
  // hnswlib 0.6.2's loadIndex adds the deleted nodes to a count it never zeroed, and leaves
  // its metric counters unset: set all three from the graph itself.
  g.num_deleted_ = 0;
  for (size_t i = 0; i < g.cur_element_count; ++i) {
    if (g.isMarkedDeleted(static_cast<hnswlib::tableint>(i))) ++g.num_deleted_;
  }
  g.metric_hops = 0;
  g.metric_distance_computations = 0;
  g.setEf(static_cast<size_t>(params.ef_search));
  return std::unique_ptr<HnswGraph>(new HnswGraph(std::move(impl)));
}

int64_t HnswGraph::live_count() const {
  return static_cast<int64_t>(impl_->graph->cur_element_count - impl_->graph->num_deleted_);
}

int64_t HnswGraph::deleted_count() const {
  return static_cast<int64_t>(impl_->graph->num_deleted_);
}

bool HnswGraph::contains(int64_t id) const {
  return impl_->live_node(id).has_value();
}

Status HnswGraph::add(int64_t id, const void* code) {
  Graph& g = *impl_->graph;
  auto label = static_cast<hnswlib::labeltype>(id);
  try {
    bool is_new = g.label_lookup_.find(label) == g.label_lookup_.end();
    if (is_new && g.cur_element_count >= g.max_elements_) {
      g.resizeIndex(std::max(2 * g.max_elements_, static_cast<size_t>(MIN_CAPACITY)));
    }
    g.addPoint(code, label);
  } catch (const std::exception& e) {
    return internal_error("cannot add id " + std::to_string(id) +
                          " to the HNSW graph: " + e.what());
  }
  return Status::ok();
}

bool HnswGraph::remove(int64_t id) {
  auto node = impl_->live_node(id);
  if (!node) return false;
  impl_->graph->markDeletedInternal(*node);
  return true;
}

Result<std::vector<Hit>> HnswGraph::search(const void* query_code, int64_t k,
                                           const IdFilter* filter) const {
  const Graph& g = *impl_->graph;
  const VectorCodec& codec = *impl_->codec;
  int64_t live = live_count();
  if (k <= 0 || live == 0) return std::vector<Hit>{};
  k = std::min(k, live);
  int64_t fetch = k;
  if (filter != nullptr) fetch = std::max(k * FILTER_OVERFETCH, impl_->params.ef_search);
  fetch = std::min(fetch, live);

  std::priority_queue<std::pair<float, hnswlib::labeltype>> found;
  try {
    found = g.searchKnn(query_code, static_cast<size_t>(fetch));
  } catch (const std::exception& e) {
    return internal_error(std::string("HNSW search failed: ") + e.what() +
                          "; rebuild the collection's index");
  }
  TopK top(k);
  for (; !found.empty(); found.pop()) {
    auto id = static_cast<int64_t>(found.top().second);
    if (filter != nullptr && !(*filter)(id)) continue;
    auto node = impl_->live_node(id);
    if (!node) continue;
    top.push(id, codec.score(query_code, g.getDataByInternalId(*node)));
  }
  if (top.size() == k || filter == nullptr || fetch == live) return top.take();

  // Too few allowed ids among the graph's candidates: score every allowed vector.
  TopK all(k);
  for_each_live([&](int64_t id, const void* code) {
    if ((*filter)(id)) all.push(id, codec.score(query_code, code));
  });
  return all.take();
}

void HnswGraph::for_each_live(const std::function<void(int64_t, const void*)>& fn) const {
  const Graph& g = *impl_->graph;
  for (size_t i = 0; i < g.cur_element_count; ++i) {
    auto node = static_cast<hnswlib::tableint>(i);
    if (g.isMarkedDeleted(node)) continue;
    fn(static_cast<int64_t>(g.getExternalLabel(node)), g.getDataByInternalId(node));
  }
}

Status HnswGraph::save(const std::string& path) const {
  std::string tmp = path + ".tmp";
  try {
    impl_->graph->saveIndex(tmp);
  } catch (const std::exception& e) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return internal_error("cannot write the HNSW graph " + tmp + ": " + e.what());
  }
  std::error_code ec;
  auto written = std::filesystem::file_size(tmp, ec);
  size_t expected = saved_file_bytes(*impl_->graph);
  if (ec || written != expected) {
    std::filesystem::remove(tmp, ec);
    return unavailable("writing the HNSW graph " + tmp + " stopped short (" +
                       std::to_string(written) + " of " + std::to_string(expected) +
                       " bytes): is the disk full?");
  }
  SOCLE_RETURN_IF_ERROR(fsync_path(tmp, false));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = errno_status("cannot rename " + tmp + " to " + path);
    std::filesystem::remove(tmp, ec);
    return s;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  return fsync_path(dir.empty() ? "." : dir, true);
}

}  // namespace socle::rag
