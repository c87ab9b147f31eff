// Added tokens (tokenizer.json's "added_tokens"): special tokens such as <|eot_id|> and
// tokens added after training. They are cut out of the text before the normalizer and the
// model see it, leftmost and longest first, so that "<|eot_id|>" written in a prompt is one
// token and never the characters '<', '|', ...
#pragma once

#include <boost/json/array.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "engine/tokenizer/vocab.h"

namespace socle::engine::tokenizer {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool lstrip = false;      // swallow the whitespace on its left
  bool rstrip = false;      // swallow the whitespace on its right
  bool normalized = false;  // matched in the normalized text rather than the raw input
};

// A stretch of input: either an added token or text for the normalizer and model.
struct Section {
  std::string text;
  std::optional<int32_t> token;
};

class AddedTokens {
 public:
  // Reads the "added_tokens" array. Refuses single_word tokens, which socle does not match.
  static Result<AddedTokens> from_json(const boost::json::array& list);

  // Cuts `text` at the tokens whose `normalized` flag equals `normalized`, applying their
  // lstrip and rstrip; text sections may come out empty.
  std::vector<Section> split(std::string_view text, bool normalized) const;

  bool has_normalized() const { return has_normalized_; }
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  // The added token with `id`, if any.
  const AddedToken* find(int32_t id) const;
  const AddedToken* find(std::string_view content) const;

 private:
  struct TrieNode {
    std::vector<std::pair<unsigned char, int>> children;
    int token = -1;  // index in tokens_ of the token ending here
  };
  void insert(size_t index);

  std::vector<AddedToken> tokens_;
  std::vector<TrieNode> raw_trie_{1};
  std::vector<TrieNode> normalized_trie_{1};
  bool has_normalized_ = false;
  std::unordered_map<int32_t, size_t> by_id_;  // id to index in tokens_
  TokenMap by_content_;                        // content to index in tokens_
};

}  // namespace socle::engine::tokenizer
