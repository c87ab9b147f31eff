#include "engine/template/expression_parser.h"

namespace socle::engine::jinja {

// A new node of `kind` at the position of `at`.
std::unique_ptr<Expr> ExpressionParser::make(ExprKind kind, const Token& at) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = at.line;
  e->column = at.column;
  return e;
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_expression() {
  const Token& at = cur_.peek();
  SOCLE_ASSIGN_OR_RETURN(auto first, parse_ternary(true));
  if (!cur_.is_op(",")) return first;
  auto tuple = make(ExprKind::TUPLE, at);
  tuple->children.push_back(std::move(first));
  while (cur_.is_op(",")) {
    ++cur_.pos;
    SOCLE_ASSIGN_OR_RETURN(auto item, parse_ternary(true));
    tuple->children.push_back(std::move(item));
  }
  return tuple;
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_ternary(bool allow_if) {
  SOCLE_RETURN_IF_ERROR(cur_.enter());
  auto e = parse_ternary_inner(allow_if);
  cur_.leave();
  return e;
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_ternary_inner(bool allow_if) {
  const Token& at = cur_.peek();
  SOCLE_ASSIGN_OR_RETURN(auto value, parse_or());
  if (!allow_if || !cur_.is_name("if")) return value;
  ++cur_.pos;
  auto t = make(ExprKind::TERNARY, at);
  SOCLE_ASSIGN_OR_RETURN(auto cond, parse_or());
  std::unique_ptr<Expr> other;
  if (cur_.is_name("else")) {
    ++cur_.pos;
    SOCLE_ASSIGN_OR_RETURN(other, parse_ternary(true));
  }
  t->children.push_back(std::move(cond));
  t->children.push_back(std::move(value));
  t->children.push_back(std::move(other));
  return t;
}

Result<std::unique_ptr<Expr>> ExpressionParser::binary(std::string op, std::unique_ptr<Expr> l,
                                                       std::unique_ptr<Expr> r, const Token& at) {
  auto b = make(ExprKind::BINARY, at);
  b->name = std::move(op);
  b->children.push_back(std::move(l));
  b->children.push_back(std::move(r));
  return b;
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_or() {
  SOCLE_ASSIGN_OR_RETURN(auto l, parse_and());
  while (cur_.is_name("or")) {
    const Token& at = cur_.next();
    SOCLE_ASSIGN_OR_RETURN(auto r, parse_and());
    SOCLE_ASSIGN_OR_RETURN(l, binary("or", std::move(l), std::move(r), at));
  }
  return l;
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_and() {
  SOCLE_ASSIGN_OR_RETURN(auto l, parse_not());
  while (cur_.is_name("and")) {
    const Token& at = cur_.next();
    SOCLE_ASSIGN_OR_RETURN(auto r, parse_not());
    SOCLE_ASSIGN_OR_RETURN(l, binary("and", std::move(l), std::move(r), at));
  }
  return l;
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_not() {
  if (cur_.is_name("not")) {
    const Token& at = cur_.next();
    auto u = make(ExprKind::UNARY, at);
    u->name = "not";
    SOCLE_RETURN_IF_ERROR(cur_.enter());
    auto operand_or = parse_not();
    cur_.leave();
    SOCLE_ASSIGN_OR_RETURN(auto operand, std::move(operand_or));
    u->children.push_back(std::move(operand));
    return u;
  }
  return parse_compare();
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_compare() {
  SOCLE_ASSIGN_OR_RETURN(auto l, parse_add());
  while (true) {
    const Token& at = cur_.peek();
    std::string op;
    if (at.kind == TokenKind::OP && (at.text == "==" || at.text == "!=" || at.text == "<" ||
                                     at.text == ">" || at.text == "<=" || at.text == ">=")) {
      op = at.text;
      ++cur_.pos;
    } else if (cur_.is_name("in")) {
      op = "in";
      ++cur_.pos;
    } else if (cur_.is_name("not") && cur_.is_name("in", 1)) {
      op = "not in";
      cur_.pos += 2;
    } else {
      return l;
    }
    SOCLE_ASSIGN_OR_RETURN(auto r, parse_add());
    SOCLE_ASSIGN_OR_RETURN(l, binary(op, std::move(l), std::move(r), at));
  }
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_add() {
  SOCLE_ASSIGN_OR_RETURN(auto l, parse_concat());
  while (cur_.is_op("+") || cur_.is_op("-")) {
    const Token& at = cur_.next();
    SOCLE_ASSIGN_OR_RETURN(auto r, parse_concat());
    SOCLE_ASSIGN_OR_RETURN(l, binary(at.text, std::move(l), std::move(r), at));
  }
  return l;
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_concat() {
  SOCLE_ASSIGN_OR_RETURN(auto l, parse_mul());
  while (cur_.is_op("~")) {
    const Token& at = cur_.next();
    SOCLE_ASSIGN_OR_RETURN(auto r, parse_mul());
    SOCLE_ASSIGN_OR_RETURN(l, binary("~", std::move(l), std::move(r), at));
  }
  return l;
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_mul() {
  SOCLE_ASSIGN_OR_RETURN(auto l, parse_unary());
  while (cur_.is_op("*") || cur_.is_op("/") || cur_.is_op("//") || cur_.is_op("%")) {
    const Token& at = cur_.next();
    SOCLE_ASSIGN_OR_RETURN(auto r, parse_unary());
    SOCLE_ASSIGN_OR_RETURN(l, binary(at.text, std::move(l), std::move(r), at));
  }
  return l;
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_unary() {
  if (cur_.is_op("-") || cur_.is_op("+")) {
    const Token& at = cur_.next();
    auto u = make(ExprKind::UNARY, at);
    u->name = at.text;
    SOCLE_RETURN_IF_ERROR(cur_.enter());
    auto operand_or = parse_unary();
    cur_.leave();
    SOCLE_ASSIGN_OR_RETURN(auto operand, std::move(operand_or));
    u->children.push_back(std::move(operand));
    return u;
  }
  SOCLE_ASSIGN_OR_RETURN(auto e, parse_postfix());
  return parse_filters(std::move(e));
}

Status ExpressionParser::parse_call_args(Expr& call) {
  SOCLE_RETURN_IF_ERROR(cur_.expect_op("("));
  while (!cur_.is_op(")")) {
    if (cur_.peek().kind == TokenKind::NAME && cur_.is_op("=", 1)) {
      call.keywords.push_back(cur_.next().text);
      ++cur_.pos;
    } else if (!call.keywords.empty()) {
      return cur_.error("a positional argument follows a keyword argument");
    }
    SOCLE_ASSIGN_OR_RETURN(auto arg, parse_ternary(true));
    call.children.push_back(std::move(arg));
    if (!cur_.is_op(")")) SOCLE_RETURN_IF_ERROR(cur_.expect_op(","));
  }
  ++cur_.pos;
  return Status::ok();
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_filters(std::unique_ptr<Expr> e) {
  while (true) {
    if (cur_.is_op("|")) {
      const Token& at = cur_.next();
      auto f = make(ExprKind::FILTER, at);
      SOCLE_ASSIGN_OR_RETURN(f->name, cur_.expect_name());
      f->children.push_back(std::move(e));
      if (cur_.is_op("(")) SOCLE_RETURN_IF_ERROR(parse_call_args(*f));
      e = std::move(f);
    } else if (cur_.is_name("is")) {
      const Token& at = cur_.next();
      auto t = make(ExprKind::TEST, at);
      if (cur_.is_name("not")) {
        t->negated = true;
        ++cur_.pos;
      }
      if (cur_.is_name("none") || cur_.is_name("true") || cur_.is_name("false")) {
        t->name = cur_.next().text;
      } else {
        SOCLE_ASSIGN_OR_RETURN(t->name, cur_.expect_name());
      }
      t->children.push_back(std::move(e));
      if (cur_.is_op("(")) {
        SOCLE_RETURN_IF_ERROR(parse_call_args(*t));
      } else if (cur_.peek().kind == TokenKind::STRING || cur_.peek().kind == TokenKind::INT ||
                 (cur_.peek().kind == TokenKind::NAME && !cur_.is_name("and") &&
                  !cur_.is_name("or") && !cur_.is_name("else") && !cur_.is_name("if") &&
                  !cur_.is_name("in") && !cur_.is_name("not"))) {
        // A test with one argument written without parentheses: x is divisibleby 3.
        SOCLE_ASSIGN_OR_RETURN(auto arg, parse_postfix());
        t->children.push_back(std::move(arg));
      }
      e = std::move(t);
    } else {
      return e;
    }
  }
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_postfix() {
  SOCLE_ASSIGN_OR_RETURN(auto e, parse_primary());
  while (true) {
    const Token& at = cur_.peek();
    if (cur_.is_op(".")) {
      ++cur_.pos;
      auto a = make(ExprKind::ATTR, at);
      SOCLE_ASSIGN_OR_RETURN(a->name, cur_.expect_name());
      a->children.push_back(std::move(e));
      e = std::move(a);
    } else if (cur_.is_op("[")) {
      ++cur_.pos;
      SOCLE_ASSIGN_OR_RETURN(e, parse_subscript(std::move(e), at));
    } else if (cur_.is_op("(")) {
      auto c = make(ExprKind::CALL, at);
      c->children.push_back(std::move(e));
      SOCLE_RETURN_IF_ERROR(parse_call_args(*c));
      e = std::move(c);
    } else {
      return e;
    }
  }
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_subscript(std::unique_ptr<Expr> obj,
                                                                const Token& at) {
  std::unique_ptr<Expr> parts[3];
  int part = 0;
  bool slice = false;
  while (!cur_.is_op("]")) {
    if (cur_.is_op(":")) {
      ++cur_.pos;
      slice = true;
      if (++part > 2) return cur_.error("a slice has at most three parts");
      continue;
    }
    SOCLE_ASSIGN_OR_RETURN(parts[part], parse_ternary(true));
  }
  ++cur_.pos;
  auto e = make(slice ? ExprKind::SLICE : ExprKind::INDEX, at);
  e->children.push_back(std::move(obj));
  if (!slice) {
    if (!parts[0]) return cur_.error("an empty subscript");
    e->children.push_back(std::move(parts[0]));
    return e;
  }
  for (auto& p : parts)
    e->children.push_back(std::move(p));
  return e;
}

Result<std::unique_ptr<Expr>> ExpressionParser::parse_primary() {
  const Token& t = cur_.peek();
  switch (t.kind) {
    case TokenKind::STRING: {
      auto e = make(ExprKind::LITERAL, t);
      std::string s = cur_.next().text;
      // Adjacent string literals concatenate, as in Python.
      while (cur_.peek().kind == TokenKind::STRING)
        s += cur_.next().text;
      e->literal = Value::string(std::move(s));
      return e;
    }
    case TokenKind::INT: {
      auto e = make(ExprKind::LITERAL, t);
      e->literal = Value::integer(std::stoll(cur_.next().text));
      return e;
    }
    case TokenKind::FLOAT: {
      auto e = make(ExprKind::LITERAL, t);
      e->literal = Value::floating(std::stod(cur_.next().text));
      return e;
    }
    case TokenKind::NAME: {
      auto e = make(ExprKind::LITERAL, t);
      std::string n = cur_.next().text;
      if (n == "true" || n == "True") {
        e->literal = Value::boolean(true);
      } else if (n == "false" || n == "False") {
        e->literal = Value::boolean(false);
      } else if (n == "none" || n == "None") {
        e->literal = Value::none();
      } else {
        e->kind = ExprKind::NAME;
        e->name = std::move(n);
      }
      return e;
    }
    case TokenKind::OP:
      break;
    default:
      return cur_.error("expected an expression");
  }
  if (cur_.is_op("(")) {
    ++cur_.pos;
    if (cur_.is_op(")")) {
      ++cur_.pos;
      return make(ExprKind::TUPLE, t);
    }
    SOCLE_ASSIGN_OR_RETURN(auto inner, parse_expression());
    SOCLE_RETURN_IF_ERROR(cur_.expect_op(")"));
    return inner;
  }
  if (cur_.is_op("[")) {
    ++cur_.pos;
    auto list = make(ExprKind::LIST, t);
    while (!cur_.is_op("]")) {
      SOCLE_ASSIGN_OR_RETURN(auto item, parse_ternary(true));
      list->children.push_back(std::move(item));
      if (!cur_.is_op("]")) SOCLE_RETURN_IF_ERROR(cur_.expect_op(","));
    }
    ++cur_.pos;
    return list;
  }
  if (cur_.is_op("{")) {
    ++cur_.pos;
    auto dict = make(ExprKind::DICT, t);
    while (!cur_.is_op("}")) {
      SOCLE_ASSIGN_OR_RETURN(auto key, parse_ternary(true));
      SOCLE_RETURN_IF_ERROR(cur_.expect_op(":"));
      SOCLE_ASSIGN_OR_RETURN(auto value, parse_ternary(true));
      dict->children.push_back(std::move(key));
      dict->children.push_back(std::move(value));
      if (!cur_.is_op("}")) SOCLE_RETURN_IF_ERROR(cur_.expect_op(","));
    }
    ++cur_.pos;
    return dict;
  }
  return cur_.error("unexpected '" + t.text + "'");
}

}  // namespace socle::engine::jinja
