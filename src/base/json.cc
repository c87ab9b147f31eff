#include "base/json.h"

#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

namespace socle::json {

Result<boost::json::value> parse(std::string_view text) {
  boost::json::parse_options opts;
  opts.max_depth = MAX_DEPTH;
  boost::json::stream_parser p({}, opts);
  boost::system::error_code ec;
  size_t used = p.write_some(text.data(), text.size(), ec);
  // write_some stops after one whole value and the white space after it.
  if (!ec && used < text.size()) {
    std::string at = std::to_string(used);
    return invalid_argument(
        "the body is not valid JSON: there is data after the JSON value at byte " + at +
        "; send one JSON value");
  }
  if (!ec) p.finish(ec);
  if (ec) {
    return invalid_argument("the body is not valid JSON: " + ec.message() + " at byte " +
                            std::to_string(used));
  }
  return p.release();
}

Result<boost::json::object> parse_object(std::string_view text) {
  if (text.empty()) return invalid_argument("the body is empty; send a JSON object");
  SOCLE_ASSIGN_OR_RETURN(boost::json::value v, parse(text));
  if (!v.is_object()) return invalid_argument("the body must be a JSON object");
  return std::move(v.as_object());
}

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char HEX[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out += HEX[u >> 4];
          out += HEX[u & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_quoted(out, s);
  return out;
}

std::string dump(const boost::json::value& v) {
  return boost::json::serialize(v);
}

namespace {

Status wrong_type(std::string_view key, const char* want) {
  return invalid_argument("'" + std::string(key) + "' must be " + want, std::string(key));
}

Status missing(std::string_view key) {
  return invalid_argument("'" + std::string(key) + "' is required", std::string(key));
}

}  // namespace

const boost::json::value* present(const boost::json::object& obj, std::string_view key) {
  const boost::json::value* v = obj.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

Status get_string(const boost::json::object& obj, std::string_view key, bool required,
                  std::optional<std::string>* out) {
  out->reset();
  const boost::json::value* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return required ? missing(key) : Status::ok();
  if (!v->is_string()) return wrong_type(key, "a string");
  *out = std::string(v->as_string());
  return Status::ok();
}

Status get_int(const boost::json::object& obj, std::string_view key, bool required,
               std::optional<int64_t>* out) {
  out->reset();
  const boost::json::value* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return required ? missing(key) : Status::ok();
  if (v->is_int64()) {
    *out = v->as_int64();
  } else if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    *out = static_cast<int64_t>(v->as_uint64());
  } else {
    return wrong_type(key, "an integer");
  }
  return Status::ok();
}

Status get_bool(const boost::json::object& obj, std::string_view key, bool required,
                std::optional<bool>* out) {
  out->reset();
  const boost::json::value* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return required ? missing(key) : Status::ok();
  if (!v->is_bool()) return wrong_type(key, "true or false");
  *out = v->as_bool();
  return Status::ok();
}

Status check_keys(const boost::json::object& obj, std::initializer_list<std::string_view> allowed) {
  for (const auto& kv : obj) {
    bool known = false;
    for (std::string_view a : allowed)
      known = known || kv.key() == a;
    if (!known) {
      std::string k(kv.key());
      return invalid_argument("unknown field '" + k + "'", k);
    }
  }
  return Status::ok();
}

}  // namespace socle::json
