// Stop strings over a stream of generated text. A stop string may span several tokens, so
// text that could be the start of one is held back until it is known not to be; the text
// before the first stop string found is released, and the stop string itself never is
// (OpenAI's behaviour).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace socle::engine::sampling {

class StopMatcher {
 public:
  // Empty strings in `stops` are ignored.
  explicit StopMatcher(std::vector<std::string> stops);

  struct Step {
    std::string text;      // releasable now
    bool stopped = false;  // a stop string was found: generation ends, `text` is the last
  };
  // Adds the next piece of generated text (valid UTF-8); after a stop, adds nothing.
  Step push(std::string_view text);
  // At the end of generation (without a stop): the text still held back.
  std::string finish();

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace socle::engine::sampling
