#include "engine/tokenizer/token_texts.h"

#include <cstdint>
#include <optional>

namespace socle::engine::tokenizer {

std::vector<std::string> token_texts(const Tokenizer& tokenizer) {
  const auto n = static_cast<int32_t>(tokenizer.vocab_size());
  auto ordinary = [&](int32_t id) {
    return !tokenizer.is_special(id) && tokenizer.has_piece(id, true);
  };
  // The context: the first ordinary token that decodes alone to one ASCII letter.
  std::optional<int32_t> context;
  std::string prefix;
  for (int32_t id = 0; id < n && !context; ++id) {
    if (!ordinary(id)) continue;
    std::string text = tokenizer.decode_bytes(std::vector<int32_t>{id}, true);
    if (text.size() == 1 &&
        ((text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z'))) {
      context = id;
      prefix = std::move(text);
    }
  }
  std::vector<std::string> texts(static_cast<size_t>(n));
  for (int32_t id = 0; id < n; ++id) {
    if (!ordinary(id)) continue;
    std::string& text = texts[static_cast<size_t>(id)];
    if (context) {
      text = tokenizer.decode_bytes(std::vector<int32_t>{*context, id}, true);
      if (text.compare(0, prefix.size(), prefix) == 0) {
        text.erase(0, prefix.size());
        continue;
      }
    }
    text = tokenizer.decode_bytes(std::vector<int32_t>{id}, true);
  }
  return texts;
}

}  // namespace socle::engine::tokenizer
