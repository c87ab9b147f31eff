#include "engine/tokenizer/vocab.h"

#include "base/check.h"

namespace socle::engine::tokenizer {

void Vocab::add(std::string token, int32_t id) {
  SOCLE_CHECK(id >= 0, "vocabulary ids are checked to be non-negative when loaded");
  auto index = static_cast<size_t>(id);
  if (index >= tokens_.size()) {
    tokens_.resize(index + 1);
    present_.resize(index + 1, false);
  }
  tokens_[index] = token;
  present_[index] = true;
  ids_[std::move(token)] = id;
}

std::optional<std::string_view> Vocab::token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !present_[static_cast<size_t>(id)]) {
    return std::nullopt;
  }
  return tokens_[static_cast<size_t>(id)];
}

}  // namespace socle::engine::tokenizer
