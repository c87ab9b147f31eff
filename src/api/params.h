// Query-string and path parameters, checked the same way by every endpoint: an unknown
// parameter is an error (a misspelt filter silently matching everything would show more
// than was asked and hide the mistake), and every bad value names the parameter.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "http/message.h"
#include "http/multipart.h"
#include "store/records.h"

namespace socle::api {

// 400 naming the first parameter of `query` that is not in `known`, or that is given more
// than once (`?limit=1&limit=2` has no one meaning).
Status check_param_names(std::string_view query, std::initializer_list<std::string_view> known);

// 400 naming the first field of `form` that comes more than once: a form field has one value,
// and keeping one of two would silently drop what the caller sent.
Status check_form_fields_unique(const http::MultipartForm& form);

// The decoded value of parameter `name`, nullopt if absent; 400 if it is badly encoded or
// given more than once.
Result<std::optional<std::string>> param(const http::Request& req, const char* name);

// `text` as an integer in [min, max]; 400 naming `name` otherwise.
Result<int64_t> int_param(const std::string& text, const char* name, int64_t min, int64_t max);

// The optional integer parameter `name` in [min, max].
Result<std::optional<int64_t>> optional_int_param(const http::Request& req, const char* name,
                                                  int64_t min, int64_t max);

// A path segment as a positive id; NOT_FOUND ("no <what> '<text>'") when it is not one.
Result<store::Id> path_id(std::string_view text, const char* what);

}  // namespace socle::api
