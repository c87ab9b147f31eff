#include "api/errors.h"

#include "base/json.h"

namespace socle::api {

int http_status_for(StatusCode code) {
  switch (code) {
    case StatusCode::OK:
      return 200;
    case StatusCode::INVALID_ARGUMENT:
      return 400;
    case StatusCode::UNAUTHENTICATED:
      return 401;
    case StatusCode::PERMISSION_DENIED:
      return 403;
    case StatusCode::NOT_FOUND:
      return 404;
    case StatusCode::METHOD_NOT_ALLOWED:
      return 405;
    case StatusCode::ALREADY_EXISTS:
      return 409;
    case StatusCode::FAILED_PRECONDITION:
      return 409;
    case StatusCode::PAYLOAD_TOO_LARGE:
      return 413;
    case StatusCode::UNSUPPORTED_MEDIA_TYPE:
      return 415;
    case StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case StatusCode::INTERNAL:
      return 500;
    case StatusCode::UNAVAILABLE:
      return 503;
    case StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case StatusCode::CANCELLED:
      return 499;  // nginx's "client closed request"
  }
  return 500;
}

const char* error_type_for(int http_status) {
  switch (http_status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 429:
      return "rate_limit_error";
    case 503:
      return "service_unavailable_error";
    case 504:
      return "timeout_error";
    default:
      return http_status >= 500 ? "server_error" : "invalid_request_error";
  }
}

namespace {

// A code for clients to branch on when the Status carries none.
const char* default_code_for(StatusCode code) {
  switch (code) {
    case StatusCode::INVALID_ARGUMENT:
      return "invalid_value";
    case StatusCode::UNAUTHENTICATED:
      return "invalid_api_key";
    case StatusCode::PERMISSION_DENIED:
      return "permission_denied";
    case StatusCode::NOT_FOUND:
      return "not_found";
    case StatusCode::METHOD_NOT_ALLOWED:
      return "method_not_allowed";
    case StatusCode::ALREADY_EXISTS:
      return "already_exists";
    case StatusCode::FAILED_PRECONDITION:
      return "failed_precondition";
    case StatusCode::PAYLOAD_TOO_LARGE:
      return "payload_too_large";
    case StatusCode::UNSUPPORTED_MEDIA_TYPE:
      return "unsupported_media_type";
    case StatusCode::RESOURCE_EXHAUSTED:
      return "rate_limit_exceeded";
    case StatusCode::UNAVAILABLE:
      return "service_unavailable";
    case StatusCode::DEADLINE_EXCEEDED:
      return "timeout";
    case StatusCode::CANCELLED:
      return "cancelled";
    case StatusCode::OK:
    case StatusCode::INTERNAL:
      return "internal_error";
  }
  return "internal_error";
}

http::Response render(int http_status, std::string_view message, std::string_view param,
                      std::string_view code) {
  std::string body = "{\"error\":{\"message\":";
  json::append_quoted(body, message);
  body += ",\"type\":\"";
  body += error_type_for(http_status);
  body += "\",\"param\":";
  if (param.empty()) {
    body += "null";
  } else {
    json::append_quoted(body, param);
  }
  body += ",\"code\":";
  json::append_quoted(body, code);
  body += "}}";
  return http::Response::json(http_status, std::move(body));
}

}  // namespace

http::Response error_response(const Status& status) {
  int http_status = http_status_for(status.code());
  std::string_view code = status.error_code().empty()
                              ? std::string_view(default_code_for(status.code()))
                              : std::string_view(status.error_code());
  return render(http_status, status.message(), status.param(), code);
}

http::Response error_response(int http_status, std::string_view message, std::string_view code) {
  return render(http_status, message, {}, code);
}

}  // namespace socle::api
