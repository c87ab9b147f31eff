// Renders a parsed chat template against a set of variables (messages, tools, bos_token,
// add_generation_prompt, ...). Follows Jinja2's semantics for the subset the parser
// accepts; a filter, test, method or function outside it fails with an error that names
// it and its line and column.
#pragma once

#include <map>
#include <string>

#include "base/status.h"
#include "engine/template/ast.h"
#include "engine/template/value.h"

namespace socle::engine::jinja {

using Variables = std::map<std::string, Value, std::less<>>;

Result<std::string> render(const Body& program, const Variables& variables);

}  // namespace socle::engine::jinja
