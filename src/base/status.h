// Status and Result<T>: how socle reports expected failures (bad input, missing file,
// peer down, full disk). A Status carries a code from a closed list, a message that says
// what went wrong and what to do, and optionally the request parameter at fault and a
// machine-readable error code. api/errors.h maps each code to one HTTP status and to
// OpenAI's error body; nothing else does.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "base/check.h"

namespace socle {

enum class StatusCode {
  OK,
  INVALID_ARGUMENT,        // the request is malformed or a value is out of range (400)
  UNAUTHENTICATED,         // no key, or a key that is unknown, revoked or expired (401)
  PERMISSION_DENIED,       // the caller is known but may not do this (403)
  NOT_FOUND,               // the thing named does not exist, or the caller may not see it (404)
  METHOD_NOT_ALLOWED,      // the route exists with another method (405)
  ALREADY_EXISTS,          // a unique name is taken (409)
  FAILED_PRECONDITION,     // the target is not in a state that allows this (409)
  PAYLOAD_TOO_LARGE,       // a body or file over its limit (413)
  UNSUPPORTED_MEDIA_TYPE,  // wrong Content-Type or file type (415)
  RESOURCE_EXHAUSTED,      // a rate limit or quota (429)
  INTERNAL,                // a bug or a broken invariant caught at run time (500)
  UNAVAILABLE,             // a dependency is down or the server is overloaded (503)
  DEADLINE_EXCEEDED,       // a peer took too long (504)
  CANCELLED,               // the caller gave up, e.g. the client disconnected (499)
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string param = {}, std::string error_code = {})
      : code_(code),
        message_(std::move(message)),
        param_(std::move(param)),
        error_code_(std::move(error_code)) {}

  static Status ok() { return {}; }

  bool is_ok() const { return code_ == StatusCode::OK; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The request field at fault ("model", "messages[0].content"), empty when none.
  const std::string& param() const { return param_; }
  // A stable machine-readable code ("invalid_api_key"), empty when none.
  const std::string& error_code() const { return error_code_; }

  // "INVALID_ARGUMENT: message" for logs and CLI output.
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::OK;
  std::string message_;
  std::string param_;
  std::string error_code_;
};

inline Status invalid_argument(std::string message, std::string param = {}) {
  return {StatusCode::INVALID_ARGUMENT, std::move(message), std::move(param)};
}
inline Status not_found(std::string message) {
  return {StatusCode::NOT_FOUND, std::move(message)};
}
inline Status internal_error(std::string message) {
  return {StatusCode::INTERNAL, std::move(message)};
}
inline Status unavailable(std::string message) {
  return {StatusCode::UNAVAILABLE, std::move(message)};
}

// A value or the Status that says why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    SOCLE_CHECK(!std::get<Status>(v_).is_ok(), "a Result holding no value needs an error status");
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    SOCLE_CHECK(!is_ok(), "status() called on a Result that holds a value");
    return std::get<Status>(v_);
  }
  // OK when a value is held, else the failure: for callers that only need the outcome.
  Status status_or_ok() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }
  T& value() & {
    SOCLE_CHECK(is_ok(), "value() called on a failed Result");
    return std::get<T>(v_);
  }
  const T& value() const& {
    SOCLE_CHECK(is_ok(), "value() called on a failed Result");
    return std::get<T>(v_);
  }
  T&& value() && {
    SOCLE_CHECK(is_ok(), "value() called on a failed Result");
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace socle

#define SOCLE_CONCAT_INNER_(a, b) a##b
#define SOCLE_CONCAT_(a, b) SOCLE_CONCAT_INNER_(a, b)

// Returns early from the enclosing function with the Status of `expr` if it failed. The
// variable is numbered so that a use inside a lambda inside `expr` does not shadow it.
#define SOCLE_RETURN_IF_ERROR(expr) \
  SOCLE_RETURN_IF_ERROR_IMPL_(SOCLE_CONCAT_(socle_status_, __COUNTER__), expr)
// NOLINTBEGIN(bugprone-macro-parentheses): `var` and `lhs` are declarations and cannot be
// parenthesised.
#define SOCLE_RETURN_IF_ERROR_IMPL_(var, expr) \
  do {                                         \
    ::socle::Status var = (expr);              \
    if (!var.is_ok()) return var;              \
  } while (0)
#define SOCLE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.is_ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

// `SOCLE_ASSIGN_OR_RETURN(auto x, f());` binds the value or returns the failure.
#define SOCLE_ASSIGN_OR_RETURN(lhs, expr) \
  SOCLE_ASSIGN_OR_RETURN_IMPL_(SOCLE_CONCAT_(socle_result_, __LINE__), lhs, expr)
// NOLINTEND(bugprone-macro-parentheses)
