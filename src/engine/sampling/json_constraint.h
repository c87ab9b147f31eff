// Constrained decoding to a JSON object (response_format {"type": "json_object"}): before
// each token is drawn, the tokens whose bytes cannot continue the text into a JSON object are
// masked out; once the object is closed, only the end-of-sequence tokens are left.
//
// The mask walks the vocabulary in the order of its tokens' bytes, so that tokens sharing a
// prefix read it once through the JSON recogniser (json_grammar.h), and skips at once every
// token that shares a prefix already refused: its cost is about the size of the vocabulary's
// byte trie, 3 ms for 150,000 tokens. The masks of recent states are kept (TokenTexts), so
// that most steps copy one.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "engine/sampling/json_grammar.h"

namespace socle::engine::sampling {

// The masks of this many recogniser states are kept per vocabulary (one byte per token each:
// 4.7 MB for 151,669 tokens).
inline constexpr size_t JSON_MASKS_KEPT = 32;

// The bytes each token adds to a text in the middle of a generation (the tokenizer's
// decoder gives them: tokenizer/token_texts.h), sorted once for the mask's walk, and the masks
// of the states met most recently: a generation meets the same states again and again (inside
// a string at one depth, after a value), and every sequence of the model shares them. An empty
// text is never allowed (special tokens, ids without a piece): a token that adds nothing would
// let a constrained generation run on without progress. Thread-safe.
class TokenTexts {
 public:
  explicit TokenTexts(std::vector<std::string> texts);
  size_t size() const { return texts_.size(); }
  const std::string& text(int32_t id) const { return texts_[static_cast<size_t>(id)]; }

 private:
  friend class JsonConstraint;
  struct Mask {
    std::vector<uint8_t> allowed;  // by id: the tokens whose text the state reads whole
    bool any = false;
  };
  // The mask of `state`, from the cache or walked now and kept.
  std::shared_ptr<const Mask> mask(const JsonRecognizer& state) const;
  Mask walk(const JsonRecognizer& state) const;

  std::vector<std::string> texts_;  // by id
  std::vector<int32_t> order_;      // the ids with a text, by their bytes
  std::vector<uint32_t> shared_;    // bytes order_[i]'s text shares with order_[i - 1]'s
  size_t longest_ = 0;
  struct Kept {
    JsonRecognizer state;
    std::shared_ptr<const Mask> mask;
    uint64_t used = 0;
  };
  mutable std::mutex mu_;
  mutable std::vector<Kept> kept_;  // guarded by mu_; at most JSON_MASKS_KEPT
  mutable uint64_t uses_ = 0;       // guarded by mu_
};

class JsonConstraint {
 public:
  // `end_ids`: the tokens that end the sequence (its stop token ids).
  JsonConstraint(std::shared_ptr<const TokenTexts> texts, std::vector<int32_t> end_ids);

  // mask[id] = 1 for each token allowed next, 0 for the others (ids past the texts included).
  // While the object is open: the tokens whose bytes keep the text the start of one (an end
  // token only if its own bytes do); once it is closed: the end tokens alone. When no token
  // can continue the text (a vocabulary without the byte needed), the end tokens too.
  void allowed(std::span<uint8_t> mask) const;
  // Records the token drawn: its bytes are read, unless it ends the sequence.
  void accept(int32_t token);
  bool complete() const { return state_.complete(); }

 private:
  std::shared_ptr<const TokenTexts> texts_;
  std::vector<int32_t> end_ids_;
  JsonRecognizer state_{JsonMode::OBJECT};
};

}  // namespace socle::engine::sampling
