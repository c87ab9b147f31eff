#include "engine/template/operators.h"

#include <algorithm>
#include <cmath>

namespace socle::engine::jinja {

namespace {

Status error(const std::string& what) {
  return invalid_argument(what);
}

}  // namespace

Result<Value> binary_operator(const std::string& op, const Value& l, const Value& r) {
  if (op == "==") return Value::boolean(values_equal(l, r));
  if (op == "!=") return Value::boolean(!values_equal(l, r));
  if (op == "~") return Value::string(l.to_output() + r.to_output());
  if (op == "in" || op == "not in") {
    bool found = false;
    if (r.is_string() && l.is_string()) {
      found = r.as_string().find(l.as_string()) != std::string::npos;
    } else if (r.is_array()) {
      for (const auto& x : r.as_array())
        found = found || values_equal(l, x);
    } else if (r.is_mapping()) {
      found = l.is_string() && r.as_object().find(l.as_string()) != nullptr;
    } else if (!r.is_undefined() && !r.is_none()) {
      return error("'in' needs a string, list or mapping on its right");
    }
    return Value::boolean(found != (op == "not in"));
  }
  if (op == "+") {
    if (l.is_string() && r.is_string()) return Value::string(l.as_string() + r.as_string());
    if (l.is_array() && r.is_array()) {
      Array out = l.as_array();
      out.insert(out.end(), r.as_array().begin(), r.as_array().end());
      return Value::array(std::move(out));
    }
  }
  if (op == "*" && l.is_string() && r.kind() == Kind::INT) {
    std::string out;
    for (int64_t i = 0; i < r.as_int(); ++i)
      out += l.as_string();
    return Value::string(std::move(out));
  }
  if (op == "<" || op == ">" || op == "<=" || op == ">=") {
    int cmp = 0;
    if (l.is_number() && r.is_number()) {
      cmp = l.as_double() < r.as_double() ? -1 : (l.as_double() > r.as_double() ? 1 : 0);
    } else if (l.is_string() && r.is_string()) {
      cmp = l.as_string().compare(r.as_string());
    } else {
      return error("'" + op + "' compares numbers or strings");
    }
    bool result = op == "<" ? cmp < 0 : op == ">" ? cmp > 0 : op == "<=" ? cmp <= 0 : cmp >= 0;
    return Value::boolean(result);
  }
  if (!l.is_number() || !r.is_number()) return error("'" + op + "' needs numbers here");
  bool ints = l.kind() == Kind::INT && r.kind() == Kind::INT;
  if (op == "+")
    return ints ? Value::integer(l.as_int() + r.as_int())
                : Value::floating(l.as_double() + r.as_double());
  if (op == "-")
    return ints ? Value::integer(l.as_int() - r.as_int())
                : Value::floating(l.as_double() - r.as_double());
  if (op == "*")
    return ints ? Value::integer(l.as_int() * r.as_int())
                : Value::floating(l.as_double() * r.as_double());
  if (op == "/") {
    if (r.as_double() == 0) return error("division by zero");
    return Value::floating(l.as_double() / r.as_double());
  }
  if (op == "//" || op == "%") {
    if (r.as_double() == 0) return error("division by zero");
    if (ints) {
      // Python floors toward negative infinity.
      int64_t q = l.as_int() / r.as_int();
      if ((l.as_int() % r.as_int() != 0) && ((l.as_int() < 0) != (r.as_int() < 0))) --q;
      return op == "//" ? Value::integer(q) : Value::integer(l.as_int() - q * r.as_int());
    }
    double q = std::floor(l.as_double() / r.as_double());
    return op == "//" ? Value::floating(q) : Value::floating(l.as_double() - q * r.as_double());
  }
  return error("the operator '" + op + "' is not supported");
}

}  // namespace socle::engine::jinja
