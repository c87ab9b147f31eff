// Tokenizer models: the stage that turns each pre-tokenized piece into token ids
// (tokenizer.json's "model"): BPE, WordPiece or Unigram.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/tokenizer/vocab.h"

namespace socle::engine::tokenizer {

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of `pieces` (one section of the input, pre-tokenized) to `out`. Fails
  // only when a piece holds a character that the vocabulary cannot express and the model
  // has no unknown token to stand for it.
  virtual Status encode(const std::vector<std::string>& pieces,
                        std::vector<int32_t>& out) const = 0;
  virtual const Vocab& vocab() const = 0;
  // The id of the unknown token, when the model has one.
  virtual std::optional<int32_t> unk_id() const = 0;
  // Empties the model's cache of recent pieces, if it keeps one (a benchmark measures the
  // work without it); encode gives the same ids either way.
  virtual void clear_cache() const {}
};

// Builds the model that `config` describes. Options that socle does not implement
// (BPE dropout, subword prefixes and suffixes on BPE, ...) are refused by name.
Result<std::unique_ptr<Model>> model_from_json(const boost::json::value& config);

// Per-model builders, called by model_from_json.
Result<std::unique_ptr<Model>> bpe_from_json(const boost::json::object& config);
Result<std::unique_ptr<Model>> wordpiece_from_json(const boost::json::object& config);
Result<std::unique_ptr<Model>> unigram_from_json(const boost::json::object& config);

// Reads a {"token": id, ...} vocabulary, checking that ids are non-negative integers.
Result<Vocab> vocab_from_json(const boost::json::value& v, std::string_view what);

}  // namespace socle::engine::tokenizer
