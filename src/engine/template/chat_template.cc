#include "engine/template/chat_template.h"

#include "base/json.h"
#include "engine/template/interpreter.h"
#include "engine/template/parser.h"

namespace socle::engine::jinja {

namespace {

std::string config_token(const boost::json::object& config, std::string_view key) {
  const auto* v = config.if_contains(key);
  if (v == nullptr) return {};
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_object()) {
    if (const auto* c = v->as_object().if_contains("content"); c != nullptr && c->is_string()) {
      return std::string(c->as_string());
    }
  }
  return {};
}

}  // namespace

Result<ChatTemplate> ChatTemplate::parse(std::string_view source) {
  SOCLE_ASSIGN_OR_RETURN(Body body, jinja::parse(source));
  ChatTemplate t;
  t.program_ = std::make_shared<const Body>(std::move(body));
  return t;
}

Result<ChatTemplate> ChatTemplate::from_tokenizer_config(std::string_view config_json) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object config, json::parse_object(config_json));
  const auto* t = config.if_contains("chat_template");
  std::string source;
  if (t != nullptr && t->is_string()) {
    source = std::string(t->as_string());
  } else if (t != nullptr && t->is_array()) {
    for (const auto& named : t->as_array()) {
      if (!named.is_object()) continue;
      const auto* name = named.as_object().if_contains("name");
      const auto* text = named.as_object().if_contains("template");
      if (name != nullptr && name->is_string() && name->as_string() == "default" &&
          text != nullptr && text->is_string()) {
        source = std::string(text->as_string());
      }
    }
  }
  if (source.empty()) return invalid_argument("tokenizer_config.json has no chat_template");
  SOCLE_ASSIGN_OR_RETURN(ChatTemplate tmpl, parse(source));
  tmpl.bos_token_ = config_token(config, "bos_token");
  tmpl.eos_token_ = config_token(config, "eos_token");
  return tmpl;
}

Result<std::string> ChatTemplate::render(const ChatInput& input) const {
  Variables vars;
  vars["messages"] = Value::from_json(input.messages);
  if (!input.tools.is_null()) vars["tools"] = Value::from_json(input.tools);
  vars["add_generation_prompt"] = Value::boolean(input.add_generation_prompt);
  vars["bos_token"] = Value::string(input.bos_token.empty() ? bos_token_ : input.bos_token);
  vars["eos_token"] = Value::string(input.eos_token.empty() ? eos_token_ : input.eos_token);
  return jinja::render(*program_, vars);
}

}  // namespace socle::engine::jinja
