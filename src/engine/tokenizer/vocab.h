// A token vocabulary: token text to id and back, with lookups by string_view.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace socle::engine::tokenizer {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class Vocab {
 public:
  // Adds `token` with `id`; a later token with the same text replaces the earlier mapping.
  void add(std::string token, int32_t id);

  std::optional<int32_t> find(std::string_view token) const {
    auto it = ids_.find(token);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  bool contains(std::string_view token) const { return ids_.find(token) != ids_.end(); }
  // The text of `id`, or nothing when no token has that id.
  std::optional<std::string_view> token(int32_t id) const;
  // One past the largest id.
  size_t id_limit() const { return tokens_.size(); }
  size_t size() const { return ids_.size(); }

 private:
  TokenMap ids_;
  std::vector<std::string> tokens_;
  std::vector<bool> present_;
};

}  // namespace socle::engine::tokenizer
