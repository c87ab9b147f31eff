#include "engine/template/lexer.h"

#include <cctype>

namespace socle::engine::jinja {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Jinja (keep_trailing_newline false) drops one newline at the end of the template.
std::string preprocess(std::string_view src) {
  std::string s(src);
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// lstrip_blocks: the spaces and tabs between the start of a line and a block or comment
// tag go. `text` runs from the end of the previous tag (or the template's start, when
// `at_start`) to the tag.
void lstrip_block(std::string& text, bool at_start) {
  size_t line_start = text.rfind('\n');
  if (line_start == std::string::npos) {
    if (!at_start) return;
    line_start = 0;
  } else {
    ++line_start;
  }
  for (size_t i = line_start; i < text.size(); ++i) {
    if (text[i] != ' ' && text[i] != '\t') return;
  }
  text.erase(line_start);
}

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {}

  Result<std::vector<Token>> run() {
    bool strip_next_text = false;
    while (pos_ < src_.size()) {
      size_t open = find_open(pos_);
      std::string text = src_.substr(pos_, open - pos_);
      if (strip_next_text) {
        size_t b = 0;
        while (b < text.size() && is_space(text[b]))
          ++b;
        text.erase(0, b);
      }
      strip_next_text = false;
      if (open >= src_.size()) {
        add_text(std::move(text));
        break;
      }
      char kind = src_[open + 1];
      bool strip_before = open + 2 < src_.size() && src_[open + 2] == '-';
      if (strip_before) {
        while (!text.empty() && is_space(text.back()))
          text.pop_back();
      } else if (kind != '{') {
        lstrip_block(text, pos_ == 0);
      }
      add_text(std::move(text));
      advance_to(open + (strip_before ? 3 : 2));
      if (kind == '#') {
        size_t close = src_.find("#}", pos_);
        if (close == std::string::npos) return error("a comment is not closed with #}");
        strip_next_text = close > 0 && src_[close - 1] == '-';
        advance_to(close + 2);
        skip_block_newline();
        continue;
      }
      tokens_.push_back(
          {kind == '{' ? TokenKind::OPEN_EXPR : TokenKind::OPEN_STMT, "", line_, column_});
      SOCLE_ASSIGN_OR_RETURN(bool strip_after, lex_tag(kind == '{' ? '}' : '%'));
      strip_next_text = strip_after;
      if (kind == '%') skip_block_newline();
    }
    tokens_.push_back({TokenKind::END, "", line_, column_});
    return std::move(tokens_);
  }

 private:
  size_t find_open(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#'))
        return i;
    }
    return src_.size();
  }

  // trim_blocks: the newline right after a block or comment tag goes.
  void skip_block_newline() {
    if (pos_ < src_.size() && src_[pos_] == '\n') advance_to(pos_ + 1);
  }

  void add_text(std::string text) {
    if (!text.empty()) tokens_.push_back({TokenKind::TEXT, std::move(text), line_, column_});
  }

  void advance_to(size_t to) {
    for (; pos_ < to && pos_ < src_.size(); ++pos_) {
      if (src_[pos_] == '\n') {
        ++line_;
        column_ = 1;
      } else {
        ++column_;
      }
    }
  }

  Status error(const std::string& what) const {
    return invalid_argument("chat template, line " + std::to_string(line_) + " column " +
                            std::to_string(column_) + ": " + what);
  }

  // Lexes the inside of a tag up to its closing "}}" or "%}"; returns whether it ended
  // with '-' (strip the whitespace that follows).
  Result<bool> lex_tag(char closer) {
    int brace_depth = 0;
    while (true) {
      while (pos_ < src_.size() && is_space(src_[pos_]))
        advance_to(pos_ + 1);
      if (pos_ >= src_.size()) return error("a tag is not closed");
      char c = src_[pos_];
      auto at = [&](size_t k) { return pos_ + k < src_.size() ? src_[pos_ + k] : '\0'; };
      // The closer, possibly with '-'; '}}' inside an expression dict literal is not one.
      if (c == '-' && at(1) == closer && at(2) == '}' && brace_depth == 0) {
        tokens_.push_back(
            {closer == '}' ? TokenKind::CLOSE_EXPR : TokenKind::CLOSE_STMT, "", line_, column_});
        advance_to(pos_ + 3);
        return true;
      }
      if (c == closer && at(1) == '}' && brace_depth == 0) {
        tokens_.push_back(
            {closer == '}' ? TokenKind::CLOSE_EXPR : TokenKind::CLOSE_STMT, "", line_, column_});
        advance_to(pos_ + 2);
        return false;
      }
      int line = line_;
      int column = column_;
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t b = pos_;
        while (pos_ < src_.size() &&
               (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) {
          advance_to(pos_ + 1);
        }
        tokens_.push_back({TokenKind::NAME, src_.substr(b, pos_ - b), line, column});
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t b = pos_;
        bool is_float = false;
        while (pos_ < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos_])) ||
                                      (src_[pos_] == '.' && !is_float && pos_ + 1 < src_.size() &&
                                       std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))))) {
          if (src_[pos_] == '.') is_float = true;
          advance_to(pos_ + 1);
        }
        tokens_.push_back(
            {is_float ? TokenKind::FLOAT : TokenKind::INT, src_.substr(b, pos_ - b), line, column});
        continue;
      }
      if (c == '\'' || c == '"') {
        SOCLE_ASSIGN_OR_RETURN(std::string s, lex_string(c));
        tokens_.push_back({TokenKind::STRING, std::move(s), line, column});
        continue;
      }
      static constexpr std::string_view TWO_CHAR[] = {"//", "**", "==", "!=", "<=", ">="};
      std::string op(1, c);
      for (auto two : TWO_CHAR) {
        if (c == two[0] && at(1) == two[1]) op = std::string(two);
      }
      if (std::string_view("()[]{},.:|=+-*/%~<>!").find(c) == std::string_view::npos) {
        return error(std::string("unexpected character '") + c + "'");
      }
      if (op == "{") ++brace_depth;
      if (op == "}") --brace_depth;
      tokens_.push_back({TokenKind::OP, op, line, column});
      advance_to(pos_ + op.size());
    }
  }

  Result<std::string> lex_string(char quote) {
    advance_to(pos_ + 1);
    std::string out;
    while (pos_ < src_.size() && src_[pos_] != quote) {
      char c = src_[pos_];
      if (c == '\\' && pos_ + 1 < src_.size()) {
        char e = src_[pos_ + 1];
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'v':
            out += '\v';
            break;
          case '\'':
            out += '\'';
            break;
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          default:
            return error(std::string("unsupported escape \\") + e + " in a string");
        }
        advance_to(pos_ + 2);
        continue;
      }
      out += c;
      advance_to(pos_ + 1);
    }
    if (pos_ >= src_.size()) return error("a string is not closed");
    advance_to(pos_ + 1);
    return out;
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

Result<std::vector<Token>> lex(std::string_view source) {
  return Lexer(preprocess(source)).run();
}

}  // namespace socle::engine::jinja
