// The JSON shapes of socle's own records, shared by the endpoints that return them.
#pragma once

#include <boost/json/object.hpp>

#include "store/records.h"

namespace socle::api {

boost::json::object organisation_json(const store::Organisation& o);
boost::json::object role_json(const store::Role& r);
boost::json::object user_json(const store::User& u);
boost::json::object group_json(const store::Group& g);
boost::json::object key_json(const store::ApiKey& k);
boost::json::object limit_json(const store::LimitRule& r);
const char* limit_scope_name(store::LimitScope scope);

// {"id": id, "object": object, "deleted": true}
boost::json::object deleted_json(store::Id id, const char* object);

}  // namespace socle::api
