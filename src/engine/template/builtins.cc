#include "engine/template/builtins.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace socle::engine::jinja {

namespace {

constexpr std::string_view PY_WHITESPACE = " \t\n\r\f\v";

Status error(const std::string& what) {
  return invalid_argument("chat template: " + what);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Python's str.title on ASCII letters: upper after a non-letter, lower after a letter.
std::string title(std::string_view s) {
  std::string out(s);
  bool prev_letter = false;
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    bool letter = std::isalpha(u) != 0;
    if (letter) c = static_cast<char>(prev_letter ? std::tolower(u) : std::toupper(u));
    prev_letter = letter;
  }
  return out;
}

std::string capitalize(std::string_view s) {
  std::string out = lower(s);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

std::string replace(std::string_view s, std::string_view from, std::string_view to, int64_t count) {
  std::string out;
  size_t prev = 0;
  int64_t done = 0;
  if (from.empty()) return std::string(s);
  for (size_t at = s.find(from); at != std::string_view::npos && (count < 0 || done < count);
       at = s.find(from, prev)) {
    out.append(s.substr(prev, at - prev));
    out.append(to);
    prev = at + from.size();
    ++done;
  }
  out.append(s.substr(prev));
  return out;
}

Result<Value> split(std::string_view s, const Value* sep, const Value* maxsplit_value) {
  int64_t maxsplit = maxsplit_value != nullptr && maxsplit_value->kind() == Kind::INT
                         ? maxsplit_value->as_int()
                         : -1;
  Array parts;
  if (sep == nullptr || sep->is_none()) {
    size_t i = 0;
    while (true) {
      while (i < s.size() && PY_WHITESPACE.find(s[i]) != std::string_view::npos)
        ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) {
        std::string rest(s.substr(i));
        while (!rest.empty() && PY_WHITESPACE.find(rest.back()) != std::string_view::npos)
          rest.pop_back();
        parts.push_back(Value::string(rest));
        break;
      }
      size_t j = i;
      while (j < s.size() && PY_WHITESPACE.find(s[j]) == std::string_view::npos)
        ++j;
      parts.push_back(Value::string(std::string(s.substr(i, j - i))));
      i = j;
    }
    return Value::array(std::move(parts));
  }
  if (!sep->is_string() || sep->as_string().empty())
    return error("split() needs a non-empty string separator");
  const std::string& d = sep->as_string();
  size_t prev = 0;
  for (size_t at = s.find(d); at != std::string_view::npos &&
                              (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit);
       at = s.find(d, prev)) {
    parts.push_back(Value::string(std::string(s.substr(prev, at - prev))));
    prev = at + d.size();
  }
  parts.push_back(Value::string(std::string(s.substr(prev))));
  return Value::array(std::move(parts));
}

Result<int64_t> length(const Value& v) {
  switch (v.kind()) {
    case Kind::STRING: {
      // Python counts code points.
      int64_t n = 0;
      for (char c : v.as_string())
        n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
      return n;
    }
    case Kind::ARRAY:
      return static_cast<int64_t>(v.as_array().size());
    case Kind::OBJECT:
    case Kind::NAMESPACE:
      return static_cast<int64_t>(v.as_object().items.size());
    case Kind::UNDEFINED:
      return 0;
    default:
      return error("length of a value that has none");
  }
}

Result<Array> iterate(const Value& v) {
  if (v.is_array()) return v.as_array();
  if (v.is_mapping()) {
    Array keys;
    for (const auto& [k, x] : v.as_object().items)
      keys.push_back(Value::string(k));
    return keys;
  }
  if (v.is_string()) {
    Array chars;
    const std::string& s = v.as_string();
    for (size_t i = 0; i < s.size();) {
      size_t n = 1;
      while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80)
        ++n;
      chars.push_back(Value::string(s.substr(i, n)));
      i += n;
    }
    return chars;
  }
  if (v.is_undefined() || v.is_none()) return Array{};
  return error("the value is not iterable");
}

Value attribute(const Value& v, const std::string& name) {
  if (!v.is_mapping()) return Value();
  const Value* x = v.as_object().find(name);
  return x == nullptr ? Value() : *x;
}

std::shared_ptr<Callable> bind(std::function<Result<Value>(const Args&)> fn) {
  auto c = std::make_shared<Callable>();
  c->fn = std::move(fn);
  return c;
}

}  // namespace

std::string py_strip(std::string_view s, const Value* chars, bool left, bool right) {
  std::string_view set = PY_WHITESPACE;
  if (chars != nullptr && chars->is_string()) set = chars->as_string();
  size_t b = 0;
  size_t e = s.size();
  if (left) {
    while (b < e && set.find(s[b]) != std::string_view::npos)
      ++b;
  }
  if (right) {
    while (e > b && set.find(s[e - 1]) != std::string_view::npos)
      --e;
  }
  return std::string(s.substr(b, e - b));
}

Value method(const Value& self, std::string_view name) {
  if (self.is_string()) {
    const std::string& s = self.as_string();
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
      bool l = name != "rstrip";
      bool r = name != "lstrip";
      return Value::callable(bind([s, l, r](const Args& a) -> Result<Value> {
        return Value::string(py_strip(s, a.get(0, "chars"), l, r));
      }));
    }
    if (name == "split") {
      return Value::callable(
          bind([s](const Args& a) { return split(s, a.get(0, "sep"), a.get(1, "maxsplit")); }));
    }
    if (name == "startswith" || name == "endswith") {
      bool start = name == "startswith";
      return Value::callable(bind([s, start](const Args& a) -> Result<Value> {
        const Value* p = a.get(0, "prefix");
        if (p == nullptr) return error("startswith() and endswith() need an argument");
        std::vector<std::string> options;
        if (p->is_string()) options.push_back(p->as_string());
        if (p->is_array()) {
          for (const auto& x : p->as_array()) {
            if (x.is_string()) options.push_back(x.as_string());
          }
        }
        for (const auto& o : options) {
          bool hit = start
                         ? s.rfind(o, 0) == 0
                         : s.size() >= o.size() && s.compare(s.size() - o.size(), o.size(), o) == 0;
          if (hit) return Value::boolean(true);
        }
        return Value::boolean(false);
      }));
    }
    if (name == "lower")
      return Value::callable(
          bind([s](const Args&) -> Result<Value> { return Value::string(lower(s)); }));
    if (name == "upper")
      return Value::callable(
          bind([s](const Args&) -> Result<Value> { return Value::string(upper(s)); }));
    if (name == "title")
      return Value::callable(
          bind([s](const Args&) -> Result<Value> { return Value::string(title(s)); }));
    if (name == "capitalize") {
      return Value::callable(
          bind([s](const Args&) -> Result<Value> { return Value::string(capitalize(s)); }));
    }
    if (name == "replace") {
      return Value::callable(bind([s](const Args& a) -> Result<Value> {
        const Value* from = a.get(0, "old");
        const Value* to = a.get(1, "new");
        const Value* count = a.get(2, "count");
        if (from == nullptr || to == nullptr || !from->is_string() || !to->is_string()) {
          return error("replace() needs two strings");
        }
        return Value::string(
            replace(s, from->as_string(), to->as_string(),
                    count != nullptr && count->kind() == Kind::INT ? count->as_int() : -1));
      }));
    }
    return Value();
  }
  if (self.is_mapping()) {
    if (name == "items" || name == "keys" || name == "values") {
      std::string which(name);
      return Value::callable(bind([self, which](const Args&) -> Result<Value> {
        Array out;
        for (const auto& [k, v] : self.as_object().items) {
          if (which == "items") {
            out.push_back(Value::array({Value::string(k), v}));
          } else if (which == "keys") {
            out.push_back(Value::string(k));
          } else {
            out.push_back(v);
          }
        }
        return Value::array(std::move(out));
      }));
    }
    if (name == "get") {
      return Value::callable(bind([self](const Args& a) -> Result<Value> {
        const Value* key = a.get(0, "key");
        if (key == nullptr || !key->is_string()) return error("get() needs a string key");
        const Value* v = self.as_object().find(key->as_string());
        if (v != nullptr) return *v;
        const Value* fallback = a.get(1, "default");
        return fallback != nullptr ? *fallback : Value::none();
      }));
    }
  }
  return Value();
}

Result<Value> apply_filter(std::string_view name, const Value& v, const Args& args) {
  if (name == "trim") {
    if (!v.is_string()) return error("trim applies to strings");
    return Value::string(py_strip(v.as_string(), args.get(0, "chars"), true, true));
  }
  if (name == "length" || name == "count") {
    SOCLE_ASSIGN_OR_RETURN(int64_t n, length(v));
    return Value::integer(n);
  }
  if (name == "tojson") {
    const Value* indent = args.get(0, "indent");
    int n =
        indent != nullptr && indent->kind() == Kind::INT ? static_cast<int>(indent->as_int()) : 0;
    return Value::string(v.to_json(n));
  }
  if (name == "string") return Value::string(v.to_output());
  if (name == "safe") return v;
  if (name == "lower") return Value::string(lower(v.to_output()));
  if (name == "upper") return Value::string(upper(v.to_output()));
  if (name == "title") return Value::string(title(v.to_output()));
  if (name == "capitalize") return Value::string(capitalize(v.to_output()));
  if (name == "replace") {
    const Value* from = args.get(0, "old");
    const Value* to = args.get(1, "new");
    if (from == nullptr || to == nullptr || !from->is_string() || !to->is_string()) {
      return error("replace needs two strings");
    }
    return Value::string(replace(v.to_output(), from->as_string(), to->as_string(), -1));
  }
  if (name == "default" || name == "d") {
    const Value* fallback = args.get(0, "default_value");
    const Value* boolean = args.get(1, "boolean");
    bool use = v.is_undefined() || (boolean != nullptr && boolean->truthy() && !v.truthy());
    return use ? (fallback != nullptr ? *fallback : Value::string("")) : v;
  }
  if (name == "first" || name == "last") {
    SOCLE_ASSIGN_OR_RETURN(Array items, iterate(v));
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") {
    SOCLE_ASSIGN_OR_RETURN(Array items, iterate(v));
    return Value::array(std::move(items));
  }
  if (name == "reverse") {
    if (v.is_string()) {
      SOCLE_ASSIGN_OR_RETURN(Array chars, iterate(v));
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it)
        out += it->as_string();
      return Value::string(out);
    }
    SOCLE_ASSIGN_OR_RETURN(Array items, iterate(v));
    std::reverse(items.begin(), items.end());
    return Value::array(std::move(items));
  }
  if (name == "join") {
    SOCLE_ASSIGN_OR_RETURN(Array items, iterate(v));
    const Value* sep = args.get(0, "d");
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0 && sep != nullptr) out += sep->to_output();
      out += items[i].to_output();
    }
    return Value::string(out);
  }
  if (name == "items") {
    if (!v.is_mapping()) return error("items applies to mappings");
    Array out;
    for (const auto& [k, x] : v.as_object().items)
      out.push_back(Value::array({Value::string(k), x}));
    return Value::array(std::move(out));
  }
  if (name == "int") {
    if (v.kind() == Kind::INT) return v;
    if (v.kind() == Kind::FLOAT) return Value::integer(static_cast<int64_t>(v.as_double()));
    if (v.is_string()) {
      // Jinja's int filter gives 0 for text that is not a number.
      int64_t n = 0;
      const std::string& s = v.as_string();
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      return Value::integer(ec == std::errc() && ptr == s.data() + s.size() ? n : 0);
    }
    return Value::integer(0);
  }
  if (name == "abs") {
    if (v.kind() == Kind::INT) return Value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
    if (v.kind() == Kind::FLOAT) return Value::floating(std::fabs(v.as_double()));
    return error("abs applies to numbers");
  }
  if (name == "map" || name == "selectattr" || name == "rejectattr") {
    SOCLE_ASSIGN_OR_RETURN(Array items, iterate(v));
    Array out;
    if (name == "map") {
      const Value* attr = args.get(SIZE_MAX, "attribute");
      if (attr == nullptr || !attr->is_string())
        return error("map is supported with attribute= only");
      for (const auto& x : items)
        out.push_back(attribute(x, attr->as_string()));
      return Value::array(std::move(out));
    }
    const Value* attr = args.get(0, "attribute");
    if (attr == nullptr || !attr->is_string())
      return error(std::string(name) + " needs an attribute name");
    Args test_args;
    for (size_t i = 2; i < args.positional.size(); ++i)
      test_args.positional.push_back(args.positional[i]);
    for (const auto& x : items) {
      Value a = attribute(x, attr->as_string());
      bool keep = false;
      if (args.positional.size() >= 2 && args.positional[1].is_string()) {
        SOCLE_ASSIGN_OR_RETURN(keep, apply_test(args.positional[1].as_string(), a, test_args));
      } else {
        keep = a.truthy();
      }
      if (keep == (name == "selectattr")) out.push_back(x);
    }
    return Value::array(std::move(out));
  }
  return error("the filter '" + std::string(name) + "' is not supported");
}

Result<bool> apply_test(std::string_view name, const Value& v, const Args& args) {
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind() == Kind::INT;
  if (name == "float") return v.kind() == Kind::FLOAT;
  if (name == "boolean") return v.kind() == Kind::BOOL;
  if (name == "true") return v.kind() == Kind::BOOL && v.as_bool();
  if (name == "false") return v.kind() == Kind::BOOL && !v.as_bool();
  if (name == "mapping") return v.is_mapping();
  if (name == "iterable") return v.is_array() || v.is_mapping() || v.is_string();
  if (name == "sequence") return v.is_array() || v.is_string() || v.is_mapping();
  if (name == "callable") return v.kind() == Kind::CALLABLE;
  if (name == "even" || name == "odd") {
    if (v.kind() != Kind::INT) return error("even and odd apply to integers");
    return (v.as_int() % 2 == 0) == (name == "even");
  }
  if (name == "equalto" || name == "eq" || name == "==" || name == "sameas") {
    const Value* other = args.get(0, "other");
    return other != nullptr && values_equal(v, *other);
  }
  if (name == "ne" || name == "!=") {
    const Value* other = args.get(0, "other");
    return other == nullptr || !values_equal(v, *other);
  }
  return error("the test '" + std::string(name) + "' is not supported");
}

}  // namespace socle::engine::jinja
