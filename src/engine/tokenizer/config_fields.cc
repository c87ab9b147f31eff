#include "engine/tokenizer/config_fields.h"

namespace socle::engine::tokenizer {

namespace {

Status wrong_type(std::string_view what, std::string_view key, std::string_view expected) {
  return invalid_argument("tokenizer " + std::string(what) + ": field '" + std::string(key) +
                          "' must be " + std::string(expected));
}

}  // namespace

Result<std::string> component_type(const boost::json::value& v, std::string_view what) {
  if (!v.is_object())
    return invalid_argument("tokenizer " + std::string(what) + " must be an object");
  return string_field(v.as_object(), "type", what);
}

Result<std::string> string_field(const boost::json::object& o, std::string_view key,
                                 std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return wrong_type(what, key, "a string");
  return std::string(v->as_string());
}

Result<std::string> string_field_or(const boost::json::object& o, std::string_view key,
                                    std::string_view fallback, std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::string(fallback);
  if (!v->is_string()) return wrong_type(what, key, "a string");
  return std::string(v->as_string());
}

Result<bool> bool_field_or(const boost::json::object& o, std::string_view key, bool fallback,
                           std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_bool()) return wrong_type(what, key, "true or false");
  return v->as_bool();
}

Result<int64_t> int_field_or(const boost::json::object& o, std::string_view key, int64_t fallback,
                             std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v->as_uint64());
  }
  return wrong_type(what, key, "an integer");
}

Result<const boost::json::array*> array_field(const boost::json::object& o, std::string_view key,
                                              std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return wrong_type(what, key, "an array");
  return &v->as_array();
}

Result<Regex> pattern_from_json(const boost::json::value& v, std::string_view what) {
  if (v.is_object()) {
    const auto& o = v.as_object();
    if (const auto* s = o.if_contains("String"); s != nullptr && s->is_string()) {
      return Regex::literal(std::string_view(s->as_string()));
    }
    if (const auto* r = o.if_contains("Regex"); r != nullptr && r->is_string()) {
      return Regex::compile(std::string_view(r->as_string()));
    }
  }
  return invalid_argument("tokenizer " + std::string(what) +
                          ": 'pattern' must be {\"String\": ...} or {\"Regex\": ...}");
}

std::optional<std::string> config_token(const boost::json::object& config, std::string_view key) {
  const auto* v = config.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_object()) {
    if (const auto* c = v->as_object().if_contains("content"); c != nullptr && c->is_string()) {
      return std::string(c->as_string());
    }
  }
  return std::nullopt;
}

Status unsupported_component(std::string_view what, std::string_view type) {
  return invalid_argument("tokenizer " + std::string(what) + " of type '" + std::string(type) +
                          "' is not supported by socle; refusing to tokenize with it rather "
                          "than give wrong ids");
}

}  // namespace socle::engine::tokenizer
