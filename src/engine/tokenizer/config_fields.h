// Typed access to the fields of a tokenizer.json component, with errors that name the
// component and the field. Internal to the tokenizer folder.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "engine/tokenizer/regex.h"

namespace socle::engine::tokenizer {

// The component's "type" (e.g. "BPE", "Sequence"); `what` names the section ("normalizer").
Result<std::string> component_type(const boost::json::value& v, std::string_view what);

// A required string field.
Result<std::string> string_field(const boost::json::object& o, std::string_view key,
                                 std::string_view what);
// A string field, or `fallback` when it is absent or null.
Result<std::string> string_field_or(const boost::json::object& o, std::string_view key,
                                    std::string_view fallback, std::string_view what);
// A boolean field, or `fallback` when it is absent or null.
Result<bool> bool_field_or(const boost::json::object& o, std::string_view key, bool fallback,
                           std::string_view what);
// An integer field, or `fallback` when it is absent or null.
Result<int64_t> int_field_or(const boost::json::object& o, std::string_view key, int64_t fallback,
                             std::string_view what);
// A required array field.
Result<const boost::json::array*> array_field(const boost::json::object& o, std::string_view key,
                                              std::string_view what);

// A token named in tokenizer_config.json (bos_token, eos_token, pad_token ...): a string, or
// an AddedToken object's content; nothing when absent or of another shape.
std::optional<std::string> config_token(const boost::json::object& config, std::string_view key);

// Reads a {"String": s} or {"Regex": r} pattern, as Replace and Split carry them.
Result<Regex> pattern_from_json(const boost::json::value& v, std::string_view what);

// The refusal for a component type that socle does not implement.
Status unsupported_component(std::string_view what, std::string_view type);

}  // namespace socle::engine::tokenizer
