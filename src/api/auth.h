// Authentication and body checks shared by the endpoints.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <string_view>

#include "api/services.h"
#include "base/status.h"
#include "http/message.h"
#include "http/router.h"
#include "tenancy/key_cache.h"

namespace socle::api {

using AuthedHandler =
    std::function<Result<http::Response>(http::Request&, const tenancy::Principal&)>;
using OpenHandler = std::function<Result<http::Response>(http::Request&)>;

// The principal behind "Authorization: Bearer sk-...", from the key cache (no store read).
// UNAUTHENTICATED, with a message that says what to send, otherwise.
Result<std::shared_ptr<const tenancy::Principal>> authenticate(const Services& services,
                                                               const http::Request& req);

// Wraps a handler: authenticates, checks `permission` (empty: any valid key), records the
// user for the access log and maps a failed Result to OpenAI's error shape.
http::Handler with_key(Services& services, std::string_view permission, AuthedHandler handler);

using AuthedAsyncHandler =
    std::function<void(http::Request&, const tenancy::Principal&, http::ResponderPtr)>;

// The same for handlers that answer through a Responder (relays, streams).
http::AsyncHandler with_key_async(Services& services, std::string_view permission,
                                  AuthedAsyncHandler handler);

using ActorHandler = std::function<Result<http::Response>(http::Request&, const store::Actor&)>;

// with_key for handlers that work on the store as the principal's actor for `permission`
// (Principal::actor_for): all tenants for administrators, the organisation for holders.
http::Handler with_actor(Services& services, std::string_view permission, ActorHandler handler);

// The principal as a plain user: its own rows only, whatever its role (the actor of the
// endpoints whose data is personal: its keys, its documents, its files).
inline store::Actor self(const tenancy::Principal& p) {
  return store::Actor::user(p.user_id, p.org_id);
}

// Wraps a handler that needs no key.
http::Handler without_key(OpenHandler handler);

// The body as one JSON object; 415 unless the Content-Type is application/json, 400 with
// the byte offset if it does not parse.
Result<boost::json::object> json_body(const http::Request& req);

// A JSON response from a Boost.JSON value.
http::Response json_response(int status, const boost::json::value& v);

// 200 with {"object": "list", "data": data}: every unpaged list has this shape.
http::Response list_response(boost::json::array data);

// The same from `items` and the function that gives each one's JSON.
template <typename Items, typename View>
http::Response list_response(const Items& items, View view) {
  boost::json::array data;
  data.reserve(items.size());
  for (const auto& item : items)
    data.emplace_back(view(item));
  return list_response(std::move(data));
}

}  // namespace socle::api
