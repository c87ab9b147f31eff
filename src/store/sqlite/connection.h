// What the SQLite aggregate stores share: the one connection, the lock that serialises its
// use (SQLite connections are not to be used from two threads at once), and the write
// helper that wraps each change in a savepoint with the change-counter bump.
#pragma once

#include <functional>
#include <mutex>

#include "base/clock.h"
#include "store/sqlite/db.h"

namespace socle::store::sqlite {

struct Connection {
  Connection(Db d, const Clock& c) : db(std::move(d)), clock(c) {}
  Db db;
  const Clock& clock;
  std::recursive_mutex mu;  // guards db; recursive so that a transaction can call the stores
};

// Runs `body` under the lock in a savepoint (nested inside a surrounding transaction if
// any) and bumps the change counter with it; rolls back if `body` fails.
Status write_in_savepoint(Connection& c, const std::function<Status()>& body);

// The same without the change-counter bump, for data that no server caches (documents,
// chunks, usage): moving the counter makes every node reload its key cache.
Status write_data_in_savepoint(Connection& c, const std::function<Status()>& body);

}  // namespace socle::store::sqlite
