#include "rag/index/lexical_index.h"

#include <unordered_set>

#include "base/file.h"
#include "rag/index/french_fts5.h"
#include "rag/index/french_tokenizer.h"

namespace socle::rag {
namespace {

constexpr const char* LEXICAL_FILE = "lexical.db";

// Undoes a transaction unless commit() ran.
class Transaction {
 public:
  explicit Transaction(store::sqlite::Db& db) : db_(db) {}
  ~Transaction() {
    if (open_) (void)db_.exec("ROLLBACK");
  }
  Status begin() {
    SOCLE_RETURN_IF_ERROR(db_.exec("BEGIN IMMEDIATE"));
    open_ = true;
    return Status::ok();
  }
  Status commit() {
    SOCLE_RETURN_IF_ERROR(db_.exec("COMMIT"));
    open_ = false;
    return Status::ok();
  }

 private:
  store::sqlite::Db& db_;
  bool open_ = false;
};

}  // namespace

Result<std::unique_ptr<LexicalIndex>> LexicalIndex::open(const std::string& dir) {
  SOCLE_RETURN_IF_ERROR(make_dirs(dir));
  SOCLE_ASSIGN_OR_RETURN(store::sqlite::Db db, store::sqlite::Db::open(dir + "/" + LEXICAL_FILE));
  SOCLE_RETURN_IF_ERROR(french_fts5_register(db.handle()));
  SOCLE_RETURN_IF_ERROR(db.exec(std::string("CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING "
                                            "fts5(text, tokenize='") +
                                FRENCH_FTS5_TOKENIZER + "')"));
  return std::unique_ptr<LexicalIndex>(new LexicalIndex(std::move(db)));
}

Status LexicalIndex::add(std::span<const LexicalEntry> entries) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  SOCLE_RETURN_IF_ERROR(tx.begin());
  // Delete then insert: FTS5 must see the old text go to take its terms out of the index.
  SOCLE_ASSIGN_OR_RETURN(auto del, db_.prepare("DELETE FROM chunks WHERE rowid = ?1"));
  SOCLE_ASSIGN_OR_RETURN(auto ins, db_.prepare("INSERT INTO chunks(rowid, text) VALUES(?1, ?2)"));
  for (const LexicalEntry& e : entries) {
    del.reset();
    SOCLE_RETURN_IF_ERROR(del.bind(1, e.id).run());
    ins.reset();
    SOCLE_RETURN_IF_ERROR(ins.bind(1, e.id).bind(2, e.text).run());
  }
  return tx.commit();
}

Status LexicalIndex::add(int64_t id, std::string_view text) {
  LexicalEntry entry{id, text};
  return add(std::span<const LexicalEntry>(&entry, 1));
}

Status LexicalIndex::remove(std::span<const int64_t> ids) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  SOCLE_RETURN_IF_ERROR(tx.begin());
  SOCLE_ASSIGN_OR_RETURN(auto del, db_.prepare("DELETE FROM chunks WHERE rowid = ?1"));
  for (int64_t id : ids) {
    del.reset();
    SOCLE_RETURN_IF_ERROR(del.bind(1, id).run());
  }
  return tx.commit();
}

std::string LexicalIndex::match_expression(std::string_view query) {
  std::string expr;
  std::unordered_set<std::string> seen;
  for (FrenchToken& w : FrenchTokenizer::words(query)) {
    // FTS5's OR costs grow with the square of its terms (100,000 took 37 s): the first
    // MAX_QUERY_TERMS distinct words are the query.
    if (seen.size() >= MAX_QUERY_TERMS) break;
    if (!seen.insert(w.text).second) continue;
    if (!expr.empty()) expr += " OR ";
    expr += '"';
    for (char c : w.text) {  // words hold letters, digits and ', but quote defensively
      if (c == '"') expr += '"';
      expr += c;
    }
    expr += '"';
  }
  return expr;
}

Result<std::vector<Hit>> LexicalIndex::search(std::string_view query, int64_t k,
                                              const IdFilter* filter) const {
  if (k < 0) return invalid_argument("k must not be negative");
  std::string expr = match_expression(query);
  if (k == 0 || expr.empty()) return std::vector<Hit>{};

  std::lock_guard lock(mu_);
  // Without a filter SQLite stops at k rows; with one, rows come until k pass it.
  SOCLE_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT rowid, bm25(chunks) FROM chunks WHERE "
                                                "chunks MATCH ?1 ORDER BY bm25(chunks), rowid "
                                                "LIMIT ?2"));
  stmt.bind(1, std::string_view(expr)).bind(2, filter == nullptr ? k : int64_t{-1});
  std::vector<Hit> hits;
  while (static_cast<int64_t>(hits.size()) < k) {
    SOCLE_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    int64_t id = stmt.column_int(0);
    if (filter != nullptr && !(*filter)(id)) continue;
    hits.push_back({id, -stmt.column_double(1)});
  }
  return hits;
}

Result<int64_t> LexicalIndex::size() const {
  std::lock_guard lock(mu_);
  SOCLE_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT count(*) FROM chunks"));
  SOCLE_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return internal_error("count(*) returned no row");
  return stmt.column_int(0);
}

}  // namespace socle::rag
