// Parser for the chat-template language: if/elif/else, for (with else, a filter and loop
// variables), set (names, namespace attributes, tuples of names, blocks), macro, break,
// continue, and expressions with Jinja's precedence. A construct outside this subset fails
// with an error naming it and its line and column.
#pragma once

#include <string_view>

#include "base/status.h"
#include "engine/template/ast.h"

namespace socle::engine::jinja {

Result<Body> parse(std::string_view source);

}  // namespace socle::engine::jinja
