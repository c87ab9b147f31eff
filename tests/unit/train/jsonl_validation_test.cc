// Fine-tuning files in OpenAI's chat format: each rule of the data-preparation guide is
// broken once, on its own line, and must be reported with its code and that line; a valid
// file passes, with its token counts when a counter is given.
#include "train/jsonl_validation.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace socle::train {
namespace {

const std::string GOOD =
    R"({"messages": [{"role": "system", "content": "Réponds en français."}, {"role": "user", "content": "Capitale ?"}, {"role": "assistant", "content": "Paris."}]})";

std::string good_file(int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += GOOD + "\n";
  return out;
}

std::vector<std::pair<int64_t, std::string>> codes(const ValidationReport& r) {
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& e : r.errors)
    out.emplace_back(e.line, e.code);
  return out;
}

TEST(ChatJsonl, AcceptsAValidFileWithToolsWeightsPartsAndCrLf) {
  std::string file = good_file(8);
  file +=
      R"({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]}, {"role": "assistant", "content": "x", "weight": 0}, {"role": "user", "content": "b"}, {"role": "assistant", "content": "y", "weight": 1}]})"
      "\r\n\n";
  file +=
      R"({"tools": [{"type": "function", "function": {"name": "f"}}], "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [{"id": "1", "type": "function"}]}, {"role": "tool", "tool_call_id": "1", "content": "r"}, {"role": "assistant", "content": "done"}]})";
  ValidationReport r = validate_chat_jsonl(file, {});
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].message);
  EXPECT_EQ(r.examples, 10);
  EXPECT_EQ(r.lines, 10);
}

TEST(ChatJsonl, ReportsEachRuleWithItsCodeAndLine) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "invalid_json"},
      {"[1, 2]", "data_type"},
      {R"({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "extra": 1})",
       "example_unrecognized_key"},
      {R"({"messages": []})", "missing_messages_list"},
      {R"({"messages": [{"content": "x"}]})", "message_missing_key"},
      {R"({"messages": [{"role": "user", "content": "x", "mood": 1}, {"role": "assistant", "content": "y"}]})",
       "message_unrecognized_key"},
      {R"({"messages": [{"role": "human", "content": "x"}]})", "unrecognized_role"},
      {R"({"messages": [{"role": "user"}, {"role": "assistant", "content": "y"}]})",
       "missing_content"},
      {R"({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": ""}]})",
       "missing_content"},
      {R"({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 0.5}]})",
       "invalid_weight"},
      {R"({"messages": [{"role": "user", "content": "x", "weight": 1}, {"role": "assistant", "content": "y"}]})",
       "invalid_weight"},
      {R"({"tools": {"a": 1}, "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]})",
       "invalid_tools"},
      {R"({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "x"}]})",
       "example_missing_assistant_message"},
      {R"({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 0}]})",
       "example_missing_assistant_message"},
  };
  std::string file = good_file(10);
  std::vector<std::pair<int64_t, std::string>> want;
  int64_t line = 10;
  for (const auto& [text, code] : cases) {
    file += text + "\n";
    ++line;
    want.emplace_back(line, code);
  }
  ValidationReport r = validate_chat_jsonl(file, {});
  EXPECT_EQ(codes(r), want);
  EXPECT_EQ(r.examples, 10);
  EXPECT_EQ(r.error_count, static_cast<int64_t>(cases.size()));
}

// The legacy prompt/completion format breaks three rules at once, all reported.
TEST(ChatJsonl, ReportsEveryProblemOfALine) {
  ValidationReport r =
      validate_chat_jsonl(good_file(10) + R"({"prompt": "a", "completion": "b"})", {});
  EXPECT_EQ(codes(r),
            (std::vector<std::pair<int64_t, std::string>>{{11, "example_unrecognized_key"},
                                                          {11, "example_unrecognized_key"},
                                                          {11, "missing_messages_list"}}));
}

TEST(ChatJsonl, NeedsTenExamplesAndCapsTheReport) {
  ValidationReport few = validate_chat_jsonl(good_file(9), {});
  EXPECT_EQ(codes(few), (std::vector<std::pair<int64_t, std::string>>{{0, "too_few_examples"}}));
  std::string bad;
  for (int i = 0; i < 500; ++i)
    bad += "[]\n";
  ValidationOptions o;
  o.max_reported_errors = 7;
  ValidationReport many = validate_chat_jsonl(bad, o);
  EXPECT_EQ(many.errors.size(), size_t{7});
  EXPECT_EQ(many.error_count, 501);  // 500 lines and the file
}

TEST(ChatJsonl, ReportsExamplesLongerThanTheContext) {
  ValidationOptions o;
  o.context_tokens = 40;
  // A stand-in for the model's template and tokenizer: one token per byte of content.
  o.count_tokens = [](const boost::json::object& ex) -> Result<int64_t> {
    int64_t n = 0;
    for (const auto& m : ex.at("messages").as_array())
      n += static_cast<int64_t>(m.as_object().at("content").as_string().size());
    return n;
  };
  std::string file = good_file(10);
  file +=
      R"({"messages": [{"role": "user", "content": "a question of forty bytes, too long here"}, {"role": "assistant", "content": "ok"}]})"
      "\n";
  ValidationReport r = validate_chat_jsonl(file, o);
  EXPECT_EQ(codes(r), (std::vector<std::pair<int64_t, std::string>>{{11, "example_too_long"}}));
  EXPECT_EQ(r.tokens, 10 * (22 + 10 + 6));  // "Réponds en français." is 22 bytes
  EXPECT_EQ(r.max_tokens, 38);
}

}  // namespace
}  // namespace socle::train
