// The JSON adapter's answer check reads usage with a streaming scan (no document); its
// oracle is the document route: json::parse, then read_usage().
#include "providers/adapter.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "base/json.h"
#include "providers/relay.h"

namespace socle::providers {
namespace {

// What the document route makes of `text`: accepted (an object), and the usage it reads.
struct Reading {
  bool ok = false;
  int64_t prompt = -1;
  int64_t completion = -1;
  bool operator==(const Reading&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Reading& r) {
  return os << "{ok=" << r.ok << " prompt=" << r.prompt << " completion=" << r.completion << "}";
}

Reading by_document(const std::string& text) {
  Reading r;
  Result<boost::json::value> v = json::parse(text);
  if (!v.is_ok() || !v->is_object()) return r;
  r.ok = true;
  read_usage(v->as_object(), &r.prompt, &r.completion);
  return r;
}

Reading by_adapter(const std::string& text) {
  Reading r;
  auto adapter = json_adapter("/chat/completions", boost::json::object{{"model", "m"}});
  Result<std::string> answer = adapter->answer(ProviderSpec{}, text, &r.prompt, &r.completion);
  r.ok = answer.is_ok();
  if (r.ok) {
    EXPECT_EQ(*answer, text) << "the answer passes through byte for byte";
  } else {
    r.prompt = r.completion = -1;
  }
  return r;
}

TEST(JsonAdapterAnswer, ReadsUsageAsTheDocumentDoes) {
  const std::vector<std::string> cases = {
      R"({"id":"x","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":7}})",
      R"({"usage":{"prompt_tokens":12}})",
      R"({"usage":{"completion_tokens":0,"total_tokens":3}})",
      R"({"usage":null})",
      R"({"usage":[1,2]})",
      R"({"usage":{"prompt_tokens":"12","completion_tokens":1.5}})",
      R"({"usage":{"prompt_tokens":-4,"completion_tokens":18446744073709551615}})",
      R"({"usage":{"prompt_tokens":1},"usage":{"completion_tokens":2}})",
      R"({"usage":{"prompt_tokens":1,"prompt_tokens":"x"}})",
      R"({"usage":{"prompt_tokens":1,"prompt_tokens":9}})",
      R"({"us\u0061ge":{"prompt_\u0074okens":5,"completion_tokens":6}})",
      R"({"choices":[{"usage":{"prompt_tokens":3}}],"x":{"usage":{"prompt_tokens":4}}})",
      R"({"usage":{"details":{"prompt_tokens":8},"completion_tokens":2}})",
      R"({"a":{"b":{"c":[{"d":{}}]}},"usage":{"prompt_tokens":2,"completion_tokens":3}})",
      "{}",
      " {\"usage\" : { \"prompt_tokens\" : 4 } }\n",
      "[]",
      R"("usage")",
      "42",
      "",
      "{",
      R"({"usage":{"prompt_tokens":1})",
      R"({"a":1,})",
      R"({"usage":{}} x)",
      "{\"usage\":{}} \r\n\t",
  };
  for (const std::string& text : cases) {
    EXPECT_EQ(by_adapter(text), by_document(text)) << text;
  }
}

TEST(JsonAdapterAnswer, AgreesWithTheDocumentOnRandomAnswers) {
  // Random objects built from usage-like pieces, some cut short to make them malformed.
  std::mt19937 rng(20261130);
  const std::vector<std::string> keys = {"usage", "prompt_tokens", "completion_tokens", "x"};
  auto pick = [&rng](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  std::function<std::string(int)> value = [&](int depth) -> std::string {
    switch (pick(depth > 3 ? 4 : 6)) {
      case 0:
        return std::to_string(static_cast<int64_t>(pick(1000)) - 10);
      case 1:
        return "\"s\"";
      case 2:
        return "2.5";
      case 3:
        return "null";
      case 4: {
        std::string out = "[";
        for (size_t i = 0, n = pick(3); i < n; ++i)
          out += (i ? "," : "") + value(depth + 1);
        return out + "]";
      }
      default: {
        std::string out = "{";
        for (size_t i = 0, n = pick(4); i < n; ++i)
          out += (i ? ",\"" : "\"") + keys[pick(keys.size())] + "\":" + value(depth + 1);
        return out + "}";
      }
    }
  };
  for (int i = 0; i < 2000; ++i) {
    std::string text = "{";
    for (size_t k = 0, n = pick(4); k < n; ++k)
      text += (k ? ",\"" : "\"") + keys[pick(keys.size())] + "\":" + value(1);
    text += "}";
    if (pick(8) == 0) text.resize(pick(text.size()));
    ASSERT_EQ(by_adapter(text), by_document(text)) << text;
  }
}

}  // namespace
}  // namespace socle::providers
