// The filters, tests and methods that real chat templates call, and Python's string
// helpers they rely on (strip, split, title ...). Internal to the template folder.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "engine/template/value.h"

namespace socle::engine::jinja {

// Applies filter `name`; an unknown filter is an error naming it.
Result<Value> apply_filter(std::string_view name, const Value& operand, const Args& args);
// Applies test `name` (defined, none, string, ...).
Result<bool> apply_test(std::string_view name, const Value& operand, const Args& args);
// A bound method of a string, dict or list (value.split, dict.items ...), or undefined when
// the value has no such method.
Value method(const Value& self, std::string_view name);

// Python's str.strip family: whitespace when `chars` is null.
std::string py_strip(std::string_view s, const Value* chars, bool left, bool right);

}  // namespace socle::engine::jinja
