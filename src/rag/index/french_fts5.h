// The French tokenizer (french_tokenizer.h) as an SQLite FTS5 custom tokenizer, so that FTS5
// tables index and query with it: CREATE VIRTUAL TABLE t USING fts5(text, tokenize='socle_fr').
#pragma once

#include <sqlite3.h>

#include "base/status.h"

namespace socle::rag {

constexpr const char* FRENCH_FTS5_TOKENIZER = "socle_fr";

// Registers the tokenizer on connection `db` (tokenizers are per connection): call it after
// opening, before touching a table that uses it. INTERNAL when SQLite was built without FTS5.
Status french_fts5_register(sqlite3* db);

}  // namespace socle::rag
