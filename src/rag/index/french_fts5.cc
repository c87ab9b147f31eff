#include "rag/index/french_fts5.h"

#include <exception>
#include <memory>
#include <new>
#include <string>

#include "rag/index/french_tokenizer.h"

namespace socle::rag {
namespace {

// FTS5 holds each table's tokenizer as an opaque Fts5Tokenizer*; ours is a FrenchTokenizer.
// These callbacks are the C boundary: no exception crosses it.

int tokenizer_create(void* /*context*/, const char** /*args*/, int n_args, Fts5Tokenizer** out) {
  *out = nullptr;
  if (n_args != 0) return SQLITE_ERROR;  // socle_fr takes no options
  try {
    auto tokenizer = FrenchTokenizer::create();
    if (!tokenizer.is_ok()) return SQLITE_ERROR;
    // Ownership passes to FTS5, which gives it back to tokenizer_delete.
    *out = reinterpret_cast<Fts5Tokenizer*>(std::move(tokenizer).value().release());
    return SQLITE_OK;
  } catch (const std::bad_alloc&) {
    return SQLITE_NOMEM;
  } catch (const std::exception&) {
    return SQLITE_ERROR;
  }
}

void tokenizer_delete(Fts5Tokenizer* tokenizer) {
  std::unique_ptr<FrenchTokenizer> owned(reinterpret_cast<FrenchTokenizer*>(tokenizer));
}

int tokenizer_tokenize(Fts5Tokenizer* tokenizer, void* context, int /*flags*/, const char* text,
                       int n_text,
                       int (*emit)(void* context, int flags, const char* token, int n_token,
                                   int begin, int end)) {
  if (text == nullptr || n_text <= 0) return SQLITE_OK;
  try {
    auto* french = reinterpret_cast<FrenchTokenizer*>(tokenizer);
    // Offsets and lengths fit in int: the input's length is one.
    for (const FrenchToken& t : french->tokenize({text, static_cast<size_t>(n_text)})) {
      int rc = emit(context, 0, t.text.data(), static_cast<int>(t.text.size()),
                    static_cast<int>(t.begin), static_cast<int>(t.end));
      if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
  } catch (const std::bad_alloc&) {
    return SQLITE_NOMEM;
  } catch (const std::exception&) {
    return SQLITE_ERROR;
  }
}

// FTS5's API object, handed out through a pointer-passing function (sqlite3_bind_pointer's
// "fts5_api_ptr" type, SQLite 3.20 and later).
Result<fts5_api*> fts5_api_of(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return internal_error(std::string("this SQLite has no FTS5: ") + sqlite3_errmsg(db));
  }
  fts5_api* api = nullptr;
  sqlite3_bind_pointer(stmt, 1, &api, "fts5_api_ptr", nullptr);
  sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if (api == nullptr || api->iVersion < 2) return internal_error("FTS5 gave no usable API");
  return api;
}

}  // namespace

Status french_fts5_register(sqlite3* db) {
  SOCLE_ASSIGN_OR_RETURN(fts5_api * api, fts5_api_of(db));
  // Not const: xCreateTokenizer takes a non-const pointer (and copies the three methods).
  static fts5_tokenizer methods = {tokenizer_create, tokenizer_delete, tokenizer_tokenize};
  int rc = api->xCreateTokenizer(api, FRENCH_FTS5_TOKENIZER, nullptr, &methods, nullptr);
  if (rc != SQLITE_OK) {
    return internal_error(std::string("cannot register the FTS5 tokenizer socle_fr: ") +
                          sqlite3_errstr(rc));
  }
  return Status::ok();
}

}  // namespace socle::rag
