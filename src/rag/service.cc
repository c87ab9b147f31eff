#include "rag/service.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <unordered_map>

#include "base/file.h"
#include "base/json.h"
#include "base/log.h"
#include "rag/chunk/chunker.h"
#include "rag/fusion.h"
#include "rag/index/dense_index.h"
#include "rag/index/lexical_index.h"
#include "rag/parse/document.h"
#include "rag/paths.h"

namespace socle::rag {

// One collection's open indexes. The dense index exists once the first vectors fixed its
// dimension (recorded in dense.dim beside it).
// A collection's indexes, held by shared_ptr: a search or an ingestion in progress keeps
// them alive after forget_collection drops them from the map.
struct Rag::Indexes {
  std::mutex mu;  // one writer at a time; searches read the indexes' own locks
  std::unique_ptr<LexicalIndex> lexical;
  std::string dir;
  // Made by the first document embedded (a writer, under mu) while searches may run: they
  // take the pointer under dense_mu.
  std::shared_ptr<DenseIndex> dense;
  std::mutex dense_mu;
  std::shared_ptr<DenseIndex> dense_for_search() {
    std::lock_guard lock(dense_mu);
    return dense;
  }
  void set_dense(std::shared_ptr<DenseIndex> d) {
    std::lock_guard lock(dense_mu);
    dense = std::move(d);
  }
};

namespace {

const store::Actor SYSTEM = store::Actor::system();

// Metadata values equal as JSON values: numbers by value (1 matches 1.0, as a JavaScript
// client writes 2.0 as 2), integers exactly, anything else by its text.
bool same_json(const boost::json::value& a, const boost::json::value& b) {
  auto integer = [](const boost::json::value& v) { return v.is_int64() || v.is_uint64(); };
  if (integer(a) && integer(b)) return a == b;
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  return json::dump(a) == json::dump(b);
}

// What the lexical index and the embedding model see of a chunk: its heading path first,
// so that a section's title counts for every chunk under it.
std::string indexed_text(const store::Chunk& c) {
  std::string out;
  for (const auto& h : c.heading_path) {
    out += h;
    out += '\n';
  }
  out += c.text;
  return out;
}

// Chunks that never span two pages of a paged document, so that a citation names one page:
// each page is chunked on its own (sections still split chunks within a page).
std::vector<Chunk> chunk_by_page(const ParsedDocument& doc, const ChunkSettings& settings,
                                 const Measure& measure) {
  if (doc.page_count == 0) return chunk_document(doc, settings, measure);
  std::vector<Chunk> out;
  ParsedDocument page;
  auto flush = [&] {
    if (page.blocks.empty()) return;
    for (auto& c : chunk_document(page, settings, measure))
      out.push_back(std::move(c));
    page.blocks.clear();
  };
  for (const Block& b : doc.blocks) {
    if (!page.blocks.empty() && b.page != page.blocks.back().page) flush();
    page.blocks.push_back(b);
  }
  flush();
  return out;
}

Status fail(store::Store& store, store::Document d, std::string why) {
  d.status = store::DocumentStatus::FAILED;
  d.error = std::move(why);
  log::warn("document ingestion failed", {{"document_id", d.id}, {"error", d.error}});
  return store.documents().set_status(SYSTEM, d);
}

// Whom ingestion embeds for: the document's uploader, in their organisation (the
// collection's when the user is gone).
OnBehalf ingestion_owner(store::Store& store, const store::Document& d,
                         const store::Collection& col) {
  OnBehalf who;
  who.user_id = d.owner_id;
  who.org_id = col.org_id;
  if (Result<store::User> u = store.users().get(SYSTEM, d.owner_id); u.is_ok()) {
    who.org_id = u->org_id;
  }
  who.request_id = "ingest-" + std::to_string(d.id);
  who.endpoint = "rag.ingest";
  return who;
}

}  // namespace

const char* chunk_unit_name(ChunkUnit unit) {
  return unit == ChunkUnit::TOKENS ? "tokens" : "characters";
}

int64_t rerank_candidates(int64_t k) {
  return std::min(std::max(k * 4, MIN_RERANK_CANDIDATES), MAX_RERANK_CANDIDATES);
}

Result<Measure> Rag::chunk_measure(const store::Collection& collection) {
  if (collection.embedding_model.empty()) return character_measure();
  std::string path = embedder_.tokenizer_path(collection.embedding_model);
  if (path.empty()) return character_measure();
  SOCLE_ASSIGN_OR_RETURN(auto tokenizer, tokenizers_.get(path));
  return token_measure(std::move(tokenizer));
}

Rag::Rag(store::Store& store, std::string data_dir, Embedder& embedder, RagOptions options)
    : store_(store), data_dir_(std::move(data_dir)), embedder_(embedder), options_(options) {}

Rag::~Rag() {
  stop();
}

Status Rag::start() {
  // Folders of collections whose rows are gone (deleted with their owner, or a crash between
  // the row's deletion and the folder's) are removed: nothing of a deleted collection stays.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir_ + "/collections", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (store_.collections().get(SYSTEM, std::stoll(name)).status_or_ok().code() ==
        StatusCode::NOT_FOUND) {
      std::error_code rm;
      std::filesystem::remove_all(entry.path(), rm);
      log::info("removed the folder of a deleted collection", {{"collection_id", name}});
    }
  }
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::Document> pending,
                         store_.documents().with_status(
                             SYSTEM, {store::DocumentStatus::QUEUED, store::DocumentStatus::PARSING,
                                      store::DocumentStatus::EMBEDDING}));
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
    for (const auto& d : pending)
      queue_.push_back(d.id);
  }
  if (!pending.empty()) {
    log::info("resuming document ingestion", {{"documents", static_cast<int64_t>(pending.size())}});
  }
  worker_ = std::thread([this] { run(); });
  for (int i = 0; i < options_.search_threads; ++i)
    search_threads_.emplace_back([this] { search_loop(); });
  return Status::ok();
}

void Rag::search_async(const store::Actor& actor, SearchRequest request, SearchDone done) {
  {
    std::lock_guard lock(mu_);
    searches_.push_back([this, actor, request = std::move(request), done = std::move(done)] {
      done(search(actor, request));
    });
  }
  search_wake_.notify_one();
}

void Rag::search_loop() {
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      search_wake_.wait(lock, [this] { return stopping_ || !searches_.empty(); });
      if (searches_.empty()) return;  // stopping, nothing left
      job = std::move(searches_.front());
      searches_.pop_front();
    }
    job();
  }
}

void Rag::stop() {
  {
    std::lock_guard lock(mu_);
    if (!worker_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  search_wake_.notify_all();
  worker_.join();
  for (auto& t : search_threads_)
    t.join();
  search_threads_.clear();
  std::lock_guard lock(indexes_mu_);
  for (auto& [id, ix] : indexes_) {
    std::lock_guard ilock(ix->mu);
    if (ix->dense) (void)ix->dense->save();
  }
}

void Rag::enqueue(store::Id document_id) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(document_id);
  }
  wake_.notify_one();
}

void Rag::wait_idle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return (queue_.empty() && !busy_) || stopping_; });
}

void Rag::run() {
  while (true) {
    store::Id id = 0;
    {
      std::unique_lock lock(mu_);
      busy_ = false;
      idle_.notify_all();
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      id = queue_.front();
      queue_.pop_front();
      busy_ = true;
    }
    Status s = ingest(id);
    if (s.is_ok()) continue;
    // A document deleted while it was ingested (or its collection) is not an error.
    if (Result<store::Document> now = store_.documents().get(SYSTEM, id);
        !now.is_ok() && now.status().code() == StatusCode::NOT_FOUND) {
      log::debug("document deleted during its ingestion", {{"document_id", id}});
    } else {
      log::error("document ingestion error", {{"document_id", id}, {"error", s.message()}});
    }
  }
}

Result<std::shared_ptr<Rag::Indexes>> Rag::indexes_for(const store::Collection& collection) {
  std::lock_guard lock(indexes_mu_);
  auto it = indexes_.find(collection.id);
  if (it != indexes_.end()) return it->second;
  // A deleted collection's indexes are not made again (its folder would come back): an
  // ingestion or search that began before the deletion ends here.
  if (forgotten_.contains(collection.id)) {
    return not_found("no collection " + std::to_string(collection.id));
  }
  auto ix = std::make_shared<Indexes>();
  ix->dir = collection_dir(data_dir_, collection.id);
  std::error_code ec;
  std::filesystem::create_directories(ix->dir, ec);
  if (ec) return internal_error("cannot create " + ix->dir + ": " + ec.message());
  SOCLE_ASSIGN_OR_RETURN(ix->lexical, LexicalIndex::open(ix->dir));
  if (auto dim = read_file(ix->dir + "/dense.dim"); dim.is_ok()) {
    DenseOptions o;
    o.dim = std::stoll(*dim);
    o.exact_max = options_.dense_exact_threshold;
    SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<DenseIndex> dense,
                           DenseIndex::open(ix->dir + "/dense", o));
    ix->set_dense(std::move(dense));
  }
  indexes_.emplace(collection.id, ix);
  return ix;
}

Status Rag::ingest(store::Id document_id) {
  Result<store::Document> got = store_.documents().get(SYSTEM, document_id);
  if (!got.is_ok()) return Status::ok();  // deleted meanwhile
  store::Document d = std::move(got).value();
  if (d.status == store::DocumentStatus::READY || d.status == store::DocumentStatus::FAILED) {
    return Status::ok();
  }
  SOCLE_ASSIGN_OR_RETURN(store::Collection col, store_.collections().get(SYSTEM, d.collection_id));
  d.status = store::DocumentStatus::PARSING;
  SOCLE_RETURN_IF_ERROR(store_.documents().set_status(SYSTEM, d));

  Result<std::string> bytes = read_file(document_file(data_dir_, d.collection_id, d.id));
  if (!bytes.is_ok()) {
    return fail(store_, d,
                "the uploaded file is missing (the server stopped before saving it); upload it "
                "again");
  }
  ParseLimits limits;
  limits.max_bytes = options_.max_bytes;
  limits.max_pages = static_cast<int>(options_.max_pages);
  Result<ParsedDocument> parsed = parse_document(*bytes, d.name, d.content_type, limits);
  if (!parsed.is_ok()) return fail(store_, d, parsed.status().message());
  d.page_count = parsed->page_count;
  d.pages_without_text = parsed->pages_without_text;
  if (parsed->blocks.empty()) {
    return fail(store_, d,
                d.pages_without_text.empty()
                    ? "the document holds no text"
                    : "no page has a text layer (a scanned document?): OCR it first, or upload "
                      "a version with text");
  }

  ChunkSettings settings{col.chunk_size, col.chunk_overlap};
  if (Status valid = check_chunk_settings(settings); !valid.is_ok()) {
    return fail(store_, d, "the collection's chunk settings are invalid: " + valid.message());
  }
  Result<Measure> measure = chunk_measure(col);
  if (!measure.is_ok()) return fail(store_, d, measure.status().message());
  std::vector<Chunk> pieces = chunk_by_page(*parsed, settings, *measure);
  if (static_cast<int64_t>(pieces.size()) > options_.max_chunks) {
    return fail(store_, d,
                "the document makes " + std::to_string(pieces.size()) + " chunks; at most " +
                    std::to_string(options_.max_chunks) +
                    " are indexed per document: split it, or raise the collection's chunk_size");
  }
  std::vector<store::Chunk> rows;
  rows.reserve(pieces.size());
  for (auto& p : pieces) {
    store::Chunk c;
    c.text = std::move(p.text);
    c.page_start = p.page_start;
    c.page_end = p.page_end;
    c.heading_path = std::move(p.heading_path);
    rows.push_back(std::move(c));
  }
  Result<std::shared_ptr<Indexes>> found = indexes_for(col);
  if (found.status_or_ok().code() == StatusCode::NOT_FOUND) return Status::ok();  // deleted
  SOCLE_ASSIGN_OR_RETURN(std::shared_ptr<Indexes> ix, std::move(found));
  std::lock_guard ilock(ix->mu);
  // A resumed document may have chunks from an earlier attempt in the indexes: drop them.
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::Chunk> old, store_.documents().chunks(SYSTEM, d.id));
  std::vector<int64_t> old_ids;
  old_ids.reserve(old.size());
  for (const auto& c : old)
    old_ids.push_back(c.id);
  SOCLE_RETURN_IF_ERROR(ix->lexical->remove(old_ids));
  if (ix->dense) SOCLE_RETURN_IF_ERROR(ix->dense->remove(old_ids));
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::Chunk> stored,
                         store_.documents().put_chunks(SYSTEM, d.id, rows));

  if (!col.embedding_model.empty()) {
    const OnBehalf who = ingestion_owner(store_, d, col);
    d.status = store::DocumentStatus::EMBEDDING;
    SOCLE_RETURN_IF_ERROR(store_.documents().set_status(SYSTEM, d));
    for (size_t start = 0; start < stored.size();
         start += static_cast<size_t>(options_.embed_batch)) {
      size_t end = std::min(stored.size(), start + static_cast<size_t>(options_.embed_batch));
      std::vector<std::string> texts;
      std::vector<int64_t> ids;
      for (size_t i = start; i < end; ++i) {
        texts.push_back(indexed_text(stored[i]));
        ids.push_back(stored[i].id);
      }
      Result<std::vector<std::vector<float>>> vectors =
          embedder_.embed_on_behalf(who, col.embedding_model, texts);
      if (!vectors.is_ok()) {
        return fail(store_, d, "embedding failed: " + vectors.status().message());
      }
      size_t dim = (*vectors)[0].size();
      if (!ix->dense) {
        DenseOptions o;
        o.dim = static_cast<int64_t>(dim);
        o.exact_max = options_.dense_exact_threshold;
        SOCLE_RETURN_IF_ERROR(write_file_atomic(ix->dir + "/dense.dim", std::to_string(dim)));
        SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<DenseIndex> dense,
                               DenseIndex::open(ix->dir + "/dense", o));
        ix->set_dense(std::move(dense));
      }
      std::vector<float> flat;
      flat.reserve(ids.size() * dim);
      for (const auto& v : *vectors) {
        if (v.size() != static_cast<size_t>(ix->dense->dim())) {
          return fail(store_, d, "the embedding model's dimension changed");
        }
        flat.insert(flat.end(), v.begin(), v.end());
      }
      Status added = ix->dense->add(ids, flat);
      if (!added.is_ok()) return fail(store_, d, "indexing failed: " + added.message());
    }
    SOCLE_RETURN_IF_ERROR(ix->dense->save());
  }
  // One transaction for the whole document.
  std::vector<std::string> texts;
  texts.reserve(stored.size());
  for (const auto& c : stored)
    texts.push_back(indexed_text(c));
  std::vector<LexicalEntry> entries;
  entries.reserve(stored.size());
  for (size_t i = 0; i < stored.size(); ++i)
    entries.push_back({stored[i].id, texts[i]});
  SOCLE_RETURN_IF_ERROR(ix->lexical->add(entries));

  // Ready only now: every chunk is in every index.
  d.status = store::DocumentStatus::READY;
  d.error.clear();
  d.chunk_count = static_cast<int64_t>(stored.size());
  SOCLE_RETURN_IF_ERROR(store_.documents().set_status(SYSTEM, d));
  log::info("document ready", {{"document_id", d.id}, {"chunks", d.chunk_count}});
  return Status::ok();
}

Status Rag::forget_document(store::Id collection_id, const std::vector<store::Id>& chunk_ids) {
  Result<store::Collection> col = store_.collections().get(SYSTEM, collection_id);
  if (!col.is_ok()) return Status::ok();
  SOCLE_ASSIGN_OR_RETURN(std::shared_ptr<Indexes> ix, indexes_for(*col));
  std::lock_guard ilock(ix->mu);
  SOCLE_RETURN_IF_ERROR(ix->lexical->remove(chunk_ids));
  if (ix->dense) {
    SOCLE_RETURN_IF_ERROR(ix->dense->remove(chunk_ids));
    SOCLE_RETURN_IF_ERROR(ix->dense->save());
  }
  return Status::ok();
}

void Rag::forget_collection(store::Id collection_id) {
  close_indexes(collection_id, true);
}

void Rag::close_indexes(store::Id collection_id, bool deleted) {
  std::shared_ptr<Indexes> gone;
  {
    std::lock_guard lock(indexes_mu_);
    if (deleted) forgotten_.insert(collection_id);
    auto it = indexes_.find(collection_id);
    if (it == indexes_.end()) return;
    gone = std::move(it->second);
    indexes_.erase(it);
  }
  // Let a writer in progress finish; searches still running keep the indexes alive (their
  // files, removed by the caller, stay readable through the open handles) until they end.
  std::lock_guard ilock(gone->mu);
}

Result<std::vector<SearchHit>> Rag::search(const store::Actor& actor, const SearchRequest& r) {
  // Readable collections only; a missing and an unreadable one answer alike.
  std::vector<store::Collection> cols;
  std::set<store::Id> seen;
  for (store::Id id : r.collections) {
    if (!seen.insert(id).second) continue;
    SOCLE_ASSIGN_OR_RETURN(store::Collection c, store_.collections().get(actor, id));
    cols.push_back(std::move(c));
  }
  bool want_dense = r.method != SearchMethod::LEXICAL;
  bool want_lexical = r.method != SearchMethod::SEMANTIC;
  // More candidates than asked: metadata filters and the fusion work on them.
  int64_t pool = std::max<int64_t>(r.k * 4, 50);
  // With a reranker, the candidates it scores are kept through the filters.
  const int64_t keep = r.rerank_model.empty() ? r.k : rerank_candidates(r.k);
  pool = std::max(pool, keep);
  OnBehalf who{actor.user_id, actor.org_id, r.key_id, r.request_id, r.usage_endpoint};

  std::unordered_map<std::string, std::vector<float>> query_vectors;
  std::vector<Hit> dense_hits, lexical_hits;
  for (const auto& c : cols) {
    SOCLE_ASSIGN_OR_RETURN(std::shared_ptr<Indexes> ix, indexes_for(c));
    if (want_lexical) {
      SOCLE_ASSIGN_OR_RETURN(std::vector<Hit> h, ix->lexical->search(r.query, pool));
      lexical_hits.insert(lexical_hits.end(), h.begin(), h.end());
    }
    std::shared_ptr<DenseIndex> dense = ix->dense_for_search();
    if (want_dense && !c.embedding_model.empty() && dense) {
      auto qv = query_vectors.find(c.embedding_model);
      if (qv == query_vectors.end()) {
        SOCLE_ASSIGN_OR_RETURN(auto v,
                               embedder_.embed_on_behalf(who, c.embedding_model, {r.query}));
        qv = query_vectors.emplace(c.embedding_model, std::move(v[0])).first;
      }
      if (static_cast<int64_t>(qv->second.size()) == dense->dim()) {
        SOCLE_ASSIGN_OR_RETURN(std::vector<Hit> h, dense->search(qv->second, pool));
        dense_hits.insert(dense_hits.end(), h.begin(), h.end());
      }
    }
  }
  if (want_dense && r.method == SearchMethod::SEMANTIC && query_vectors.empty()) {
    bool any_model = false;
    for (const auto& c : cols)
      any_model = any_model || !c.embedding_model.empty();
    if (!any_model) {
      return invalid_argument(
          "semantic search needs a collection with an embedding model; these are lexical only: "
          "use method \"lexical\" or \"hybrid\"",
          "method");
    }
  }
  auto by_score = [](const Hit& a, const Hit& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  };
  std::sort(dense_hits.begin(), dense_hits.end(), by_score);
  std::sort(lexical_hits.begin(), lexical_hits.end(), by_score);

  std::vector<std::pair<int64_t, double>> ranked;
  const char* method = "hybrid";
  if (r.method == SearchMethod::HYBRID) {
    std::vector<int64_t> a, b;
    for (const auto& h : dense_hits)
      a.push_back(h.id);
    for (const auto& h : lexical_hits)
      b.push_back(h.id);
    for (const auto& x : reciprocal_rank_fusion({a, b}, r.rrf_k))
      ranked.emplace_back(x.id, x.score);
  } else {
    method = r.method == SearchMethod::SEMANTIC ? "semantic" : "lexical";
    for (const auto& h : r.method == SearchMethod::SEMANTIC ? dense_hits : lexical_hits)
      ranked.emplace_back(h.id, h.score);
  }

  std::vector<store::Id> ids;
  for (const auto& [id, score] : ranked) {
    if (r.score_threshold && score < *r.score_threshold) continue;
    ids.push_back(id);
  }
  // The store checks access again: a chunk of a collection the caller may not read is not
  // returned, whatever an index holds.
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::Chunk> chunks,
                         store_.documents().chunks_by_id(actor, ids));
  std::unordered_map<store::Id, double> score_of(ranked.begin(), ranked.end());
  std::unordered_map<store::Id, store::Document> docs;
  std::vector<SearchHit> out;
  std::vector<boost::json::value> wanted;
  for (const auto& [key, text] : r.metadata) {
    Result<boost::json::value> v = json::parse(text);
    wanted.push_back(v.is_ok() ? std::move(v).value() : boost::json::value());
  }
  for (auto& c : chunks) {
    auto d = docs.find(c.document_id);
    if (d == docs.end()) {
      Result<store::Document> got = store_.documents().get(actor, c.document_id);
      if (!got.is_ok()) continue;
      d = docs.emplace(c.document_id, std::move(got).value()).first;
    }
    if (d->second.status != store::DocumentStatus::READY) continue;
    if (!r.metadata.empty()) {
      Result<boost::json::value> meta = json::parse(d->second.metadata);
      bool match = meta.is_ok() && meta->is_object();
      for (size_t i = 0; i < r.metadata.size() && match; ++i) {
        const boost::json::value* v = meta->as_object().if_contains(r.metadata[i].first);
        match = v != nullptr && same_json(*v, wanted[i]);
      }
      if (!match) continue;
    }
    SearchHit h;
    h.score = score_of[c.id];
    h.retrieval_score = h.score;
    h.method = method;
    h.document_name = d->second.name;
    h.document_metadata = d->second.metadata;
    h.chunk = std::move(c);
    out.push_back(std::move(h));
    if (static_cast<int64_t>(out.size()) == keep) break;
  }
  if (r.rerank_model.empty()) return out;
  return rerank(actor, r, std::move(out));
}

Result<std::vector<SearchHit>> Rag::rerank(const store::Actor& actor, const SearchRequest& r,
                                           std::vector<SearchHit> candidates) {
  if (candidates.empty()) return candidates;
  std::vector<std::string> texts;
  texts.reserve(candidates.size());
  for (const auto& h : candidates)
    texts.push_back(indexed_text(h.chunk));  // what the embedding model saw, heading path first
  OnBehalf who{actor.user_id, actor.org_id, r.key_id, r.request_id, "rag.rerank"};
  SOCLE_ASSIGN_OR_RETURN(std::vector<double> scores,
                         embedder_.rerank(who, r.rerank_model, r.query, texts));
  if (scores.size() != candidates.size()) {
    return Status{StatusCode::UNAVAILABLE,
                  "the rerank model '" + r.rerank_model + "' scored " +
                      std::to_string(scores.size()) + " of " + std::to_string(candidates.size()) +
                      " chunks",
                  "rerank_model", "upstream_error"};
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    candidates[i].rerank_score = scores[i];
    candidates[i].score = scores[i];
  }
  // Ties keep the retrieval order.
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const SearchHit& a, const SearchHit& b) { return a.score > b.score; });
  if (static_cast<int64_t>(candidates.size()) > r.k) candidates.resize(static_cast<size_t>(r.k));
  return candidates;
}

Status Rag::rebuild_all() {
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::Collection> cols, store_.collections().list(SYSTEM));
  for (const auto& col : cols) {
    close_indexes(col.id, false);  // closed to be made again, not deleted
    std::string dir = collection_dir(data_dir_, col.id);
    std::error_code ec;
    std::filesystem::remove(dir + "/lexical.db", ec);
    std::filesystem::remove(dir + "/lexical.db-wal", ec);
    std::filesystem::remove(dir + "/lexical.db-shm", ec);
    std::filesystem::remove(dir + "/dense.dim", ec);
    std::filesystem::remove_all(dir + "/dense", ec);
    std::vector<store::Id> docs;
    store::Id after = 0;
    while (true) {
      SOCLE_ASSIGN_OR_RETURN(std::vector<store::Document> page,
                             store_.documents().list(SYSTEM, col.id, after, 500));
      if (page.empty()) break;
      for (const auto& d : page) {
        // Re-ingest from the stored original: the same parse, chunks and vectors.
        store::Document reset = d;
        reset.status = store::DocumentStatus::QUEUED;
        SOCLE_RETURN_IF_ERROR(store_.documents().set_status(SYSTEM, reset));
        docs.push_back(d.id);
      }
      after = page.back().id;
    }
    for (store::Id id : docs)
      SOCLE_RETURN_IF_ERROR(ingest(id));
  }
  return Status::ok();
}

}  // namespace socle::rag
