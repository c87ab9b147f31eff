#include "train/jsonl_validation.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

namespace socle::train {
namespace {

constexpr std::string_view EXAMPLE_KEYS[] = {"messages", "tools", "parallel_tool_calls"};
constexpr std::string_view MESSAGE_KEYS[] = {"role",   "content",    "name",
                                             "weight", "tool_calls", "tool_call_id"};
constexpr std::string_view ROLES[] = {"system", "developer", "user", "assistant", "tool"};

template <size_t N>
bool one_of(std::string_view s, const std::string_view (&set)[N]) {
  for (std::string_view x : set) {
    if (s == x) return true;
  }
  return false;
}

bool array_of_objects(const boost::json::value& v) {
  if (!v.is_array()) return false;
  for (const auto& e : v.get_array()) {
    if (!e.is_object()) return false;
  }
  return true;
}

// Text content: a string, or an array of {"type": "text", "text": ...} parts.
bool has_text(const boost::json::value* content) {
  if (content == nullptr) return false;
  if (content->is_string()) return !content->get_string().empty();
  if (!content->is_array() || content->get_array().empty()) return false;
  for (const auto& part : content->get_array()) {
    const auto* o = part.if_object();
    const auto* type = o != nullptr ? o->if_contains("type") : nullptr;
    const auto* text = o != nullptr ? o->if_contains("text") : nullptr;
    if (type == nullptr || !type->is_string() || type->get_string() != "text" || text == nullptr ||
        !text->is_string()) {
      return false;
    }
  }
  return true;
}

class Checker {
 public:
  Checker(const ValidationOptions& options, ValidationReport* report)
      : options_(options), report_(report) {}

  void error(int64_t line, std::string code, std::string message) {
    ++report_->error_count;
    if (report_->errors.size() < options_.max_reported_errors) {
      report_->errors.push_back({line, std::move(code), std::move(message)});
    }
  }

  // Checks one example; true if it is valid.
  bool example(int64_t line, const boost::json::value& v) {
    const auto* ex = v.if_object();
    if (ex == nullptr) {
      error(line, "data_type", "each line must be a JSON object with a \"messages\" array");
      return false;
    }
    bool ok = true;
    for (const auto& [key, value] : *ex) {
      if (!one_of(key, EXAMPLE_KEYS)) {
        error(line, "example_unrecognized_key",
              "unknown key \"" + std::string(key) +
                  "\" (expected messages, tools, parallel_tool_calls)");
        ok = false;
      }
    }
    if (const auto* tools = ex->if_contains("tools");
        tools != nullptr && !array_of_objects(*tools)) {
      error(line, "invalid_tools", "\"tools\" must be an array of tool objects");
      ok = false;
    }
    const auto* messages = ex->if_contains("messages");
    if (messages == nullptr || !messages->is_array() || messages->get_array().empty()) {
      error(line, "missing_messages_list", "\"messages\" must be a non-empty array of messages");
      return false;
    }
    bool trainable = false;
    const auto& list = messages->get_array();
    for (size_t i = 0; i < list.size(); ++i) {
      ok = message(line, i, list[i], &trainable) && ok;
    }
    if (ok && !trainable) {
      error(line, "example_missing_assistant_message",
            "the example has no assistant message to learn (with weight 1 or no weight)");
      ok = false;
    }
    if (ok && options_.count_tokens) {
      auto tokens = options_.count_tokens(*ex);
      if (!tokens.is_ok()) {
        error(line, "invalid_example", tokens.status().message());
        return false;
      }
      if (options_.context_tokens > 0 && *tokens > options_.context_tokens) {
        error(line, "example_too_long",
              "the example is " + std::to_string(*tokens) +
                  " tokens; the base model's context is " +
                  std::to_string(options_.context_tokens));
        return false;
      }
      report_->tokens += *tokens;
      report_->max_tokens = std::max(report_->max_tokens, *tokens);
    }
    return ok;
  }

 private:
  bool message(int64_t line, size_t index, const boost::json::value& v, bool* trainable) {
    std::string where = "message " + std::to_string(index);
    const auto* m = v.if_object();
    if (m == nullptr) {
      error(line, "message_missing_key", where + " must be an object with a role and a content");
      return false;
    }
    bool ok = true;
    for (const auto& [key, value] : *m) {
      if (!one_of(key, MESSAGE_KEYS)) {
        error(line, "message_unrecognized_key",
              where + " has an unknown key \"" + std::string(key) + "\"");
        ok = false;
      }
    }
    const auto* role = m->if_contains("role");
    if (role == nullptr) {
      error(line, "message_missing_key", where + " has no \"role\"");
      return false;
    }
    if (!role->is_string() || !one_of(role->get_string(), ROLES)) {
      error(line, "unrecognized_role",
            where + " has role " + boost::json::serialize(*role) +
                "; roles are system, developer, user, assistant and tool");
      return false;
    }
    bool assistant = role->get_string() == "assistant";
    const auto* tool_calls = m->if_contains("tool_calls");
    if (tool_calls != nullptr && (!assistant || !array_of_objects(*tool_calls))) {
      error(line, "invalid_tools",
            where + ": tool_calls must be an array of objects, on an assistant message");
      ok = false;
    }
    if (!has_text(m->if_contains("content")) && !(assistant && tool_calls != nullptr)) {
      error(line, "missing_content", where + " has no text content");
      ok = false;
    }
    bool weighted_in = true;
    if (const auto* w = m->if_contains("weight")) {
      bool zero_or_one = (w->is_int64() && (w->get_int64() == 0 || w->get_int64() == 1)) ||
                         (w->is_double() && (w->get_double() == 0.0 || w->get_double() == 1.0));
      if (!assistant || !zero_or_one) {
        error(line, "invalid_weight", where + ": weight must be 0 or 1, on an assistant message");
        ok = false;
      } else {
        weighted_in = w->to_number<double>() == 1.0;
      }
    }
    if (assistant && weighted_in) *trainable = true;
    return ok;
  }

  const ValidationOptions& options_;
  ValidationReport* report_;
};

}  // namespace

ValidationReport validate_chat_jsonl(std::string_view data, const ValidationOptions& options) {
  ValidationReport report;
  Checker check(options, &report);
  int64_t line_no = 0;
  while (!data.empty()) {
    size_t nl = data.find('\n');
    std::string_view line = data.substr(0, nl);
    data.remove_prefix(nl == std::string_view::npos ? data.size() : nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    ++report.lines;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec) {
      check.error(line_no, "invalid_json", "the line is not valid JSON: " + ec.message());
      continue;
    }
    if (check.example(line_no, v)) ++report.examples;
  }
  if (report.examples < options.min_examples) {
    check.error(0, "too_few_examples",
                "the file has " + std::to_string(report.examples) + " valid examples; at least " +
                    std::to_string(options.min_examples) + " are needed");
  }
  return report;
}

}  // namespace socle::train
