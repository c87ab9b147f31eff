#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <set>

#include "base/hash.h"
#include "base/log.h"
#include "base/random.h"

namespace socle {
namespace {

// FIPS 180-2 test vectors.
TEST(Hash, Sha256KnownAnswers) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Hash, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(Random, TokensAreUrlSafeAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string t = secure_random_token(32);
    EXPECT_EQ(t.size(), 43u);  // ceil(256 / 6)
    EXPECT_EQ(
        t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(new_request_id().size(), 32u);
}

TEST(Log, LinesAreJsonWithTheRequestId) {
  std::string line =
      log::format_line(log::Level::WARN, "quote \" and\nnewline",
                       {{"n", 3}, {"ok", true}, {"x", 1.5}, {"s", "v\"al"}}, "req-1");
  boost::json::value v = boost::json::parse(line);
  EXPECT_EQ(v.at("level"), "warn");
  EXPECT_EQ(v.at("request_id"), "req-1");
  EXPECT_EQ(v.at("msg"), "quote \" and\nnewline");
  EXPECT_EQ(v.at("n"), 3);
  EXPECT_EQ(v.at("ok"), true);
  EXPECT_EQ(v.at("s"), "v\"al");
  EXPECT_FALSE(boost::json::parse(log::format_line(log::Level::INFO, "m", {}, ""))
                   .as_object()
                   .contains("request_id"));
}

TEST(Log, ScopedRequestIdNests) {
  EXPECT_EQ(log::current_request_id(), "");
  {
    log::ScopedRequestId a("a");
    {
      log::ScopedRequestId b("b");
      EXPECT_EQ(log::current_request_id(), "b");
    }
    EXPECT_EQ(log::current_request_id(), "a");
  }
  EXPECT_EQ(log::current_request_id(), "");
}

}  // namespace
}  // namespace socle
