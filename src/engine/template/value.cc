#include "engine/template/value.h"

#include <cmath>
#include <cstdio>

#include "base/json.h"

namespace socle::engine::jinja {

namespace {

// Shortest decimal that reads back as `d`, as JavaScript's Number.prototype.toString does
// for the magnitudes chat templates meet.
std::string shortest_double(double d) {
  constexpr int MAX_DIGITS = 17;
  char buf[32];
  for (int precision = 1; precision <= MAX_DIGITS; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

}  // namespace

const Value* Object::find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Object::set(std::string key, Value v) {
  for (auto& [k, old] : items) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(v));
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::NONE;
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::BOOL;
  v.b_ = b;
  return v;
}
Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::INT;
  v.i_ = i;
  return v;
}
Value Value::floating(double d) {
  Value v;
  v.kind_ = Kind::FLOAT;
  v.d_ = d;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::STRING;
  v.s_ = std::move(s);
  return v;
}
Value Value::array(Array a) {
  Value v;
  v.kind_ = Kind::ARRAY;
  v.a_ = std::make_shared<Array>(std::move(a));
  return v;
}
Value Value::object(Object o) {
  Value v;
  v.kind_ = Kind::OBJECT;
  v.o_ = std::make_shared<Object>(std::move(o));
  return v;
}
Value Value::namespace_object(Object o) {
  Value v = object(std::move(o));
  v.kind_ = Kind::NAMESPACE;
  return v;
}
Value Value::callable(std::shared_ptr<Callable> c) {
  Value v;
  v.kind_ = Kind::CALLABLE;
  v.fn_ = std::move(c);
  return v;
}

Value Value::from_json(const boost::json::value& j) {
  switch (j.kind()) {
    case boost::json::kind::null:
      return none();
    case boost::json::kind::bool_:
      return boolean(j.as_bool());
    case boost::json::kind::int64:
      return integer(j.as_int64());
    case boost::json::kind::uint64:
      return integer(static_cast<int64_t>(j.as_uint64()));
    case boost::json::kind::double_:
      return floating(j.as_double());
    case boost::json::kind::string:
      return string(std::string(j.as_string()));
    case boost::json::kind::array: {
      Array a;
      for (const auto& x : j.as_array())
        a.push_back(from_json(x));
      return array(std::move(a));
    }
    case boost::json::kind::object: {
      Object o;
      for (const auto& [k, x] : j.as_object())
        o.items.emplace_back(std::string(k), from_json(x));
      return object(std::move(o));
    }
  }
  return none();
}

bool Value::truthy() const {
  switch (kind_) {
    case Kind::UNDEFINED:
    case Kind::NONE:
      return false;
    case Kind::BOOL:
      return b_;
    case Kind::INT:
      return i_ != 0;
    case Kind::FLOAT:
      return d_ != 0;
    case Kind::STRING:
      return !s_.empty();
    case Kind::ARRAY:
      return !a_->empty();
    case Kind::OBJECT:
    case Kind::NAMESPACE:
      return !o_->items.empty();
    case Kind::CALLABLE:
      return true;
  }
  return false;
}

std::string Value::to_output() const {
  switch (kind_) {
    case Kind::UNDEFINED:
      return "";
    case Kind::NONE:
      return "None";
    case Kind::BOOL:
      return b_ ? "True" : "False";
    case Kind::INT:
      return std::to_string(i_);
    case Kind::FLOAT: {
      if (std::floor(d_) == d_ && std::isfinite(d_)) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.1f", d_);
        return buf;
      }
      return shortest_double(d_);
    }
    case Kind::STRING:
      return s_;
    case Kind::ARRAY:
    case Kind::OBJECT:
    case Kind::NAMESPACE:
      return to_json(0);
    case Kind::CALLABLE:
      return "<function>";
  }
  return "";
}

std::string Value::to_json(int indent, int depth) const {
  switch (kind_) {
    case Kind::UNDEFINED:
    case Kind::NONE:
      return "null";
    case Kind::BOOL:
      return b_ ? "true" : "false";
    case Kind::INT:
      return std::to_string(i_);
    case Kind::FLOAT:
      return shortest_double(d_);
    case Kind::STRING: {
      std::string out;
      json::append_quoted(out, s_);
      return out;
    }
    case Kind::CALLABLE:
      return "null";
    case Kind::ARRAY:
    case Kind::OBJECT:
    case Kind::NAMESPACE:
      break;
  }
  // Separators as Python's json.dumps: ", " and ": " on one line; "," and newlines with an
  // indent.
  std::string pad = indent > 0 ? "\n" + std::string(static_cast<size_t>(indent * depth), ' ') : "";
  std::string child_pad = indent > 0 ? pad + std::string(static_cast<size_t>(indent), ' ') : "";
  std::string sep = indent > 0 ? "," : ", ";
  std::string out;
  if (kind_ == Kind::ARRAY) {
    if (a_->empty()) return "[]";
    out = "[";
    for (size_t i = 0; i < a_->size(); ++i) {
      if (i > 0) out += sep;
      out += child_pad + (*a_)[i].to_json(indent, depth + 1);
    }
    return out + pad + "]";
  }
  if (o_->items.empty()) return "{}";
  out = "{";
  for (size_t i = 0; i < o_->items.size(); ++i) {
    if (i > 0) out += sep;
    out += child_pad;
    json::append_quoted(out, o_->items[i].first);
    out += ": " + o_->items[i].second.to_json(indent, depth + 1);
  }
  return out + pad + "}";
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Kind::INT && b.kind() == Kind::INT) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::UNDEFINED:
    case Kind::NONE:
      return true;
    case Kind::BOOL:
      return a.as_bool() == b.as_bool();
    case Kind::STRING:
      return a.as_string() == b.as_string();
    case Kind::ARRAY: {
      if (a.as_array().size() != b.as_array().size()) return false;
      for (size_t i = 0; i < a.as_array().size(); ++i) {
        if (!values_equal(a.as_array()[i], b.as_array()[i])) return false;
      }
      return true;
    }
    case Kind::OBJECT:
    case Kind::NAMESPACE: {
      const auto& x = a.as_object().items;
      const auto& y = b.as_object().items;
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x) {
        const Value* w = b.as_object().find(k);
        if (w == nullptr || !values_equal(v, *w)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

const Value* Args::get(size_t index, std::string_view name) const {
  if (index < positional.size()) return &positional[index];
  for (const auto& [k, v] : keyword) {
    if (k == name) return &v;
  }
  return nullptr;
}

}  // namespace socle::engine::jinja
