// What the relay reads from an upstream's answers: usage counts only when plausible, and
// server-sent events passed on byte for byte however they are cut, an event too long to read
// included.
#include "providers/relay.h"

#include <gtest/gtest.h>

#include <string>

#include "base/json.h"

namespace socle::providers {
namespace {

TEST(ReadUsage, ImplausibleCountsAreNotTaken) {
  auto read = [](const std::string& text) {
    std::pair<int64_t, int64_t> counts{-7, -7};
    read_usage(json::parse(text)->as_object(), &counts.first, &counts.second);
    return counts;
  };
  EXPECT_EQ(read(R"({"usage":{"prompt_tokens":12,"completion_tokens":3}})"),
            std::make_pair(int64_t{12}, int64_t{3}));
  // Negative, or past 2^40: neither is taken (a sum could wrap, or a request be free).
  EXPECT_EQ(read(R"({"usage":{"prompt_tokens":-1000000,"completion_tokens":9223372036854775807}})"),
            std::make_pair(int64_t{-7}, int64_t{-7}));
  EXPECT_EQ(read(R"({"usage":{"prompt_tokens":1099511627776,"completion_tokens":1099511627777}})"),
            std::make_pair(MAX_REPORTED_TOKENS, int64_t{-7}));
}

// The events of a stream, fed in pieces of every size: what is passed on is the stream
// itself, and the usage is the last event's.
TEST(SseUsageParser, PassesEventsOnWholeHoweverTheyAreCut) {
  std::string usage = R"(data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}})";
  std::string stream = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n" +
                       std::string(": comment\r\n\r\n") + usage + "\n\n" + "data: [DONE]\n\n";
  for (size_t piece : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{64}, stream.size()}) {
    SseUsageParser parser(true);
    std::string forward;
    for (size_t at = 0; at < stream.size(); at += piece)
      parser.feed(std::string_view(stream).substr(at, piece), &forward);
    forward += parser.take_rest();
    EXPECT_EQ(forward, stream) << "pieces of " << piece;
    EXPECT_EQ(parser.prompt_tokens(), 5);
    EXPECT_EQ(parser.completion_tokens(), 2);
    EXPECT_TRUE(parser.saw_done());
  }
}

// A stream whose last event lacks its blank line ends with it all the same: its [DONE] and
// usage count once the stream is closed, and the bytes are passed on.
TEST(SseUsageParser, ALastEventWithoutItsBlankLineCounts) {
  SseUsageParser parser(true);
  std::string forward;
  parser.feed(
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n"
      "data: [DONE]",
      &forward);
  EXPECT_FALSE(parser.saw_done()) << "not before the stream ends";
  parser.close();
  EXPECT_TRUE(parser.saw_done());
  EXPECT_EQ(parser.prompt_tokens(), 3);
  EXPECT_EQ(parser.take_rest(), "data: [DONE]");
}

// An event longer than MAX_SSE_EVENT_BYTES is passed on as it comes, in pieces, without being
// held whole; the events after it are read again.
TEST(SseUsageParser, AnEventTooLongToReadIsPassedOnAsItComes) {
  std::string huge = "data: " + std::string(3 * MAX_SSE_EVENT_BYTES, 'x') + "\n\n";
  std::string stream = huge +
                       R"(data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4}})" +
                       "\n\ndata: [DONE]\n\n";
  for (size_t piece : {size_t{1000}, size_t{4096}, size_t{65536}}) {
    SseUsageParser parser(true);
    std::string forward;
    size_t most_held = 0;
    for (size_t at = 0; at < stream.size(); at += piece) {
      parser.feed(std::string_view(stream).substr(at, piece), &forward);
      most_held = std::max(most_held, at + std::min(piece, stream.size() - at) - forward.size());
    }
    forward += parser.take_rest();
    EXPECT_EQ(forward, stream) << "pieces of " << piece;
    EXPECT_LE(most_held, MAX_SSE_EVENT_BYTES + piece) << "pieces of " << piece;
    EXPECT_EQ(parser.prompt_tokens(), 9);
    EXPECT_EQ(parser.completion_tokens(), 4);
    EXPECT_TRUE(parser.saw_done());
  }
}

}  // namespace
}  // namespace socle::providers
