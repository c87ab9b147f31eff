// Post-processors: the last encoding stage, which wraps the model's ids in the special
// tokens a model expects (BOS, [CLS] ... [SEP]) when special tokens are asked for
// (tokenizer.json's "post_processor").
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"

namespace socle::engine::tokenizer {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // The final ids for sequence `a` (and `b` for a pair, when not null).
  virtual std::vector<int32_t> process(const std::vector<int32_t>& a, const std::vector<int32_t>* b,
                                       bool add_special_tokens) const = 0;
};

// Builds the post-processor that `config` describes: TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel (which adds nothing to ids) or a Sequence of them. A null
// config gives a null pointer; any other type is refused.
Result<std::unique_ptr<PostProcessor>> post_processor_from_json(const boost::json::value& config);

}  // namespace socle::engine::tokenizer
