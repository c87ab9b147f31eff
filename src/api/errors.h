// The one mapping from a Status to an HTTP status and OpenAI's error body:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// Every error socle answers leaves through here, including the HTTP layer's own (404, 405,
// 408, 413, 431, 503), which reach it through http::ServerHooks::error_body.
#pragma once

#include <string_view>

#include "base/status.h"
#include "http/message.h"

namespace socle::api {

int http_status_for(StatusCode code);
// OpenAI's error "type" for an HTTP status: invalid_request_error, authentication_error, ...
const char* error_type_for(int http_status);

http::Response error_response(const Status& status);
// For errors raised by the HTTP layer, which has a status and a code but no Status.
http::Response error_response(int http_status, std::string_view message, std::string_view code);

}  // namespace socle::api
