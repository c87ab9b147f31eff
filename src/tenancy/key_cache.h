// The in-memory table of keys that may authenticate, so that no request reads the store.
// It is rebuilt from the store whenever the store's change counter moves (refresh()), and
// a key revoked on this node is dropped at once (forget_key()).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/store.h"

namespace socle::tenancy {

// Who a request is from, as the key cache knows it.
struct Principal {
  store::Id user_id = 0;
  store::Id org_id = 0;
  store::Id role_id = 0;
  store::Id key_id = 0;
  std::string user_name;
  std::string role_name;
  std::vector<std::string> permissions;
  std::optional<int64_t> key_expires_at;

  // True if the role carries `permission` or "admin".
  bool has(std::string_view permission) const;
  // The store actor for work gated by `permission`: administrators act on all tenants,
  // holders of `permission` on their organisation, anyone else on their own rows.
  store::Actor actor_for(std::string_view permission) const;
};

class KeyCache {
 public:
  KeyCache(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Rebuilds the table from the store.
  Status reload();
  // Reloads if the store's change counter moved since the last load; cheap otherwise.
  Status refresh();

  // The principal for a bearer secret, or nullptr if the key is unknown, revoked or expired.
  // The hash is looked up by its first 8 bytes and then compared whole in constant time.
  std::shared_ptr<const Principal> authenticate(std::string_view secret) const;

  // Drops a key at once (a revocation on this node), before the next reload.
  void forget_key(store::Id key_id);

  size_t size() const;

 private:
  struct Entry {
    std::string hash;
    std::shared_ptr<const Principal> principal;
  };
  using Table = std::unordered_multimap<uint64_t, Entry>;

  store::Store& store_;
  const Clock& clock_;
  mutable std::shared_mutex mu_;
  Table table_;                  // guarded by mu_
  int64_t loaded_counter_ = -1;  // guarded by mu_
};

}  // namespace socle::tenancy
