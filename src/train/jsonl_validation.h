// Checks a fine-tuning file in OpenAI's chat format (JSON Lines, one example a line:
// {"messages": [...], "tools": [...]}) before a job may use it, and reports every problem
// with its line and the code OpenAI's data-preparation guide uses for it:
//   invalid_json                       the line is not JSON
//   data_type                          the line is not a JSON object
//   example_unrecognized_key           a key other than messages, tools, parallel_tool_calls
//   missing_messages_list              no "messages", or not a non-empty array
//   message_missing_key                a message without "role"
//   message_unrecognized_key           a key other than role, content, name, weight,
//                                      tool_calls, tool_call_id
//   unrecognized_role                  a role other than system, developer, user, assistant,
//                                      tool
//   missing_content                    no text content (an assistant message may instead
//                                      carry tool_calls)
//   invalid_weight                     weight other than 0 or 1, or on a non-assistant message
//   invalid_tools                      tools or tool_calls that are not arrays of objects
//   example_missing_assistant_message  no assistant message with weight 1 (nothing to learn)
//   example_too_long                   more tokens than the base model's context
//   too_few_examples                   fewer than the minimum (10) examples in the file
// Empty lines are skipped. The file must be UTF-8.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace socle::train {

struct DataError {
  int64_t line = 0;  // 1-based; 0 for the file as a whole
  std::string code;
  std::string message;
};

struct ValidationOptions {
  int64_t min_examples = 10;
  int64_t context_tokens = 0;  // > 0: examples over this many tokens are errors
  // Counts an example's tokens as the trainer will see them (the model's chat template and
  // tokenizer); unset: lengths are not checked.
  std::function<Result<int64_t>(const boost::json::object& example)> count_tokens;
  size_t max_reported_errors = 100;  // further errors are counted, not kept
};

struct ValidationReport {
  int64_t examples = 0;           // valid ones
  int64_t lines = 0;              // non-empty lines read
  int64_t tokens = 0;             // over the valid examples, when counted
  int64_t max_tokens = 0;         // the longest valid example, when counted
  int64_t error_count = 0;        // all errors, reported or not
  std::vector<DataError> errors;  // the first max_reported_errors
  bool ok() const { return error_count == 0; }
};

ValidationReport validate_chat_jsonl(std::string_view data, const ValidationOptions& options);

}  // namespace socle::train
