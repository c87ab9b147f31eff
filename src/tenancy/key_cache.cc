#include "tenancy/key_cache.h"

#include <cstring>
#include <mutex>

#include "base/hash.h"
#include "tenancy/api_key.h"
#include "tenancy/permissions.h"

namespace socle::tenancy {
namespace {

uint64_t bucket_of(std::string_view hash) {
  uint64_t b = 0;
  std::memcpy(&b, hash.data(), sizeof b);
  return b;
}

}  // namespace

bool Principal::has(std::string_view permission) const {
  for (const auto& p : permissions) {
    if (p == permission || p == PERM_ADMIN) return true;
  }
  return false;
}

store::Actor Principal::actor_for(std::string_view permission) const {
  if (has(PERM_ADMIN)) return store::Actor{user_id, org_id, true, false};
  if (has(permission)) return store::Actor::organisation(user_id, org_id);
  return store::Actor::user(user_id, org_id);
}

Status KeyCache::reload() {
  // Read the counter first: a change landing during the read is then seen by the next refresh.
  SOCLE_ASSIGN_OR_RETURN(int64_t counter, store_.change_counter());
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::KeyGrant> grants,
                         store_.keys().list_grants(store::Actor::system(), clock_.unix_seconds()));
  Table table;
  table.reserve(grants.size());
  for (auto& g : grants) {
    auto p = std::make_shared<Principal>();
    p->user_id = g.user_id;
    p->org_id = g.org_id;
    p->role_id = g.role_id;
    p->key_id = g.key_id;
    p->user_name = std::move(g.user_name);
    p->role_name = std::move(g.role_name);
    p->permissions = std::move(g.permissions);
    p->key_expires_at = g.expires_at;
    uint64_t b = bucket_of(g.hash);
    table.emplace(b, Entry{std::move(g.hash), std::move(p)});
  }
  std::unique_lock lock(mu_);
  // Two reloads may overlap (the poller's and a revocation's): the one that read the older
  // counter may hold a key revoked since, and must not replace the newer table.
  if (counter < loaded_counter_) return Status::ok();
  table_.swap(table);
  loaded_counter_ = counter;
  return Status::ok();
}

Status KeyCache::refresh() {
  SOCLE_ASSIGN_OR_RETURN(int64_t counter, store_.change_counter());
  {
    std::shared_lock lock(mu_);
    if (counter == loaded_counter_) return Status::ok();
  }
  return reload();
}

std::shared_ptr<const Principal> KeyCache::authenticate(std::string_view secret) const {
  if (!secret.starts_with(KEY_PREFIX)) return nullptr;
  std::string hash = hash_key_secret(secret);
  std::shared_lock lock(mu_);
  auto [first, last] = table_.equal_range(bucket_of(hash));
  for (auto it = first; it != last; ++it) {
    if (!constant_time_equal(it->second.hash, hash)) continue;
    const auto& p = it->second.principal;
    if (p->key_expires_at && *p->key_expires_at <= clock_.unix_seconds()) return nullptr;
    return p;
  }
  return nullptr;
}

void KeyCache::forget_key(store::Id key_id) {
  std::unique_lock lock(mu_);
  for (auto it = table_.begin(); it != table_.end();) {
    it = it->second.principal->key_id == key_id ? table_.erase(it) : std::next(it);
  }
}

size_t KeyCache::size() const {
  std::shared_lock lock(mu_);
  return table_.size();
}

}  // namespace socle::tenancy
