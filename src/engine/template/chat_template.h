// Chat templates: the Jinja template in tokenizer_config.json that turns a conversation
// into the prompt text a model was trained on, rendered as transformers renders it.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "base/status.h"
#include "engine/template/ast.h"

namespace socle::engine::jinja {

struct ChatInput {
  boost::json::value messages;  // an array of {"role", "content", ...} objects
  boost::json::value tools;     // null, or an array of tool definitions
  bool add_generation_prompt = true;
  std::string bos_token;
  std::string eos_token;
};

class ChatTemplate {
 public:
  // Parses `source`; a construct outside the supported subset fails here, naming it and
  // its line and column.
  static Result<ChatTemplate> parse(std::string_view source);
  // Reads "chat_template" from tokenizer_config.json text (a string, or the "default" of a
  // list of named templates), and the bos_token and eos_token it names.
  static Result<ChatTemplate> from_tokenizer_config(std::string_view config_json);

  Result<std::string> render(const ChatInput& input) const;

  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }

 private:
  std::shared_ptr<const Body> program_;
  std::string bos_token_;
  std::string eos_token_;
};

}  // namespace socle::engine::jinja
