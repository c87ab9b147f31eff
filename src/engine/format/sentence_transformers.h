// The embedding settings that sentence-transformers saves next to a model: modules.json
// lists the pipeline (Transformer, Pooling, Normalize), and the Pooling module's folder holds
// a config.json saying how token states become one vector.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace socle::engine {

enum class Pooling {
  CLS,   // the first token's hidden state
  MEAN,  // the mean over the sequence's tokens
  LAST,  // the last token's hidden state (decoder-based embedders)
};

const char* pooling_name(Pooling pooling);
// "cls", "mean" or "last"; nullopt for any other name.
std::optional<Pooling> pooling_from_name(std::string_view name);

struct EmbeddingSettings {
  Pooling pooling = Pooling::MEAN;
  bool normalize = false;  // a Normalize module follows: unit L2 norm
};

// The settings of the sentence-transformers model in `dir`, or nullopt when `dir` has no
// modules.json. INVALID_ARGUMENT for malformed files or a pooling mode socle does not compute
// (max, mean_sqrt_len, weightedmean, or several at once).
Result<std::optional<EmbeddingSettings>> sentence_transformers_read(const std::string& dir);

// Parses the texts of modules.json and of the Pooling module's config.json (empty when
// modules.json names no Pooling module). For tests.
Result<EmbeddingSettings> sentence_transformers_parse(std::string_view modules_json,
                                                      std::string_view pooling_json);

// The Pooling module's folder named in modules.json ("1_Pooling"), empty if none.
Result<std::string> sentence_transformers_pooling_path(std::string_view modules_json);

}  // namespace socle::engine
