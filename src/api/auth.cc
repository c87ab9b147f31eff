#include "api/auth.h"

#include <boost/beast/core/string.hpp>

#include "api/errors.h"
#include "base/json.h"

namespace socle::api {
namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

Status unauthenticated(std::string message, std::string code) {
  return {StatusCode::UNAUTHENTICATED, std::move(message), "", std::move(code)};
}

}  // namespace

Result<std::shared_ptr<const tenancy::Principal>> authenticate(const Services& services,
                                                               const http::Request& req) {
  auto header = req.header("authorization");
  if (!header) {
    return unauthenticated(
        "no API key: send the header 'Authorization: Bearer sk-...' (an administrator creates "
        "keys with `socle admin key create` or POST /v1/me/keys)",
        "missing_api_key");
  }
  std::string_view value = *header;
  constexpr std::string_view BEARER = "bearer ";
  if (!iequals_prefix(value, BEARER)) {
    return unauthenticated("the Authorization header must be 'Bearer sk-...'", "invalid_api_key");
  }
  value.remove_prefix(BEARER.size());
  while (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ')
    value.remove_suffix(1);
  auto principal = services.keys.authenticate(value);
  if (!principal) {
    return unauthenticated("the API key is not valid: unknown, revoked or expired",
                           "invalid_api_key");
  }
  return principal;
}

http::Handler with_key(Services& services, std::string_view permission, AuthedHandler handler) {
  return [&services, perm = std::string(permission),
          handler = std::move(handler)](http::Request& req) -> http::Response {
    auto principal = authenticate(services, req);
    if (!principal.is_ok()) return error_response(principal.status());
    const tenancy::Principal& p = **principal;
    req.user_id = std::to_string(p.user_id);
    if (!perm.empty() && !p.has(perm)) {
      return error_response(
          Status{StatusCode::PERMISSION_DENIED, "this needs the '" + perm + "' permission"});
    }
    Result<http::Response> r = handler(req, p);
    return r.is_ok() ? std::move(r).value() : error_response(r.status());
  };
}

http::AsyncHandler with_key_async(Services& services, std::string_view permission,
                                  AuthedAsyncHandler handler) {
  return [&services, perm = std::string(permission), handler = std::move(handler)](
             http::Request& req, http::ResponderPtr out) {
    auto principal = authenticate(services, req);
    if (!principal.is_ok()) {
      out->send(error_response(principal.status()));
      return;
    }
    const tenancy::Principal& p = **principal;
    req.user_id = std::to_string(p.user_id);
    if (!perm.empty() && !p.has(perm)) {
      out->send(error_response(
          Status{StatusCode::PERMISSION_DENIED, "this needs the '" + perm + "' permission"}));
      return;
    }
    handler(req, p, std::move(out));
  };
}

http::Handler with_actor(Services& services, std::string_view permission, ActorHandler handler) {
  return with_key(services, permission,
                  [perm = std::string(permission), handler = std::move(handler)](
                      http::Request& req, const tenancy::Principal& p) {
                    return handler(req, p.actor_for(perm));
                  });
}

http::Handler without_key(OpenHandler handler) {
  return [handler = std::move(handler)](http::Request& req) -> http::Response {
    Result<http::Response> r = handler(req);
    return r.is_ok() ? std::move(r).value() : error_response(r.status());
  };
}

Result<boost::json::object> json_body(const http::Request& req) {
  auto type = req.header("content-type");
  std::string_view media = type ? *type : std::string_view();
  media = media.substr(0, media.find(';'));
  while (!media.empty() && media.back() == ' ')
    media.remove_suffix(1);
  if (!boost::beast::iequals(media, "application/json")) {
    return Status{StatusCode::UNSUPPORTED_MEDIA_TYPE,
                  "the body must be JSON with 'Content-Type: application/json' (got '" +
                      std::string(type ? *type : "none") + "')"};
  }
  return json::parse_object(req.body);
}

http::Response json_response(int status, const boost::json::value& v) {
  return http::Response::json(status, json::dump(v));
}

http::Response list_response(boost::json::array data) {
  return json_response(200, boost::json::object{{"object", "list"}, {"data", std::move(data)}});
}

}  // namespace socle::api
