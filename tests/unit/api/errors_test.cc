#include "api/errors.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace socle::api {
namespace {

TEST(Errors, EveryStatusCodeMapsToOneHttpStatusAndOpenAiShape) {
  struct Case {
    StatusCode code;
    int http;
    const char* type;
  };
  const Case cases[] = {
      {StatusCode::INVALID_ARGUMENT, 400, "invalid_request_error"},
      {StatusCode::UNAUTHENTICATED, 401, "authentication_error"},
      {StatusCode::PERMISSION_DENIED, 403, "permission_error"},
      {StatusCode::NOT_FOUND, 404, "invalid_request_error"},
      {StatusCode::METHOD_NOT_ALLOWED, 405, "invalid_request_error"},
      {StatusCode::ALREADY_EXISTS, 409, "invalid_request_error"},
      {StatusCode::FAILED_PRECONDITION, 409, "invalid_request_error"},
      {StatusCode::PAYLOAD_TOO_LARGE, 413, "invalid_request_error"},
      {StatusCode::UNSUPPORTED_MEDIA_TYPE, 415, "invalid_request_error"},
      {StatusCode::RESOURCE_EXHAUSTED, 429, "rate_limit_error"},
      {StatusCode::INTERNAL, 500, "server_error"},
      {StatusCode::UNAVAILABLE, 503, "service_unavailable_error"},
      {StatusCode::DEADLINE_EXCEEDED, 504, "timeout_error"},
  };
  for (const Case& c : cases) {
    http::Response r = error_response(Status(c.code, "what \"went\" wrong", "model"));
    EXPECT_EQ(r.status, c.http) << status_code_name(c.code);
    auto v = boost::json::parse(r.body).as_object();
    const auto& e = v.at("error").as_object();
    EXPECT_EQ(e.at("message"), "what \"went\" wrong");
    EXPECT_EQ(e.at("type"), c.type) << status_code_name(c.code);
    EXPECT_EQ(e.at("param"), "model");
    EXPECT_TRUE(e.at("code").is_string());
  }
}

TEST(Errors, ExplicitCodeAndNullParam) {
  http::Response r =
      error_response(Status(StatusCode::UNAUTHENTICATED, "no", "", "missing_api_key"));
  auto e = boost::json::parse(r.body).as_object().at("error").as_object();
  EXPECT_TRUE(e.at("param").is_null());
  EXPECT_EQ(e.at("code"), "missing_api_key");
  r = error_response(431, "too big", "request_header_fields_too_large");
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(*r.headers.begin(),
            (std::pair<std::string, std::string>{"content-type", "application/json"}));
}

}  // namespace
}  // namespace socle::api
