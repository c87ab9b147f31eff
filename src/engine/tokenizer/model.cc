#include "engine/tokenizer/model.h"

#include <limits>

#include "engine/tokenizer/config_fields.h"

namespace socle::engine::tokenizer {

Result<Vocab> vocab_from_json(const boost::json::value& v, std::string_view what) {
  if (!v.is_object()) {
    return invalid_argument("tokenizer " + std::string(what) + ": 'vocab' must be an object");
  }
  Vocab vocab;
  for (const auto& [key, value] : v.as_object()) {
    if (!value.is_int64() || value.as_int64() < 0 ||
        value.as_int64() > std::numeric_limits<int32_t>::max()) {
      return invalid_argument("tokenizer " + std::string(what) + ": the id of '" +
                              std::string(key) + "' is not a non-negative 32-bit integer");
    }
    vocab.add(std::string(key), static_cast<int32_t>(value.as_int64()));
  }
  return vocab;
}

Result<std::unique_ptr<Model>> model_from_json(const boost::json::value& config) {
  SOCLE_ASSIGN_OR_RETURN(std::string type, component_type(config, "model"));
  const auto& o = config.as_object();
  if (type == "BPE") return bpe_from_json(o);
  if (type == "WordPiece") return wordpiece_from_json(o);
  if (type == "Unigram") return unigram_from_json(o);
  return unsupported_component("model", type);
}

}  // namespace socle::engine::tokenizer
