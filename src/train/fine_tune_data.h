// A fine-tuning file (JSON Lines in OpenAI's chat format, checked by jsonl_validation.h) turned
// into the trainer's examples: each conversation rendered with the base model's chat template
// and tokenised, labels on the tokens of the assistant messages of weight 1 only (the
// template's text for each assistant turn, its end-of-turn tokens included), IGNORE_LABEL
// elsewhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/template/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "train/trainer.h"

namespace socle::train {

struct ChatFormat {
  const engine::tokenizer::Tokenizer* tokenizer = nullptr;
  const engine::jinja::ChatTemplate* chat_template = nullptr;
  // As serving gives them to the template; empty: the template's own (tokenizer_config.json's).
  std::string bos_token;
  std::string eos_token;
};

struct PreparedData {
  std::vector<TrainExample> examples;
  int64_t tokens = 0;          // over all examples
  int64_t trained_tokens = 0;  // labels that are trained (not IGNORE_LABEL, weight 1)
  int64_t max_tokens = 0;      // the longest example
};

// Every line of `jsonl` as one example, in file order. INVALID_ARGUMENT naming the line for
// anything validate_chat_jsonl would refuse, an example the template refuses, or one longer
// than `context_tokens` (when > 0).
Result<PreparedData> prepare_chat_examples(std::string_view jsonl, const ChatFormat& format,
                                           int64_t context_tokens);

// The token count of one example (an object of the JSONL) as prepare_chat_examples counts it:
// what ValidationOptions::count_tokens wants.
Result<int64_t> count_chat_example_tokens(const boost::json::object& example,
                                          const ChatFormat& format);

}  // namespace socle::train
