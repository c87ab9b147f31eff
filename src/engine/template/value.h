// Values of the chat-template language: what Jinja expressions evaluate to. Lists and
// dicts are shared by reference, as Python objects are (a namespace set inside a loop is
// seen after it), hence shared_ptr.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace socle::engine::jinja {

class Value;
using Array = std::vector<Value>;

// An insertion-ordered dict with string keys (Python dicts keep insertion order).
struct Object {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  void set(std::string key, Value v);
};

struct Callable;

enum class Kind { UNDEFINED, NONE, BOOL, INT, FLOAT, STRING, ARRAY, OBJECT, NAMESPACE, CALLABLE };

class Value {
 public:
  Value() = default;
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value floating(double d);
  static Value string(std::string s);
  static Value array(Array a);
  static Value object(Object o);
  static Value namespace_object(Object o);
  static Value callable(std::shared_ptr<Callable> c);
  // Converts JSON (messages, tools) to a value: objects keep their key order.
  static Value from_json(const boost::json::value& v);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::UNDEFINED; }
  bool is_none() const { return kind_ == Kind::NONE; }
  bool is_string() const { return kind_ == Kind::STRING; }
  bool is_number() const { return kind_ == Kind::INT || kind_ == Kind::FLOAT; }
  bool is_array() const { return kind_ == Kind::ARRAY; }
  bool is_mapping() const { return kind_ == Kind::OBJECT || kind_ == Kind::NAMESPACE; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return i_; }
  double as_double() const { return kind_ == Kind::INT ? static_cast<double>(i_) : d_; }
  const std::string& as_string() const { return s_; }
  const Array& as_array() const { return *a_; }
  Array& mutable_array() { return *a_; }
  const Object& as_object() const { return *o_; }
  Object& mutable_object() { return *o_; }
  const std::shared_ptr<Callable>& as_callable() const { return fn_; }

  // Python truthiness.
  bool truthy() const;
  // What {{ value }} prints.
  std::string to_output() const;
  // tojson, with `indent` spaces per level (0: one line).
  std::string to_json(int indent, int depth = 0) const;

 private:
  Kind kind_ = Kind::UNDEFINED;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::shared_ptr<Array> a_;
  std::shared_ptr<Object> o_;
  std::shared_ptr<Callable> fn_;
};

bool values_equal(const Value& a, const Value& b);

// Arguments of a call: positional, then keyword.
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  const Value* get(size_t index, std::string_view name) const;
};

struct Callable {
  std::function<Result<Value>(const Args&)> fn;
};

}  // namespace socle::engine::jinja
