// The syntax tree of a chat template: expressions and statements, as the parser builds
// them and the interpreter walks them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/template/value.h"

namespace socle::engine::jinja {

enum class ExprKind {
  LITERAL,  // literal
  NAME,     // name
  ATTR,     // children[0].name
  INDEX,    // children[0][children[1]]
  SLICE,    // children[0][a:b:c]; absent parts are null children
  CALL,     // children[0](children[1..], keywords)
  FILTER,   // children[0] | name(children[1..], keywords)
  TEST,     // children[0] is [not] name(children[1..])
  UNARY,    // op children[0]: "not", "-", "+"
  BINARY,   // children[0] op children[1]
  TERNARY,  // children[1] if children[0] else children[2] (null: undefined)
  LIST,     // [children...]
  TUPLE,    // (children...)
  DICT,     // {keys: children at even indexes, values at odd}
};

struct Expr {
  ExprKind kind;
  int line = 0;
  int column = 0;
  Value literal;
  std::string name;  // NAME, ATTR, FILTER, TEST, and the operator of UNARY and BINARY
  bool negated = false;
  std::vector<std::unique_ptr<Expr>> children;
  std::vector<std::string> keywords;  // names of the last keywords.size() arguments
};

enum class StmtKind { TEXT, OUTPUT, IF, FOR, SET, MACRO, BREAK, CONTINUE };

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  StmtKind kind;
  int line = 0;
  int column = 0;
  std::string text;                             // TEXT
  std::unique_ptr<Expr> expr;                   // OUTPUT, SET value, FOR iterable
  std::vector<std::unique_ptr<Expr>> conds;     // IF: one per branch; FOR: the filter, if any
  std::vector<Body> bodies;                     // IF: one per branch, then else; FOR: body, else
  std::vector<std::string> targets;             // FOR loop names; SET: name (and attribute)
  bool set_attribute = false;                   // SET ns.attr = ...
  std::string macro_name;                       // MACRO
  std::vector<std::string> params;              // MACRO
  std::vector<std::unique_ptr<Expr>> defaults;  // MACRO, one per param (null when none)
};

}  // namespace socle::engine::jinja
