// The binary operators of the chat-template language other than 'and' and 'or' (which
// short-circuit in the interpreter): ==, !=, <, >, <=, >=, in, not in, ~, +, -, *, /, //, %,
// with Python's semantics (floor division and modulo round toward negative infinity).
#pragma once

#include <string>

#include "base/status.h"
#include "engine/template/value.h"

namespace socle::engine::jinja {

// The result of `l op r`; an unsupported combination fails with a message naming `op`.
Result<Value> binary_operator(const std::string& op, const Value& l, const Value& r);

}  // namespace socle::engine::jinja
