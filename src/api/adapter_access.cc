#include "api/adapter_access.h"

#include <algorithm>

namespace socle::api {

bool may_use_adapter(Services& s, const tenancy::Principal& p, const providers::AdapterModel& m) {
  return may_use_adapter(s.store, p, m);
}

bool may_use_adapter(store::Store& store, const tenancy::Principal& p,
                     const providers::AdapterModel& m) {
  if (m.owner_user == 0 || m.owner_user == p.user_id || p.has("admin")) return true;
  if (m.groups.empty()) return false;
  // Group membership lives in the store, as for collections shared with groups; the
  // principal does not carry it.
  Result<std::vector<store::Id>> mine =
      store.groups().groups_of(store::Actor::user(p.user_id, p.org_id), p.user_id);
  if (!mine.is_ok()) return false;
  return std::any_of(mine->begin(), mine->end(), [&m](store::Id g) {
    return std::find(m.groups.begin(), m.groups.end(), g) != m.groups.end();
  });
}

}  // namespace socle::api
