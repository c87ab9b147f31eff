// JSON helpers over Boost.JSON: parsing untrusted bodies with limits and errors that say
// where, typed field access that names the field at fault, and fast string quoting.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace socle::json {

// Deeper nesting than this is refused: no API body needs it, and it bounds the parser's
// recursion on hostile input.
inline constexpr size_t MAX_DEPTH = 64;

// Parses a whole document. A syntax error becomes INVALID_ARGUMENT naming the byte offset.
Result<boost::json::value> parse(std::string_view text);

// Parses a request body that must be one JSON object.
Result<boost::json::object> parse_object(std::string_view text);

// Appends `s` as a quoted JSON string (escaping quotes, backslashes and control characters,
// with the short forms for \b \f \n \r \t as Python's json.dumps writes them; other bytes,
// including UTF-8, are copied as they are).
void append_quoted(std::string& out, std::string_view s);
std::string quoted(std::string_view s);

// Serialises a value compactly.
std::string dump(const boost::json::value& v);

// The field's value, or nullptr when it is absent or null (clients send null for "unset").
const boost::json::value* present(const boost::json::object& obj, std::string_view key);

// Field access for request validation. Each returns INVALID_ARGUMENT with `key` as the
// param when the field has the wrong type, or is missing and required. A missing optional
// field leaves `*out` empty.
Status get_string(const boost::json::object& obj, std::string_view key, bool required,
                  std::optional<std::string>* out);
Status get_int(const boost::json::object& obj, std::string_view key, bool required,
               std::optional<int64_t>* out);
Status get_bool(const boost::json::object& obj, std::string_view key, bool required,
                std::optional<bool>* out);

// INVALID_ARGUMENT unless every key of `obj` is in `allowed`; names the first stranger.
Status check_keys(const boost::json::object& obj, std::initializer_list<std::string_view> allowed);

}  // namespace socle::json
