#include "engine/template/interpreter.h"

#include <cmath>
#include <unordered_map>

#include "engine/template/builtins.h"
#include "engine/template/operators.h"

namespace socle::engine::jinja {

namespace {

enum class Flow { NORMAL, BREAK, CONTINUE };

// Templates come with model files, which socle does not write: a macro that calls itself
// without end, or a range() of billions, must fail rather than exhaust the stack or memory.
constexpr size_t MAX_CALL_DEPTH = 64;
constexpr int64_t MAX_RANGE = 1'000'000;

class Interpreter {
 public:
  explicit Interpreter(const Variables& variables) {
    frames_.emplace_back();
    for (const auto& [k, v] : variables)
      frames_.back()[k] = v;
    add_globals();
  }

  Result<std::string> run(const Body& body) {
    std::string out;
    SOCLE_ASSIGN_OR_RETURN(Flow flow, exec(body, out));
    (void)flow;
    return out;
  }

 private:
  using Frame = std::unordered_map<std::string, Value>;

  static Status error_at(int line, int column, const std::string& what) {
    return invalid_argument("chat template, line " + std::to_string(line) + " column " +
                            std::to_string(column) + ": " + what);
  }
  static Status error_at(const Expr& e, const std::string& what) {
    return error_at(e.line, e.column, what);
  }

  static std::shared_ptr<Callable> fn(std::function<Result<Value>(const Args&)> f) {
    auto c = std::make_shared<Callable>();
    c->fn = std::move(f);
    return c;
  }

  void add_globals() {
    Frame& g = frames_.front();
    g["raise_exception"] = Value::callable(fn([](const Args& a) -> Result<Value> {
      const Value* m = a.get(0, "message");
      return invalid_argument("chat template raised an exception: " +
                              (m ? m->to_output() : std::string()));
    }));
    g["namespace"] = Value::callable(fn([](const Args& a) -> Result<Value> {
      Object o;
      for (const auto& [k, v] : a.keyword)
        o.set(k, v);
      return Value::namespace_object(std::move(o));
    }));
    g["dict"] = Value::callable(fn([](const Args& a) -> Result<Value> {
      Object o;
      for (const auto& [k, v] : a.keyword)
        o.set(k, v);
      return Value::object(std::move(o));
    }));
    g["range"] = Value::callable(fn([](const Args& a) -> Result<Value> {
      int64_t start = 0;
      int64_t stop = 0;
      int64_t step = 1;
      for (const auto& v : a.positional) {
        if (v.kind() != Kind::INT) return invalid_argument("chat template: range() takes integers");
      }
      if (a.positional.size() == 1) {
        stop = a.positional[0].as_int();
      } else if (a.positional.size() >= 2) {
        start = a.positional[0].as_int();
        stop = a.positional[1].as_int();
        if (a.positional.size() == 3) step = a.positional[2].as_int();
      }
      if (step == 0) return invalid_argument("chat template: range() step is zero");
      if ((stop - start) / step > MAX_RANGE) {
        return invalid_argument("chat template: range() of more than " + std::to_string(MAX_RANGE) +
                                " items");
      }
      Array out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
        out.push_back(Value::integer(i));
      return Value::array(std::move(out));
    }));
  }

  Value lookup(const std::string& name) const {
    for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) return f->second;
    }
    return Value();
  }

  Result<Flow> exec(const Body& body, std::string& out) {
    for (const auto& s : body) {
      SOCLE_ASSIGN_OR_RETURN(Flow flow, exec(*s, out));
      if (flow != Flow::NORMAL) return flow;
    }
    return Flow::NORMAL;
  }

  Result<Flow> exec(const Stmt& s, std::string& out) {
    switch (s.kind) {
      case StmtKind::TEXT:
        out += s.text;
        return Flow::NORMAL;
      case StmtKind::OUTPUT: {
        SOCLE_ASSIGN_OR_RETURN(Value v, eval(*s.expr));
        out += v.to_output();
        return Flow::NORMAL;
      }
      case StmtKind::IF: {
        for (size_t i = 0; i < s.conds.size(); ++i) {
          SOCLE_ASSIGN_OR_RETURN(Value c, eval(*s.conds[i]));
          if (c.truthy()) return exec(s.bodies[i], out);
        }
        if (s.bodies.size() > s.conds.size()) return exec(s.bodies.back(), out);
        return Flow::NORMAL;
      }
      case StmtKind::FOR:
        return exec_for(s, out);
      case StmtKind::SET:
        return exec_set(s);
      case StmtKind::MACRO: {
        const Stmt* macro = &s;
        frames_.back()[s.macro_name] =
            Value::callable(fn([this, macro](const Args& a) { return call_macro(*macro, a); }));
        return Flow::NORMAL;
      }
      case StmtKind::BREAK:
        return Flow::BREAK;
      case StmtKind::CONTINUE:
        return Flow::CONTINUE;
    }
    return Flow::NORMAL;
  }

  Result<Value> call_macro(const Stmt& m, const Args& a) {
    Frame frame;
    for (size_t i = 0; i < m.params.size(); ++i) {
      const Value* v = a.get(i, m.params[i]);
      if (v != nullptr) {
        frame[m.params[i]] = *v;
      } else if (m.defaults[i]) {
        SOCLE_ASSIGN_OR_RETURN(frame[m.params[i]], eval(*m.defaults[i]));
      } else {
        frame[m.params[i]] = Value();
      }
    }
    if (call_depth_ >= MAX_CALL_DEPTH) {
      return error_at(m.line, m.column,
                      "macro " + m.macro_name + " is nested deeper than " +
                          std::to_string(MAX_CALL_DEPTH) + " calls");
    }
    frames_.push_back(std::move(frame));
    ++call_depth_;
    std::string out;
    auto flow = exec(m.bodies[0], out);
    --call_depth_;
    frames_.pop_back();
    if (!flow.is_ok()) return flow.status();
    return Value::string(std::move(out));
  }

  Result<Flow> exec_set(const Stmt& s) {
    Value v;
    if (s.expr) {
      SOCLE_ASSIGN_OR_RETURN(v, eval(*s.expr));
    } else {
      std::string captured;
      SOCLE_ASSIGN_OR_RETURN(Flow flow, exec(s.bodies[0], captured));
      (void)flow;
      v = Value::string(std::move(captured));
    }
    if (s.set_attribute) {
      Value target = lookup(s.targets[0]);
      if (target.kind() != Kind::NAMESPACE) {
        return error_at(
            s.line, s.column,
            "set " + s.targets[0] + "." + s.targets[1] + ": only namespace attributes can be set");
      }
      target.mutable_object().set(s.targets[1], std::move(v));
      return Flow::NORMAL;
    }
    if (s.targets.size() == 1) {
      frames_.back()[s.targets[0]] = std::move(v);
      return Flow::NORMAL;
    }
    if (!v.is_array() || v.as_array().size() != s.targets.size()) {
      return error_at(s.line, s.column,
                      "set: cannot unpack into " + std::to_string(s.targets.size()) + " names");
    }
    for (size_t i = 0; i < s.targets.size(); ++i)
      frames_.back()[s.targets[i]] = v.as_array()[i];
    return Flow::NORMAL;
  }

  Status bind_targets(const Stmt& s, Frame& frame, const Value& item) {
    if (s.targets.size() == 1) {
      frame[s.targets[0]] = item;
      return Status::ok();
    }
    if (!item.is_array() || item.as_array().size() != s.targets.size()) {
      return error_at(
          s.line, s.column,
          "for: cannot unpack an item into " + std::to_string(s.targets.size()) + " names");
    }
    for (size_t i = 0; i < s.targets.size(); ++i)
      frame[s.targets[i]] = item.as_array()[i];
    return Status::ok();
  }

  Result<Flow> exec_for(const Stmt& s, std::string& out) {
    SOCLE_ASSIGN_OR_RETURN(Value iterable, eval(*s.expr));
    Array items;
    if (iterable.is_array()) {
      items = iterable.as_array();
    } else if (iterable.is_mapping()) {
      for (const auto& [k, v] : iterable.as_object().items)
        items.push_back(Value::string(k));
    } else if (iterable.is_string()) {
      SOCLE_ASSIGN_OR_RETURN(Value list, apply_filter("list", iterable, {}));
      items = list.as_array();
    } else if (!iterable.is_undefined() && !iterable.is_none()) {
      return error_at(*s.expr, "for: the value is not iterable");
    }
    if (!s.conds.empty()) {
      // The loop filter runs before the loop, so loop.length counts kept items only.
      Array kept;
      for (const auto& item : items) {
        Frame frame;
        SOCLE_RETURN_IF_ERROR(bind_targets(s, frame, item));
        frames_.push_back(std::move(frame));
        auto c = eval(*s.conds[0]);
        frames_.pop_back();
        if (!c.is_ok()) return c.status();
        if (c->truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      if (s.bodies.size() > 1) return exec(s.bodies[1], out);
      return Flow::NORMAL;
    }
    const auto n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      Frame frame;
      SOCLE_RETURN_IF_ERROR(bind_targets(s, frame, items[static_cast<size_t>(i)]));
      Object loop;
      loop.set("index", Value::integer(i + 1));
      loop.set("index0", Value::integer(i));
      loop.set("revindex", Value::integer(n - i));
      loop.set("revindex0", Value::integer(n - i - 1));
      loop.set("first", Value::boolean(i == 0));
      loop.set("last", Value::boolean(i == n - 1));
      loop.set("length", Value::integer(n));
      loop.set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value());
      loop.set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value());
      frame["loop"] = Value::object(std::move(loop));
      frames_.push_back(std::move(frame));
      auto flow = exec(s.bodies[0], out);
      frames_.pop_back();
      if (!flow.is_ok()) return flow.status();
      if (*flow == Flow::BREAK) break;
    }
    return Flow::NORMAL;
  }

  Result<Args> eval_args(const Expr& e, size_t first) {
    Args a;
    size_t n_positional = e.children.size() - first - e.keywords.size();
    for (size_t i = first; i < e.children.size(); ++i) {
      SOCLE_ASSIGN_OR_RETURN(Value v, eval(*e.children[i]));
      if (i - first < n_positional) {
        a.positional.push_back(std::move(v));
      } else {
        a.keyword.emplace_back(e.keywords[i - first - n_positional], std::move(v));
      }
    }
    return a;
  }

  static int64_t wrap_index(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

  Result<Value> subscript(const Expr& e, const Value& obj, const Value& key) {
    if (obj.is_mapping()) {
      if (!key.is_string()) return Value();
      const Value* v = obj.as_object().find(key.as_string());
      return v == nullptr ? method(obj, key.as_string()) : *v;
    }
    if ((obj.is_array() || obj.is_string()) && key.kind() == Kind::INT) {
      Array items;
      if (obj.is_array()) {
        items = obj.as_array();
      } else {
        SOCLE_ASSIGN_OR_RETURN(Value list, apply_filter("list", obj, {}));
        items = list.as_array();
      }
      int64_t i = wrap_index(key.as_int(), static_cast<int64_t>(items.size()));
      if (i < 0 || i >= static_cast<int64_t>(items.size())) return Value();
      return items[static_cast<size_t>(i)];
    }
    if (obj.is_undefined() || obj.is_none()) return Value();
    if (key.is_string()) return method(obj, key.as_string());
    return error_at(e, "cannot subscript this value");
  }

  Result<Value> slice(const Expr& e, const Value& obj) {
    int64_t parts[3] = {0, 0, 1};
    bool given[3] = {false, false, false};
    for (int k = 0; k < 3; ++k) {
      if (!e.children[static_cast<size_t>(k) + 1]) continue;
      SOCLE_ASSIGN_OR_RETURN(Value v, eval(*e.children[static_cast<size_t>(k) + 1]));
      if (v.is_none()) continue;
      if (v.kind() != Kind::INT) return error_at(e, "slice bounds must be integers");
      parts[k] = v.as_int();
      given[k] = true;
    }
    Array items;
    if (obj.is_array()) {
      items = obj.as_array();
    } else if (obj.is_string()) {
      SOCLE_ASSIGN_OR_RETURN(Value list, apply_filter("list", obj, {}));
      items = list.as_array();
    } else {
      return error_at(e, "only lists and strings can be sliced");
    }
    const auto n = static_cast<int64_t>(items.size());
    int64_t step = parts[2];
    if (step == 0) return error_at(e, "slice step cannot be zero");
    // Python's slice.indices.
    auto clamp = [&](int64_t v, bool is_given, int64_t fallback) {
      if (!is_given) return fallback;
      if (v < 0) v += n;
      if (step > 0) return std::clamp<int64_t>(v, 0, n);
      return std::clamp<int64_t>(v, -1, n - 1);
    };
    int64_t start = clamp(parts[0], given[0], step > 0 ? 0 : n - 1);
    int64_t stop = clamp(parts[1], given[1], step > 0 ? n : -1);
    Array out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
      out.push_back(items[static_cast<size_t>(i)]);
    if (obj.is_string()) {
      std::string s;
      for (const auto& c : out)
        s += c.as_string();
      return Value::string(std::move(s));
    }
    return Value::array(std::move(out));
  }

  Result<Value> eval(const Expr& e) {
    switch (e.kind) {
      case ExprKind::LITERAL:
        return e.literal;
      case ExprKind::NAME:
        return lookup(e.name);
      case ExprKind::ATTR: {
        SOCLE_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0]));
        if (obj.is_mapping()) {
          const Value* v = obj.as_object().find(e.name);
          if (v != nullptr) return *v;
        }
        return method(obj, e.name);
      }
      case ExprKind::INDEX: {
        SOCLE_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0]));
        SOCLE_ASSIGN_OR_RETURN(Value key, eval(*e.children[1]));
        return subscript(e, obj, key);
      }
      case ExprKind::SLICE: {
        SOCLE_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0]));
        return slice(e, obj);
      }
      case ExprKind::CALL: {
        SOCLE_ASSIGN_OR_RETURN(Value callee, eval(*e.children[0]));
        if (callee.kind() != Kind::CALLABLE) {
          std::string what =
              e.children[0]->kind == ExprKind::NAME || e.children[0]->kind == ExprKind::ATTR
                  ? "'" + e.children[0]->name + "'"
                  : "this value";
          return error_at(e, what + " is not a supported function or method");
        }
        SOCLE_ASSIGN_OR_RETURN(Args args, eval_args(e, 1));
        auto r = callee.as_callable()->fn(args);
        if (!r.is_ok() && r.status().message().rfind("chat template, line", 0) != 0) {
          return error_at(e, r.status().message());
        }
        return r;
      }
      case ExprKind::FILTER: {
        SOCLE_ASSIGN_OR_RETURN(Value operand, eval(*e.children[0]));
        SOCLE_ASSIGN_OR_RETURN(Args args, eval_args(e, 1));
        auto r = apply_filter(e.name, operand, args);
        if (!r.is_ok()) return error_at(e, r.status().message());
        return r;
      }
      case ExprKind::TEST: {
        SOCLE_ASSIGN_OR_RETURN(Value operand, eval(*e.children[0]));
        SOCLE_ASSIGN_OR_RETURN(Args args, eval_args(e, 1));
        auto r = apply_test(e.name, operand, args);
        if (!r.is_ok()) return error_at(e, r.status().message());
        return Value::boolean(*r != e.negated);
      }
      case ExprKind::UNARY: {
        SOCLE_ASSIGN_OR_RETURN(Value v, eval(*e.children[0]));
        if (e.name == "not") return Value::boolean(!v.truthy());
        if (v.kind() == Kind::INT) return Value::integer(e.name == "-" ? -v.as_int() : v.as_int());
        if (v.kind() == Kind::FLOAT)
          return Value::floating(e.name == "-" ? -v.as_double() : v.as_double());
        return error_at(e, "unary " + e.name + " applies to numbers");
      }
      case ExprKind::BINARY:
        return eval_binary(e);
      case ExprKind::TERNARY: {
        SOCLE_ASSIGN_OR_RETURN(Value c, eval(*e.children[0]));
        if (c.truthy()) return eval(*e.children[1]);
        if (!e.children[2]) return Value();
        return eval(*e.children[2]);
      }
      case ExprKind::LIST:
      case ExprKind::TUPLE: {
        Array items;
        for (const auto& c : e.children) {
          SOCLE_ASSIGN_OR_RETURN(Value v, eval(*c));
          items.push_back(std::move(v));
        }
        return Value::array(std::move(items));
      }
      case ExprKind::DICT: {
        Object o;
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          SOCLE_ASSIGN_OR_RETURN(Value k, eval(*e.children[i]));
          SOCLE_ASSIGN_OR_RETURN(Value v, eval(*e.children[i + 1]));
          if (!k.is_string()) return error_at(e, "dict keys must be strings");
          o.set(k.as_string(), std::move(v));
        }
        return Value::object(std::move(o));
      }
    }
    return Value();
  }

  Result<Value> eval_binary(const Expr& e) {
    const std::string& op = e.name;
    SOCLE_ASSIGN_OR_RETURN(Value l, eval(*e.children[0]));
    if (op == "and") return l.truthy() ? eval(*e.children[1]) : Result<Value>(l);
    if (op == "or") return l.truthy() ? Result<Value>(l) : eval(*e.children[1]);
    SOCLE_ASSIGN_OR_RETURN(Value r, eval(*e.children[1]));
    auto result = binary_operator(op, l, r);
    if (!result.is_ok()) return error_at(e, result.status().message());
    return result;
  }

  std::vector<Frame> frames_;
  size_t call_depth_ = 0;
};

}  // namespace

Result<std::string> render(const Body& program, const Variables& variables) {
  return Interpreter(variables).run(program);
}

}  // namespace socle::engine::jinja
