#include "engine/tokenizer/precompiled.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/base64.h"
#include "engine/tokenizer/config_fields.h"
#include "engine/tokenizer/unicode.h"

namespace socle::engine::tokenizer {

namespace {

constexpr std::string_view WHAT = "normalizer Precompiled";
constexpr size_t TRIE_UNIT_BYTES = 4;
// SentencePiece looks a whole grapheme up only when it is shorter than this many bytes;
// longer clusters are mapped one character at a time (normalizer.cc in sentencepiece,
// mirrored by spm_precompiled in Hugging Face tokenizers).
constexpr size_t MAX_GRAPHEME_LOOKUP_BYTES = 6;

Result<std::string> charsmap_bytes(std::string_view encoded) {
  std::optional<std::string> bytes = base64_decode(encoded);
  if (!bytes)
    return invalid_argument("tokenizer normalizer Precompiled: the charsmap is not base64");
  return *std::move(bytes);
}

// SentencePiece's Darts double-array unit layout.
bool unit_has_leaf(uint32_t u) {
  return ((u >> 8) & 1) == 1;
}
uint32_t unit_value(uint32_t u) {
  return u & ((1U << 31) - 1);
}
uint32_t unit_label(uint32_t u) {
  return u & ((1U << 31) | 0xFF);
}
uint32_t unit_offset(uint32_t u) {
  return (u >> 10) << ((u & (1U << 9)) >> 6);
}

class Precompiled final : public Normalizer {
 public:
  Precompiled(std::vector<uint32_t> trie, std::string normalized)
      : trie_(std::move(trie)), normalized_(std::move(normalized)) {}

  std::string normalize(std::string_view text) const override {
    std::string out;
    out.reserve(text.size());
    for (auto [b, e] : graphemes(text)) {
      std::string_view g = text.substr(b, e - b);
      if (g.size() < MAX_GRAPHEME_LOOKUP_BYTES) {
        if (auto norm = transform(g)) {
          out.append(*norm);
          continue;
        }
      }
      size_t pos = 0;
      while (pos < g.size()) {
        size_t start = pos;
        utf8_next(g, &pos);
        std::string_view ch = g.substr(start, pos - start);
        if (auto norm = transform(ch)) {
          out.append(*norm);
        } else {
          out.append(ch);
        }
      }
    }
    return out;
  }

 private:
  // The replacement of the shortest prefix of `key` that the trie holds, if any: as
  // spm_precompiled's transform, which takes the first common-prefix result.
  std::optional<std::string_view> transform(std::string_view key) const {
    auto value = first_prefix_value(key);
    // A value inside a UTF-8 sequence would cut a character: the map is broken there.
    if (!value || *value >= normalized_.size() ||
        (static_cast<unsigned char>(normalized_[*value]) & 0xC0) == 0x80) {
      return std::nullopt;
    }
    std::string_view tail = std::string_view(normalized_).substr(*value);
    size_t end = tail.find('\0');
    return tail.substr(0, end);
  }

  std::optional<size_t> first_prefix_value(std::string_view key) const {
    size_t node = 0;
    if (trie_.empty()) return std::nullopt;
    node ^= unit_offset(trie_[0]);
    for (char ch : key) {
      auto c = static_cast<unsigned char>(ch);
      if (c == 0) break;
      node ^= c;
      if (node >= trie_.size()) return std::nullopt;
      uint32_t unit = trie_[node];
      if (unit_label(unit) != c) return std::nullopt;
      node ^= unit_offset(unit);
      if (node >= trie_.size()) return std::nullopt;
      if (unit_has_leaf(unit)) return unit_value(trie_[node]);
    }
    return std::nullopt;
  }

  std::vector<uint32_t> trie_;
  std::string normalized_;  // replacement strings, each ended by '\0'
};

}  // namespace

Result<std::string> precompiled_charsmap_bytes(const boost::json::object& config) {
  SOCLE_ASSIGN_OR_RETURN(std::string encoded, string_field(config, "precompiled_charsmap", WHAT));
  return charsmap_bytes(encoded);
}

Result<std::unique_ptr<Normalizer>> precompiled_from_json(const boost::json::object& config) {
  SOCLE_ASSIGN_OR_RETURN(std::string blob, precompiled_charsmap_bytes(config));
  return precompiled_from_bytes(std::move(blob));
}

Result<std::unique_ptr<Normalizer>> precompiled_from_bytes(std::string blob) {
  if (blob.size() < TRIE_UNIT_BYTES) {
    return invalid_argument(
        "tokenizer normalizer Precompiled: the charsmap is shorter than its header");
  }
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(blob[i])); };
  auto le32 = [&](size_t i) {
    return byte(i) | (byte(i + 1) << 8) | (byte(i + 2) << 16) | (byte(i + 3) << 24);
  };
  size_t trie_bytes = le32(0);
  if (trie_bytes % TRIE_UNIT_BYTES != 0 || trie_bytes > blob.size() - TRIE_UNIT_BYTES) {
    return invalid_argument("tokenizer normalizer Precompiled: the trie size " +
                            std::to_string(trie_bytes) + " does not fit the charsmap of " +
                            std::to_string(blob.size()) + " bytes");
  }
  std::vector<uint32_t> trie(trie_bytes / TRIE_UNIT_BYTES);
  for (size_t i = 0; i < trie.size(); ++i)
    trie[i] = le32(TRIE_UNIT_BYTES * (i + 1));
  std::string normalized = blob.substr(TRIE_UNIT_BYTES + trie_bytes);
  if (!utf8_valid(normalized)) {
    return invalid_argument(
        "tokenizer normalizer Precompiled: the replacement strings are not UTF-8");
  }
  return std::unique_ptr<Normalizer>(new Precompiled(std::move(trie), std::move(normalized)));
}

}  // namespace socle::engine::tokenizer
