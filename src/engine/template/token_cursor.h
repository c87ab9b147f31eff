// A cursor over the template's tokens, shared by the statement and expression parsers.
// Internal to the template folder.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/template/lexer.h"

namespace socle::engine::jinja {

// Deeper nesting than this (of parentheses, 'not', signs, or blocks) is refused: no chat
// template comes close, and it bounds the parsers' recursion on hostile input.
inline constexpr int MAX_NESTING = 128;

struct TokenCursor {
  std::vector<Token> tokens;  // ends with an END token
  size_t pos = 0;
  int depth = 0;  // current nesting, checked against MAX_NESTING

  // Enters one level of nesting; fails past MAX_NESTING. Pair with leave().
  Status enter() {
    if (++depth > MAX_NESTING) {
      --depth;
      return error("nesting deeper than " + std::to_string(MAX_NESTING) + " levels");
    }
    return Status::ok();
  }
  void leave() { --depth; }

  const Token& peek(size_t ahead = 0) const {
    size_t i = std::min(pos + ahead, tokens.size() - 1);
    return tokens[i];
  }
  const Token& next() { return tokens[std::min(pos++, tokens.size() - 1)]; }
  bool is_op(std::string_view op, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::OP && peek(ahead).text == op;
  }
  bool is_name(std::string_view name, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::NAME && peek(ahead).text == name;
  }
  Status error(const std::string& what) const {
    return invalid_argument("chat template, line " + std::to_string(peek().line) + " column " +
                            std::to_string(peek().column) + ": " + what);
  }
  Status expect_op(std::string_view op) {
    if (!is_op(op)) return error("expected '" + std::string(op) + "'");
    ++pos;
    return Status::ok();
  }
  Status expect_kind(TokenKind kind, std::string_view what) {
    if (peek().kind != kind) return error("expected " + std::string(what));
    ++pos;
    return Status::ok();
  }
  Result<std::string> expect_name() {
    if (peek().kind != TokenKind::NAME) return error("expected a name");
    return next().text;
  }
};

}  // namespace socle::engine::jinja
