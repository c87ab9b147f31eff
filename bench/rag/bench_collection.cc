#include "bench_collection.h"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <random>

#include "base/clock.h"
#include "base/file.h"
#include "base/hash.h"
#include "rag/chunk/chunker.h"
#include "rag/paths.h"

namespace socle::bench::rag {
namespace {

const store::Actor SYSTEM = store::Actor::system();

std::vector<std::string> lower_words(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    // Letters and UTF-8 bytes (accented letters) belong to words; the rest separates them.
    if (std::isalnum(c) != 0 || c >= 0x80) {
      w += static_cast<char>(std::tolower(c));
    } else if (!w.empty()) {
      out.push_back(std::move(w));
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(std::move(w));
  return out;
}

}  // namespace

const std::vector<float>& HashEmbedder::word_vector(const std::string& word) {
  auto it = cache_.find(word);
  if (it != cache_.end()) return it->second;
  // FNV-1a of the word seeds the word's vector.
  uint64_t h = 1469598103934665603ULL;
  for (char c : word)
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  std::mt19937_64 rng(h);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(dim_));
  for (float& x : v)
    x = normal(rng);
  return cache_.emplace(word, std::move(v)).first->second;
}

Result<std::vector<std::vector<float>>> HashEmbedder::embed(const std::string& /*model*/,
                                                            const std::vector<std::string>& texts) {
  std::lock_guard lock(mu_);
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  for (const auto& t : texts) {
    std::vector<float> v(static_cast<size_t>(dim_), 0.0f);
    for (const auto& w : lower_words(t)) {
      const auto& wv = word_vector(w);
      for (size_t i = 0; i < v.size(); ++i)
        v[i] += wv[i];
    }
    // An empty text still needs a valid (non-zero) vector.
    if (std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; })) v[0] = 1.0f;
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::string> make_temp_dir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return internal_error("cannot create a temporary directory " + pattern);
  }
  return pattern;
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

Result<std::unique_ptr<BenchCollection>> BenchCollection::create(const std::string& embedding_model,
                                                                 int64_t chunk_size,
                                                                 int64_t embed_dim) {
  std::unique_ptr<BenchCollection> b(new BenchCollection());
  SOCLE_ASSIGN_OR_RETURN(b->data_dir_, make_temp_dir("socle-bench-rag-"));
  SOCLE_ASSIGN_OR_RETURN(
      b->store_, store::open_sqlite_store(b->data_dir_ + "/socle.db", SystemClock::instance()));
  SOCLE_ASSIGN_OR_RETURN(store::Organisation org, b->store_->orgs().create(SYSTEM, "bench"));
  SOCLE_ASSIGN_OR_RETURN(store::Role role, b->store_->roles().create(SYSTEM, "bench-user", {}));
  store::NewUser nu;
  nu.org_id = org.id;
  nu.role_id = role.id;
  nu.name = "bench";
  nu.email = "bench@example.org";
  SOCLE_ASSIGN_OR_RETURN(store::User user, b->store_->users().create(SYSTEM, nu));
  b->actor_ = store::Actor::user(user.id, org.id);
  store::Collection c;
  c.name = "bench";
  c.embedding_model = embedding_model;
  c.chunk_size = chunk_size;
  c.chunk_overlap = socle::rag::ChunkSettings{}.overlap;
  SOCLE_ASSIGN_OR_RETURN(store::Collection made, b->store_->collections().create(b->actor_, c));
  b->collection_id_ = made.id;
  b->embedder_ = std::make_unique<HashEmbedder>(embed_dim);
  // The server's options (api/app.cc builds its Rag with RagOptions{}).
  b->rag_ = std::make_unique<socle::rag::Rag>(*b->store_, b->data_dir_, *b->embedder_,
                                              socle::rag::RagOptions{});
  SOCLE_RETURN_IF_ERROR(b->rag_->start());
  return b;
}

BenchCollection::~BenchCollection() {
  if (rag_) rag_->stop();
  rag_.reset();
  store_.reset();
  if (!data_dir_.empty()) remove_tree(data_dir_);
}

Result<store::Id> BenchCollection::add_document(const std::string& name,
                                                const std::string& content_type,
                                                const std::string& bytes) {
  store::Document d;
  d.collection_id = collection_id_;
  d.name = name;
  d.content_type = content_type;
  d.bytes = static_cast<int64_t>(bytes.size());
  d.sha256 = to_hex(sha256(bytes));
  d.metadata = "{}";
  SOCLE_ASSIGN_OR_RETURN(store::Document made, store_->documents().create(actor_, d));
  std::string path = socle::rag::document_file(data_dir_, collection_id_, made.id);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return internal_error("cannot create the folder of " + path + ": " + ec.message());
  SOCLE_RETURN_IF_ERROR(write_file_atomic(path, bytes, 0600));
  documents_.push_back(made.id);
  return made.id;
}

void BenchCollection::ingest_all() {
  for (; queued_ < documents_.size(); ++queued_)
    rag_->enqueue(documents_[queued_]);
  rag_->wait_idle();
}

Result<std::vector<socle::rag::SearchHit>> BenchCollection::search(
    const socle::rag::SearchRequest& request) {
  return rag_->search(actor_, request);
}

}  // namespace socle::bench::rag
