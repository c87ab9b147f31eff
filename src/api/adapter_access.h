// Who may use a base-plus-adapter model (providers::AdapterModel): the rule that
// /v1/chat/completions, /v1/completions and GET /v1/models apply to fine-tuned models and
// to adapters an administrator loaded.
#pragma once

#include "api/services.h"
#include "providers/adapter_models.h"
#include "store/store.h"
#include "tenancy/key_cache.h"

namespace socle::api {

// True for an adapter model loaded for everyone (owner_user 0), its owner, an administrator
// (a role carrying "admin"), or a member of one of the groups it is shared with. Only the
// last case reads the store (the caller's groups), and only when the model has groups; a
// store error refuses (fail closed).
bool may_use_adapter(Services& s, const tenancy::Principal& p, const providers::AdapterModel& m);
// The same rule on `store` (what the Services form reads).
bool may_use_adapter(store::Store& store, const tenancy::Principal& p,
                     const providers::AdapterModel& m);

}  // namespace socle::api
