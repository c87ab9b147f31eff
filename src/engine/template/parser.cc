#include "engine/template/parser.h"

#include <set>

#include "engine/template/expression_parser.h"
#include "engine/template/lexer.h"
#include "engine/template/token_cursor.h"

namespace socle::engine::jinja {

namespace {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : cur_{std::move(tokens), 0} {}

  Result<Body> parse_all() {
    SOCLE_ASSIGN_OR_RETURN(Body body, parse_body({}));
    if (cur_.peek().kind != TokenKind::END) return cur_.error("unexpected {% " + end_tag_ + " %}");
    return body;
  }

 private:
  // Parses statements until a {% tag %} whose name is in `ends`, leaving the cursor on that
  // name (after its {%) and the name in end_tag_.
  Result<Body> parse_body(const std::set<std::string>& ends) {
    Body body;
    while (true) {
      const Token& t = cur_.peek();
      if (t.kind == TokenKind::END) {
        if (!ends.empty())
          return cur_.error("the template ends inside a block; expected {% " + *ends.begin() +
                            " %}");
        return body;
      }
      if (t.kind == TokenKind::TEXT) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::TEXT;
        s->text = cur_.next().text;
        body.push_back(std::move(s));
        continue;
      }
      if (t.kind == TokenKind::OPEN_EXPR) {
        ++cur_.pos;
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::OUTPUT;
        s->line = t.line;
        SOCLE_ASSIGN_OR_RETURN(s->expr, exprs_.parse_expression());
        SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_EXPR, "}}"));
        body.push_back(std::move(s));
        continue;
      }
      if (t.kind != TokenKind::OPEN_STMT) return cur_.error("unexpected token");
      ++cur_.pos;
      if (cur_.peek().kind != TokenKind::NAME)
        return cur_.error("expected a statement name after {%");
      std::string name = cur_.peek().text;
      if (ends.count(name) != 0) {
        end_tag_ = name;
        return body;
      }
      SOCLE_RETURN_IF_ERROR(cur_.enter());
      auto stmt = parse_statement();
      cur_.leave();
      if (!stmt.is_ok()) return stmt.status();
      body.push_back(std::move(stmt).value());
    }
  }

  Result<std::unique_ptr<Stmt>> parse_statement() {
    const Token& t = cur_.peek();
    auto s = std::make_unique<Stmt>();
    s->line = t.line;
    s->column = t.column;
    std::string name = cur_.next().text;
    if (name == "if") {
      s->kind = StmtKind::IF;
      while (true) {
        SOCLE_ASSIGN_OR_RETURN(auto cond, exprs_.parse_expression());
        SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_STMT, "%}"));
        s->conds.push_back(std::move(cond));
        SOCLE_ASSIGN_OR_RETURN(Body body, parse_body({"elif", "else", "endif"}));
        s->bodies.push_back(std::move(body));
        std::string end = cur_.next().text;
        if (end == "elif") continue;
        if (end == "else") {
          SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_STMT, "%}"));
          SOCLE_ASSIGN_OR_RETURN(Body else_body, parse_body({"endif"}));
          s->bodies.push_back(std::move(else_body));
          ++cur_.pos;
        }
        break;
      }
      SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_STMT, "%}"));
      return s;
    }
    if (name == "for") {
      s->kind = StmtKind::FOR;
      do {
        SOCLE_ASSIGN_OR_RETURN(std::string target, cur_.expect_name());
        s->targets.push_back(std::move(target));
      } while (cur_.is_op(",") && (++cur_.pos, true));
      if (!cur_.is_name("in")) return cur_.error("expected 'in' in a for loop");
      ++cur_.pos;
      SOCLE_ASSIGN_OR_RETURN(s->expr, exprs_.parse_ternary(false));
      if (cur_.is_name("if")) {
        ++cur_.pos;
        SOCLE_ASSIGN_OR_RETURN(auto cond, exprs_.parse_ternary(true));
        s->conds.push_back(std::move(cond));
      }
      if (cur_.is_name("recursive")) return cur_.error("recursive for loops are not supported");
      SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_STMT, "%}"));
      SOCLE_ASSIGN_OR_RETURN(Body body, parse_body({"else", "endfor"}));
      s->bodies.push_back(std::move(body));
      if (cur_.next().text == "else") {
        SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_STMT, "%}"));
        SOCLE_ASSIGN_OR_RETURN(Body else_body, parse_body({"endfor"}));
        s->bodies.push_back(std::move(else_body));
        ++cur_.pos;
      }
      SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_STMT, "%}"));
      return s;
    }
    if (name == "set") {
      s->kind = StmtKind::SET;
      SOCLE_ASSIGN_OR_RETURN(std::string target, cur_.expect_name());
      s->targets.push_back(std::move(target));
      if (cur_.is_op(".")) {
        ++cur_.pos;
        SOCLE_ASSIGN_OR_RETURN(std::string attr, cur_.expect_name());
        s->targets.push_back(std::move(attr));
        s->set_attribute = true;
      } else {
        while (cur_.is_op(",")) {
          ++cur_.pos;
          SOCLE_ASSIGN_OR_RETURN(std::string more, cur_.expect_name());
          s->targets.push_back(std::move(more));
        }
      }
      if (cur_.is_op("=")) {
        ++cur_.pos;
        SOCLE_ASSIGN_OR_RETURN(s->expr, exprs_.parse_expression());
        SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_STMT, "%}"));
        return s;
      }
      // {% set name %}...{% endset %}
      SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_STMT, "%}"));
      SOCLE_ASSIGN_OR_RETURN(Body body, parse_body({"endset"}));
      s->bodies.push_back(std::move(body));
      ++cur_.pos;
      SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_STMT, "%}"));
      return s;
    }
    if (name == "macro") {
      s->kind = StmtKind::MACRO;
      SOCLE_ASSIGN_OR_RETURN(s->macro_name, cur_.expect_name());
      SOCLE_RETURN_IF_ERROR(cur_.expect_op("("));
      while (!cur_.is_op(")")) {
        SOCLE_ASSIGN_OR_RETURN(std::string param, cur_.expect_name());
        s->params.push_back(std::move(param));
        std::unique_ptr<Expr> def;
        if (cur_.is_op("=")) {
          ++cur_.pos;
          SOCLE_ASSIGN_OR_RETURN(def, exprs_.parse_ternary(true));
        }
        s->defaults.push_back(std::move(def));
        if (!cur_.is_op(")")) SOCLE_RETURN_IF_ERROR(cur_.expect_op(","));
      }
      ++cur_.pos;
      SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_STMT, "%}"));
      SOCLE_ASSIGN_OR_RETURN(Body body, parse_body({"endmacro"}));
      s->bodies.push_back(std::move(body));
      ++cur_.pos;
      SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_STMT, "%}"));
      return s;
    }
    if (name == "break" || name == "continue") {
      s->kind = name == "break" ? StmtKind::BREAK : StmtKind::CONTINUE;
      SOCLE_RETURN_IF_ERROR(cur_.expect_kind(TokenKind::CLOSE_STMT, "%}"));
      return s;
    }
    --cur_.pos;
    return cur_.error("the statement {% " + name + " %} is not supported");
  }

  TokenCursor cur_;
  ExpressionParser exprs_{cur_};
  std::string end_tag_;
};

}  // namespace

Result<Body> parse(std::string_view source) {
  SOCLE_ASSIGN_OR_RETURN(std::vector<Token> tokens, lex(source));
  return Parser(std::move(tokens)).parse_all();
}

}  // namespace socle::engine::jinja
