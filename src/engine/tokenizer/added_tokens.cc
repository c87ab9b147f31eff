#include "engine/tokenizer/added_tokens.h"

#include "engine/tokenizer/config_fields.h"
#include "engine/tokenizer/unicode.h"

namespace socle::engine::tokenizer {

namespace {

constexpr std::string_view WHAT = "added_tokens";

// Byte length of the whitespace at the end of `s` (Unicode White_Space).
size_t trailing_space(std::string_view s) {
  std::vector<char32_t> cps = utf8_decode(s);
  size_t n = 0;
  while (!cps.empty() && is_unicode_whitespace(cps.back())) {
    std::string enc;
    utf8_append(enc, cps.back());
    n += enc.size();
    cps.pop_back();
  }
  return n;
}

size_t leading_space(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t at = pos;
    if (!is_unicode_whitespace(utf8_next(s, &pos))) return at;
  }
  return s.size();
}

}  // namespace

Result<AddedTokens> AddedTokens::from_json(const boost::json::array& list) {
  AddedTokens out;
  for (const auto& item : list) {
    if (!item.is_object())
      return invalid_argument("tokenizer added_tokens: each entry must be an object");
    const auto& o = item.as_object();
    AddedToken t;
    SOCLE_ASSIGN_OR_RETURN(t.content, string_field(o, "content", WHAT));
    SOCLE_ASSIGN_OR_RETURN(int64_t id, int_field_or(o, "id", -1, WHAT));
    if (id < 0 || id > INT32_MAX) {
      return invalid_argument("tokenizer added_tokens: '" + t.content + "' has no valid id");
    }
    t.id = static_cast<int32_t>(id);
    if (t.content.empty() || !utf8_valid(t.content)) {
      return invalid_argument("tokenizer added_tokens: token " + std::to_string(id) +
                              " is empty or not UTF-8");
    }
    SOCLE_ASSIGN_OR_RETURN(t.special, bool_field_or(o, "special", false, WHAT));
    SOCLE_ASSIGN_OR_RETURN(t.lstrip, bool_field_or(o, "lstrip", false, WHAT));
    SOCLE_ASSIGN_OR_RETURN(t.rstrip, bool_field_or(o, "rstrip", false, WHAT));
    // Special tokens are matched in the raw text unless a file says otherwise.
    SOCLE_ASSIGN_OR_RETURN(t.normalized, bool_field_or(o, "normalized", !t.special, WHAT));
    SOCLE_ASSIGN_OR_RETURN(bool single_word, bool_field_or(o, "single_word", false, WHAT));
    if (single_word) {
      return invalid_argument("tokenizer added_tokens: '" + t.content +
                              "' has single_word set, which socle does not support");
    }
    out.has_normalized_ = out.has_normalized_ || t.normalized;
    out.by_id_[t.id] = out.tokens_.size();
    out.by_content_[t.content] = static_cast<int32_t>(out.tokens_.size());
    out.tokens_.push_back(std::move(t));
    out.insert(out.tokens_.size() - 1);
  }
  return out;
}

void AddedTokens::insert(size_t index) {
  const AddedToken& t = tokens_[index];
  std::vector<TrieNode>& trie = t.normalized ? normalized_trie_ : raw_trie_;
  size_t node = 0;
  for (char ch : t.content) {
    auto c = static_cast<unsigned char>(ch);
    int next = -1;
    for (auto [label, to] : trie[node].children) {
      if (label == c) next = to;
    }
    if (next < 0) {
      next = static_cast<int>(trie.size());
      trie[node].children.emplace_back(c, next);
      trie.emplace_back();
    }
    node = static_cast<size_t>(next);
  }
  // A later entry with the same content replaces an earlier one.
  trie[node].token = static_cast<int>(index);
}

const AddedToken* AddedTokens::find(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedTokens::find(std::string_view content) const {
  auto it = by_content_.find(content);
  return it == by_content_.end() ? nullptr : &tokens_[static_cast<size_t>(it->second)];
}

std::vector<Section> AddedTokens::split(std::string_view text, bool normalized) const {
  const std::vector<TrieNode>& trie = normalized ? normalized_trie_ : raw_trie_;
  std::vector<Section> out;
  size_t text_start = 0;
  size_t i = 0;
  while (i < text.size()) {
    // The longest token starting at i.
    size_t node = 0;
    int best = -1;
    size_t best_end = i;
    for (size_t j = i; j < text.size(); ++j) {
      int next = -1;
      for (auto [label, to] : trie[node].children) {
        if (label == static_cast<unsigned char>(text[j])) next = to;
      }
      if (next < 0) break;
      node = static_cast<size_t>(next);
      if (trie[node].token >= 0) {
        best = trie[node].token;
        best_end = j + 1;
      }
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const AddedToken& t = tokens_[static_cast<size_t>(best)];
    std::string_view before = text.substr(text_start, i - text_start);
    if (t.lstrip) before.remove_suffix(trailing_space(before));
    out.push_back({std::string(before), std::nullopt});
    out.push_back({t.content, t.id});
    i = best_end;
    if (t.rstrip) i += leading_space(text.substr(i));
    text_start = i;
  }
  out.push_back({std::string(text.substr(text_start)), std::nullopt});
  return out;
}

}  // namespace socle::engine::tokenizer
