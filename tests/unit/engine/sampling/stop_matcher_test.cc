// Stop strings against brute force: for random texts cut into random pieces, the released
// text must be the text up to the first occurrence of any stop string (std::string::find on
// the whole text), and generation must stop exactly when one occurs.
#include "engine/sampling/stop_matcher.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace socle::engine::sampling {
namespace {

TEST(StopMatcher, MatchesBruteForceOverRandomSplits) {
  // Characters of one, two and three bytes, so that stops and cuts meet inside texts of
  // every kind; the pieces are whole characters, as a detokenizer gives them.
  const std::vector<std::string> alphabet = {"a", "b", "\xC3\xA9", "\xE2\x80\x99", "\n"};
  const std::vector<std::vector<std::string>> stop_sets = {
      {"ab"},
      {"aab", "ba"},
      {"\xC3\xA9\n", "bbb"},
      {"a\xE2\x80\x99"
       "b",
       "\n\n"},
      {"abab\xC3\xA9", "b"},
      {"zzz"},  // never occurs
  };
  std::mt19937 gen(1234);
  int stopped_cases = 0;
  for (const auto& stops : stop_sets) {
    for (int round = 0; round < 300; ++round) {
      std::vector<std::string> chars;
      std::uniform_int_distribution<size_t> letter(0, alphabet.size() - 1);
      std::uniform_int_distribution<int> length(0, 24);
      int n = length(gen);
      std::string text;
      for (int i = 0; i < n; ++i) {
        chars.push_back(alphabet[letter(gen)]);
        text += chars.back();
      }
      size_t first = std::string::npos;
      for (const auto& s : stops)
        first = std::min(first, text.find(s));
      std::string want = first == std::string::npos ? text : text.substr(0, first);

      StopMatcher m(stops);
      std::string got;
      bool stopped = false;
      std::uniform_int_distribution<int> piece(1, 3);
      for (size_t i = 0; i < chars.size() && !stopped;) {
        std::string chunk;
        for (int k = piece(gen); k > 0 && i < chars.size(); --k)
          chunk += chars[i++];
        StopMatcher::Step step = m.push(chunk);
        got += step.text;
        stopped = step.stopped;
      }
      if (!stopped) got += m.finish();
      EXPECT_EQ(stopped, first != std::string::npos) << text;
      EXPECT_EQ(got, want) << text;
      stopped_cases += stopped ? 1 : 0;
    }
  }
  EXPECT_GT(stopped_cases, 300);  // the cases exercise stops, not only their absence
}

TEST(StopMatcher, HoldsBackOnlyWhatCouldStartAStop) {
  StopMatcher m({"</answer>"});
  EXPECT_EQ(m.push("The answer is 4 <").text, "The answer is 4 ");
  EXPECT_EQ(m.push("/ans").text, "");
  StopMatcher::Step step = m.push("wer> and more");
  EXPECT_TRUE(step.stopped);
  EXPECT_EQ(step.text, "");
  EXPECT_EQ(m.push("ignored").text, "");

  StopMatcher unfinished({"</answer>"});
  EXPECT_EQ(unfinished.push("x </ans").text, "x ");
  EXPECT_EQ(unfinished.finish(), "</ans");

  StopMatcher none({"", ""});
  EXPECT_EQ(none.push("anything").text, "anything");
}

}  // namespace
}  // namespace socle::engine::sampling
