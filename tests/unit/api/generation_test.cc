// Generation request bodies as the OpenAI API documents them: every honoured field is read,
// and every bad value is refused with 400 naming the field (the `param` of OpenAI's error).
#include "api/generation.h"

#include <gtest/gtest.h>

#include <string>

#include "base/json.h"

namespace socle::api {
namespace {

Result<GenerationRequest> parse(const std::string& body,
                                GenerationEndpoint ep = GenerationEndpoint::CHAT) {
  auto v = json::parse(body);
  EXPECT_TRUE(v.is_ok() && v->is_object()) << body;
  return parse_generation_request(v->as_object(), ep);
}

// The param a refused body names, or "" when it was accepted.
std::string refused_param(const std::string& body,
                          GenerationEndpoint ep = GenerationEndpoint::CHAT) {
  auto r = parse(body, ep);
  if (r.is_ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
  return r.status().param();
}

constexpr const char* MSG = R"("model": "m", "messages": [{"role": "user", "content": "hi"}])";

std::string chat(const std::string& extra) {
  return std::string("{") + MSG + ", " + extra + "}";
}

TEST(GenerationRequest, ReadsEveryChatField) {
  auto r = parse(R"({"model": "m", "messages": [
      {"role": "developer", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
      {"role": "assistant", "content": "c"}],
    "max_tokens": 5, "max_completion_tokens": 7, "n": 2, "stream": true,
    "stream_options": {"include_usage": true}, "stop": ["x", "", "yz"], "stop_token_ids": [3],
    "temperature": 0.5, "top_p": 0.9, "top_k": -1, "min_p": 0.1, "presence_penalty": 0.5,
    "frequency_penalty": -0.5, "repetition_penalty": 1.1, "seed": 42,
    "logit_bias": {"12": -100, "7": 2.5}, "logprobs": true, "top_logprobs": 3,
    "response_format": {"type": "text"}, "user": "ignored", "metadata": {"a": "b"}})");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->messages.size(), size_t{3});
  EXPECT_EQ(r->messages[0].role, "system");
  EXPECT_EQ(r->messages[1].content, "ab");
  EXPECT_EQ(r->max_tokens, 7);
  EXPECT_EQ(r->n, 2);
  EXPECT_TRUE(r->stream && r->include_usage && r->logprobs);
  EXPECT_EQ(r->stop, (std::vector<std::string>{"x", "yz"}));
  EXPECT_EQ(r->stop_token_ids, (std::vector<int32_t>{3}));
  const auto& s = r->sampling;
  EXPECT_DOUBLE_EQ(s.temperature, 0.5);
  EXPECT_EQ(s.top_k, 0);
  EXPECT_EQ(s.seed, uint64_t{42});
  ASSERT_EQ(s.logit_bias.size(), size_t{2});
  EXPECT_EQ(s.top_logprobs, 3);
}

TEST(GenerationRequest, ReadsCompletionPrompts) {
  auto one = parse(R"({"model": "m", "prompt": "abc", "echo": true, "logprobs": 2})",
                   GenerationEndpoint::COMPLETIONS);
  ASSERT_TRUE(one.is_ok()) << one.status().to_string();
  EXPECT_EQ(one->prompts, (std::vector<std::string>{"abc"}));
  EXPECT_TRUE(one->echo && one->logprobs);
  EXPECT_EQ(one->sampling.top_logprobs, 2);
  auto ids = parse(R"({"model": "m", "prompt": [1, 2, 3]})", GenerationEndpoint::COMPLETIONS);
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ(ids->prompt_tokens, (std::vector<std::vector<int32_t>>{{1, 2, 3}}));
  auto many = parse(R"({"model": "m", "prompt": [[1], [2, 3]]})", GenerationEndpoint::COMPLETIONS);
  ASSERT_TRUE(many.is_ok());
  EXPECT_EQ(many->prompt_tokens.size(), size_t{2});
  auto texts = parse(R"({"model": "m", "prompt": ["a", "b"]})", GenerationEndpoint::COMPLETIONS);
  ASSERT_TRUE(texts.is_ok());
  EXPECT_EQ(texts->prompts.size(), size_t{2});
}

TEST(GenerationRequest, ResponseFormatTextOrJsonObject) {
  auto text = parse(chat(R"("response_format": {"type": "text"})"));
  ASSERT_TRUE(text.is_ok()) << text.status().to_string();
  EXPECT_FALSE(text->json_object);
  auto json = parse(chat(R"("response_format": {"type": "json_object"})"));
  ASSERT_TRUE(json.is_ok()) << json.status().to_string();
  EXPECT_TRUE(json->json_object);
  auto schema = parse(chat(R"("response_format": {"type": "json_schema", "json_schema": {}})"));
  ASSERT_FALSE(schema.is_ok());
  EXPECT_NE(schema.status().message().find("json_schema is not supported"), std::string::npos);
}

TEST(GenerationRequest, RefusesEachBadFieldByName) {
  EXPECT_EQ(refused_param(R"({"messages": []})"), "model");
  EXPECT_EQ(refused_param(R"({"model": "m", "messages": []})"), "messages");
  EXPECT_EQ(refused_param(R"({"model": "m", "messages": [{"role": "king", "content": "x"}]})"),
            "messages[0].role");
  EXPECT_EQ(refused_param(R"({"model": "m", "messages": [{"role": "user"}]})"),
            "messages[0].content");
  EXPECT_EQ(refused_param(R"({"model": "m", "messages": [{"role": "user", "content":
              [{"type": "image_url", "image_url": {"url": "x"}}]}]})"),
            "messages[0].content[0].type");
  EXPECT_EQ(refused_param(chat(R"("tools": [{"type": "function"}])")), "tools");
  EXPECT_EQ(refused_param(chat(R"("response_format": {"type": "json_schema"})")),
            "response_format");
  EXPECT_EQ(refused_param(chat(R"("response_format": {"type": "xml"})")), "response_format");
  EXPECT_EQ(refused_param(chat(R"("response_format": "json_object")")), "response_format");
  EXPECT_EQ(refused_param(chat(R"("temperature": 3)")), "temperature");
  EXPECT_EQ(refused_param(chat(R"("temperature": "hot")")), "temperature");
  EXPECT_EQ(refused_param(chat(R"("top_p": 0)")), "top_p");
  EXPECT_EQ(refused_param(chat(R"("top_k": 2.5)")), "top_k");
  EXPECT_EQ(refused_param(chat(R"("presence_penalty": 2.5)")), "presence_penalty");
  EXPECT_EQ(refused_param(chat(R"("frequency_penalty": -3)")), "frequency_penalty");
  EXPECT_EQ(refused_param(chat(R"("max_tokens": 0)")), "max_tokens");
  EXPECT_EQ(refused_param(chat(R"("max_completion_tokens": -1)")), "max_completion_tokens");
  EXPECT_EQ(refused_param(chat(R"("n": 17)")), "n");
  EXPECT_EQ(refused_param(chat(R"("stream": "yes")")), "stream");
  EXPECT_EQ(refused_param(chat(R"("stream_options": {"include_usage": true})")), "stream_options");
  EXPECT_EQ(refused_param(chat(R"("stop": [1])")), "stop[0]");
  // Stop strings of at most MAX_STOP_BYTES (each choice copies and matches them every token).
  const std::string long_stop(MAX_STOP_BYTES + 1, 'z');
  EXPECT_EQ(refused_param(chat(R"("stop": ")" + long_stop + "\"")), "stop");
  EXPECT_EQ(refused_param(chat(R"("stop": ["a", ")" + long_stop + "\"]")), "stop[1]");
  EXPECT_EQ(refused_param(chat(R"("stop": ")" + std::string(MAX_STOP_BYTES, 'z') + "\"")), "");
  EXPECT_EQ(refused_param(chat(R"("logit_bias": {"abc": 1})")), "logit_bias.abc");
  EXPECT_EQ(refused_param(chat(R"("logit_bias": {"5": 101})")), "logit_bias");
  EXPECT_EQ(refused_param(chat(R"("top_logprobs": 2)")), "top_logprobs");
  EXPECT_EQ(refused_param(chat(R"("logprobs": true, "top_logprobs": 21)")), "top_logprobs");
  EXPECT_EQ(refused_param(chat(R"("echo": true)")), "echo");
  EXPECT_EQ(
      refused_param(R"({"model": "m", "prompt": ["a", [1]]})", GenerationEndpoint::COMPLETIONS),
      "prompt[1]");
  EXPECT_EQ(refused_param(R"({"model": "m", "prompt": [-1]})", GenerationEndpoint::COMPLETIONS),
            "prompt[0]");
  EXPECT_EQ(refused_param(R"({"model": "m", "prompt": "a", "logprobs": 6})",
                          GenerationEndpoint::COMPLETIONS),
            "logprobs");
}

TEST(GenerationRequest, RefusesFieldsItWouldIgnoreUnlessNeutral) {
  const auto completions = GenerationEndpoint::COMPLETIONS;
  EXPECT_EQ(refused_param(R"({"model": "m", "prompt": "a", "best_of": 3})", completions),
            "best_of");
  EXPECT_EQ(refused_param(R"({"model": "m", "prompt": "a", "best_of": 1, "n": 2})", completions),
            "best_of");
  EXPECT_EQ(refused_param(R"({"model": "m", "prompt": "a", "suffix": "end"})", completions),
            "suffix");
  EXPECT_EQ(refused_param(chat(R"("min_tokens": 5)")), "min_tokens");
  EXPECT_EQ(refused_param(chat(R"("ignore_eos": true)")), "ignore_eos");
  // The values that change nothing are accepted, as is null (not set).
  EXPECT_EQ(refused_param(R"({"model": "m", "prompt": "a", "best_of": 1, "suffix": "",
                              "min_tokens": 0, "ignore_eos": false})",
                          completions),
            "");
  EXPECT_EQ(refused_param(chat(R"("best_of": null, "suffix": null, "min_tokens": null)")), "");
  auto r = parse(chat(R"("min_tokens": 5)"));
  EXPECT_NE(r.status().message().find("is not supported by this model yet"), std::string::npos)
      << r.status().message();
}

TEST(GenerationRequest, BoundsPromptsAndChoicesInAll) {
  auto prompts = [](size_t count, int n) {
    std::string list;
    for (size_t i = 0; i < count; ++i)
      list += std::string(i ? "," : "") + "\"p\"";
    return R"({"model": "m", "n": )" + std::to_string(n) + R"(, "prompt": [)" + list + "]}";
  };
  const auto completions = GenerationEndpoint::COMPLETIONS;
  EXPECT_EQ(refused_param(prompts(MAX_PROMPTS, 1), completions), "");
  EXPECT_EQ(refused_param(prompts(MAX_PROMPTS + 1, 1), completions), "prompt");
  EXPECT_EQ(refused_param(prompts(MAX_TOTAL_CHOICES / MAX_CHOICES, MAX_CHOICES), completions), "");
  EXPECT_EQ(refused_param(prompts(300, 16), completions), "n");
  auto r = parse(prompts(300, 16), completions);
  EXPECT_NE(r.status().message().find("4800 choices"), std::string::npos) << r.status().message();
}

TEST(GenerationRequest, AnIntegerOutOfRangeSaysItsRange) {
  for (const char* seed : {"18446744073709551615", "1e30"}) {
    auto r = parse(chat(std::string(R"("seed": )") + seed));
    ASSERT_FALSE(r.is_ok()) << seed;
    EXPECT_EQ(r.status().param(), "seed");
    EXPECT_NE(r.status().message().find("between -9223372036854775808 and 9223372036854775807"),
              std::string::npos)
        << r.status().message();
  }
  auto r = parse(chat(R"("n": 18446744073709551615)"));
  EXPECT_NE(r.status().message().find("between 1 and 16"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(refused_param(chat(R"("seed": 9223372036854775807)")), "");
  EXPECT_EQ(refused_param(chat(R"("seed": -9223372036854775808)")), "");
}

}  // namespace
}  // namespace socle::api
