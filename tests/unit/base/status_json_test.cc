#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "base/json.h"
#include "base/status.h"

namespace socle {
namespace {

Result<int> half(int v) {
  if (v % 2 != 0) return invalid_argument("odd: " + std::to_string(v), "v");
  return v / 2;
}

Result<int> quarter(int v) {
  SOCLE_ASSIGN_OR_RETURN(int h, half(v));
  SOCLE_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

TEST(Status, ResultCarriesValueOrError) {
  EXPECT_EQ(*quarter(8), 2);
  Result<int> bad = quarter(6);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad.status().message(), "odd: 3");
  EXPECT_EQ(bad.status().param(), "v");
  EXPECT_EQ(bad.status().to_string(), "INVALID_ARGUMENT: odd: 3");
}

TEST(Json, ParseErrorsSayWhere) {
  Result<boost::json::value> r = json::parse("{\"a\": [1, 2,, 3]}");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("at byte 12"), std::string::npos) << r.status().message();
  EXPECT_FALSE(json::parse("").is_ok());
  Result<boost::json::value> trailing = json::parse("{} trailing");
  ASSERT_FALSE(trailing.is_ok());
  EXPECT_NE(trailing.status().message().find("data after the JSON value at byte 3"),
            std::string::npos)
      << trailing.status().message();
  EXPECT_TRUE(json::parse("{}  \n").is_ok()) << "white space after the value is no data";
  EXPECT_FALSE(json::parse_object("[]").is_ok());
  EXPECT_TRUE(json::parse_object("{\"a\":1}").is_ok());
}

TEST(Json, DepthIsLimited) {
  std::string deep(json::MAX_DEPTH + 1, '[');
  deep += std::string(json::MAX_DEPTH + 1, ']');
  EXPECT_FALSE(json::parse(deep).is_ok());
  std::string ok(json::MAX_DEPTH - 1, '[');
  ok += std::string(json::MAX_DEPTH - 1, ']');
  EXPECT_TRUE(json::parse(ok).is_ok());
}

// Boost.JSON's own parser is the oracle for our quoting.
TEST(Json, QuotingRoundTripsThroughBoostJson) {
  std::string all;
  for (int c = 1; c < 256; ++c)
    all += static_cast<char>(c);
  std::string tricky = "quote\" backslash\\ newline\n tab\t nul-free é € 🙂 \x01\x1f";
  for (const std::string& s : {std::string("plain"), tricky, std::string()}) {
    boost::json::value v = boost::json::parse(json::quoted(s));
    EXPECT_EQ(std::string(v.as_string()), s);
  }
  // Invalid UTF-8 is copied as is; Boost.JSON would reject it, so check the control range only.
  std::string controls;
  for (int c = 1; c < 0x20; ++c)
    controls += static_cast<char>(c);
  EXPECT_EQ(std::string(boost::json::parse(json::quoted(controls)).as_string()), controls);
}

TEST(Json, TypedFieldsNameTheFieldAtFault) {
  auto obj = json::parse_object(R"({"s":"x","i":3,"b":true,"n":null,"f":1.5})").value();
  std::optional<std::string> s;
  std::optional<int64_t> i;
  std::optional<bool> b;
  EXPECT_TRUE(json::get_string(obj, "s", true, &s).is_ok());
  EXPECT_EQ(*s, "x");
  EXPECT_TRUE(json::get_int(obj, "i", true, &i).is_ok());
  EXPECT_EQ(*i, 3);
  EXPECT_TRUE(json::get_bool(obj, "b", true, &b).is_ok());
  EXPECT_TRUE(json::get_string(obj, "n", false, &s).is_ok());
  EXPECT_FALSE(s.has_value());
  Status wrong = json::get_int(obj, "f", true, &i);
  EXPECT_EQ(wrong.param(), "f");
  Status missing = json::get_string(obj, "absent", true, &s);
  EXPECT_EQ(missing.param(), "absent");
  EXPECT_NE(missing.message().find("required"), std::string::npos);
  EXPECT_FALSE(json::check_keys(obj, {"s", "i"}).is_ok());
  EXPECT_TRUE(json::check_keys(obj, {"s", "i", "b", "n", "f"}).is_ok());
}

}  // namespace
}  // namespace socle
