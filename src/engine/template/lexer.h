// Lexer for the chat-template language (a Jinja2 subset): splits a template into text and
// the tokens inside {{ }} and {% %}, applying the whitespace rules transformers renders
// chat templates with (trim_blocks, lstrip_blocks, '-' markers, one final newline dropped).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace socle::engine::jinja {

enum class TokenKind {
  TEXT,
  OPEN_EXPR,   // {{
  CLOSE_EXPR,  // }}
  OPEN_STMT,   // {%
  CLOSE_STMT,  // %}
  NAME,
  STRING,
  INT,
  FLOAT,
  OP,  // punctuation and operators: ( ) [ ] { } , . : | = + - * / // % ** ~ == != < > <= >=
  END,
};

struct Token {
  TokenKind kind;
  std::string text;  // the name, the operator, the decoded string, the number's digits
  int line;
  int column;
};

Result<std::vector<Token>> lex(std::string_view source);

}  // namespace socle::engine::jinja
