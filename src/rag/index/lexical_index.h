// A collection's lexical index: BM25 over chunk texts, in an SQLite FTS5 table tokenized by
// the French tokenizer (french_tokenizer.h, registered as socle_fr). The database is
// lexical.db in the collection's directory, in WAL mode; a chunk's id is its FTS5 rowid.
//
// Queries go through the same tokenizer, and their terms are OR-ed (FTS5's default is AND):
// a chunk that holds any query term matches, and BM25 ranks those that hold more of them,
// more often, in shorter texts, first.
//
// Threads: every method may be called from any thread; one connection serves them in turn.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "rag/index/hits.h"
#include "store/sqlite/db.h"

namespace socle::rag {

struct LexicalEntry {
  int64_t id = 0;
  std::string_view text;
};

class LexicalIndex {
 public:
  // Opens (creating if needed) `dir`/lexical.db.
  static Result<std::unique_ptr<LexicalIndex>> open(const std::string& dir);

  // Indexes each entry's text under its id, replacing what the id had; one transaction.
  Status add(std::span<const LexicalEntry> entries);
  Status add(int64_t id, std::string_view text);
  // Removes ids; absent ones are ignored.
  Status remove(std::span<const int64_t> ids);

  // The k chunks that best match `query` by BM25 among those `filter` allows (all when
  // null), best first, ties by smaller id. A hit's score is FTS5's bm25() negated, so higher
  // is better. A query with no terms left once tokenized (only stop words, punctuation)
  // matches nothing and returns no hits.
  Result<std::vector<Hit>> search(std::string_view query, int64_t k,
                                  const IdFilter* filter = nullptr) const;

  Result<int64_t> size() const;

  // The most distinct words a query searches for (the first ones): FTS5's OR over n terms
  // costs about n^2, and a query is a question, not a document.
  static constexpr size_t MAX_QUERY_TERMS = 1024;

  // The FTS5 MATCH expression for `query`: its folded words (tokenizer steps 1 to 5), each
  // quoted, joined by OR, at most MAX_QUERY_TERMS distinct ones; FTS5 stems each one as it
  // tokenizes the expression. Empty when no word is left. (Passing the stems themselves would stem
  // them twice: "donne", the stem of "donnees", stems to "don".)
  static std::string match_expression(std::string_view query);

 private:
  explicit LexicalIndex(store::sqlite::Db db) : db_(std::move(db)) {}

  mutable std::mutex mu_;
  mutable store::sqlite::Db db_;  // guarded by mu_
};

}  // namespace socle::rag
