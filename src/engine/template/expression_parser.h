// Expressions of the chat-template language, with Jinja's precedence: conditional
// expressions, or, and, not, comparisons and 'in', + and -, ~, * / // %, unary signs, then
// postfix attribute, subscript, slice and call, filters (|) and tests (is).
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "engine/template/ast.h"
#include "engine/template/token_cursor.h"

namespace socle::engine::jinja {

class ExpressionParser {
 public:
  explicit ExpressionParser(TokenCursor& cur) : cur_(cur) {}

  // A full expression; a bare comma list is a tuple.
  Result<std::unique_ptr<Expr>> parse_expression();
  // One expression without a top-level tuple; `allow_if` admits "a if b else c".
  Result<std::unique_ptr<Expr>> parse_ternary(bool allow_if);

 private:
  Result<std::unique_ptr<Expr>> parse_ternary_inner(bool allow_if);
  std::unique_ptr<Expr> make(ExprKind kind, const Token& at);
  Result<std::unique_ptr<Expr>> binary(std::string op, std::unique_ptr<Expr> l,
                                       std::unique_ptr<Expr> r, const Token& at);
  Result<std::unique_ptr<Expr>> parse_or();
  Result<std::unique_ptr<Expr>> parse_and();
  Result<std::unique_ptr<Expr>> parse_not();
  Result<std::unique_ptr<Expr>> parse_compare();
  Result<std::unique_ptr<Expr>> parse_add();
  Result<std::unique_ptr<Expr>> parse_concat();
  Result<std::unique_ptr<Expr>> parse_mul();
  Result<std::unique_ptr<Expr>> parse_unary();
  Status parse_call_args(Expr& call);
  Result<std::unique_ptr<Expr>> parse_filters(std::unique_ptr<Expr> e);
  Result<std::unique_ptr<Expr>> parse_postfix();
  Result<std::unique_ptr<Expr>> parse_subscript(std::unique_ptr<Expr> obj, const Token& at);
  Result<std::unique_ptr<Expr>> parse_primary();

  TokenCursor& cur_;
};

}  // namespace socle::engine::jinja
