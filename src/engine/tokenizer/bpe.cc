#include "engine/tokenizer/bpe.h"

#include <cstdio>
#include <queue>

#include "base/check.h"
#include "engine/tokenizer/config_fields.h"
#include "engine/tokenizer/unicode.h"

namespace socle::engine::tokenizer {

namespace {

constexpr std::string_view WHAT = "model BPE";
constexpr size_t BYTE_VALUES = 256;
constexpr int BYTE_TOKEN_NAME_SIZE = 7;  // "<0xAB>" and its terminating NUL

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// A symbol of the word being merged: a byte range of the piece and its token id (-1 when
// the text is not in the vocabulary), linked to its live neighbours.
struct Symbol {
  int32_t id;
  size_t begin;
  size_t end;
  int prev;
  int next;
  bool alive;
};

struct Candidate {
  int32_t rank;
  int pos;
  int32_t result;
  // std::priority_queue pops the largest: invert so the lowest rank, then leftmost, wins.
  bool operator<(const Candidate& o) const {
    if (rank != o.rank) return rank > o.rank;
    return pos > o.pos;
  }
};

// Fibonacci hashing: the high bits of the key times 2^64 / golden ratio.
constexpr uint64_t FIBONACCI_MULTIPLIER = 0x9E3779B97F4A7C15ULL;
// The table is kept at most half full, so that probe sequences stay short.
constexpr size_t MAX_LOAD_DIVISOR = 2;
constexpr int MIN_CAPACITY_BITS = 4;
constexpr size_t MIN_CAPACITY = size_t{1} << MIN_CAPACITY_BITS;

}  // namespace

size_t Bpe::MergeTable::index(uint64_t key) const {
  return static_cast<size_t>((key * FIBONACCI_MULTIPLIER) >> shift_);
}

void Bpe::MergeTable::reserve(size_t n) {
  size_t capacity = MIN_CAPACITY;
  int bits = MIN_CAPACITY_BITS;
  while (capacity < n * MAX_LOAD_DIVISOR + 1) {
    capacity <<= 1;
    ++bits;
  }
  if (capacity <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{EMPTY, {}});
  shift_ = 64 - bits;
  size_ = 0;
  for (const Slot& s : old) {
    if (s.key != EMPTY) {
      insert_or_assign(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFU),
                       s.merge);
    }
  }
}

void Bpe::MergeTable::insert_or_assign(int32_t left, int32_t right, Merge merge) {
  SOCLE_CHECK(left >= 0 && right >= 0, "merge ids come from the vocabulary");
  if ((size_ + 1) * MAX_LOAD_DIVISOR > slots_.size()) reserve(size_ * 2 + 1);
  uint64_t key = pair_key(left, right);
  size_t mask = slots_.size() - 1;
  for (size_t i = index(key);; i = (i + 1) & mask) {
    if (slots_[i].key == key) {
      slots_[i].merge = merge;
      return;
    }
    if (slots_[i].key == EMPTY) {
      slots_[i] = Slot{key, merge};
      ++size_;
      return;
    }
  }
}

const Bpe::Merge* Bpe::MergeTable::find(int32_t left, int32_t right) const {
  if (slots_.empty()) return nullptr;
  uint64_t key = pair_key(left, right);
  size_t mask = slots_.size() - 1;
  for (size_t i = index(key);; i = (i + 1) & mask) {
    if (slots_[i].key == key) return &slots_[i].merge;
    if (slots_[i].key == EMPTY) return nullptr;
  }
}

Result<std::unique_ptr<Bpe>> Bpe::create(
    Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
    std::span<const int32_t> ranks) {
  if (!ranks.empty() && ranks.size() != merges.size()) {
    return invalid_argument("tokenizer model BPE: " + std::to_string(ranks.size()) + " ranks for " +
                            std::to_string(merges.size()) + " merges");
  }
  std::unique_ptr<Bpe> bpe(new Bpe(std::move(vocab), std::move(options)));
  if (bpe->options_.unk_token) bpe->unk_id_ = bpe->vocab_.find(*bpe->options_.unk_token);
  bpe->merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    auto left = bpe->vocab_.find(a);
    auto right = bpe->vocab_.find(b);
    auto result = bpe->vocab_.find(a + b);
    if (!left || !right || !result) {
      return invalid_argument("tokenizer model BPE: merge " + std::to_string(rank) + " ('" + a +
                              "' '" + b + "') uses a token that is not in the vocabulary");
    }
    // A pair listed twice keeps its last rank, as both reference implementations do.
    int32_t priority = ranks.empty() ? static_cast<int32_t>(rank) : ranks[rank];
    bpe->merges_.insert_or_assign(*left, *right, Merge{priority, *result});
  }
  bpe->byte_ids_.assign(BYTE_VALUES, -1);
  for (size_t b = 0; b < BYTE_VALUES; ++b) {
    char name[BYTE_TOKEN_NAME_SIZE];
    std::snprintf(name, sizeof(name), "<0x%02X>", static_cast<unsigned>(b));
    if (auto id = bpe->vocab_.find(name)) bpe->byte_ids_[b] = *id;
  }
  return bpe;
}

const Bpe::Merge* Bpe::find_merge(int32_t left, int32_t right) const {
  if (left < 0 || right < 0) return nullptr;
  return merges_.find(left, right);
}

Status Bpe::emit_unknown(std::string_view text, std::vector<int32_t>& out) const {
  if (options_.byte_fallback) {
    bool all = true;
    for (char c : text)
      all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
    if (all) {
      for (char c : text)
        out.push_back(byte_ids_[static_cast<unsigned char>(c)]);
      return Status::ok();
    }
  }
  if (!unk_id_) {
    return invalid_argument("tokenizer model BPE: '" + std::string(text) +
                            "' is not in the vocabulary and the model has no unknown token");
  }
  out.push_back(*unk_id_);
  return Status::ok();
}

Status Bpe::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return Status::ok();
  if (options_.ignore_merges) {
    if (auto id = vocab_.find(piece)) {
      out.push_back(*id);
      return Status::ok();
    }
  }
  std::vector<Symbol> symbols;
  size_t pos = 0;
  while (pos < piece.size()) {
    size_t begin = pos;
    utf8_next(piece, &pos);
    auto id = vocab_.find(piece.substr(begin, pos - begin));
    int index = static_cast<int>(symbols.size());
    symbols.push_back({id ? *id : -1, begin, pos, index - 1, index + 1, true});
  }
  symbols.back().next = -1;

  std::priority_queue<Candidate> queue;
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const Merge* m = find_merge(symbols[i].id, symbols[i + 1].id)) {
      queue.push({m->rank, static_cast<int>(i), m->result});
    }
  }
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[static_cast<size_t>(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    // The pair may have changed since this candidate was queued.
    const Merge* m = find_merge(left.id, right.id);
    if (m == nullptr || m->result != top.result) continue;
    left.id = top.result;
    left.end = right.end;
    left.next = right.next;
    right.alive = false;
    if (left.next >= 0) symbols[static_cast<size_t>(left.next)].prev = top.pos;
    if (left.prev >= 0) {
      const Symbol& p = symbols[static_cast<size_t>(left.prev)];
      if (const Merge* pm = find_merge(p.id, left.id))
        queue.push({pm->rank, left.prev, pm->result});
    }
    if (left.next >= 0) {
      const Symbol& n = symbols[static_cast<size_t>(left.next)];
      if (const Merge* nm = find_merge(left.id, n.id)) queue.push({nm->rank, top.pos, nm->result});
    }
  }
  for (int i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
    const Symbol& s = symbols[static_cast<size_t>(i)];
    if (s.id >= 0) {
      out.push_back(s.id);
    } else {
      SOCLE_RETURN_IF_ERROR(emit_unknown(piece.substr(s.begin, s.end - s.begin), out));
    }
  }
  return Status::ok();
}

Status Bpe::encode(const std::vector<std::string>& pieces, std::vector<int32_t>& out) const {
  size_t first = out.size();
  for (const auto& piece : pieces) {
    if (cache_.find(piece, out)) continue;
    size_t before = out.size();
    SOCLE_RETURN_IF_ERROR(encode_piece(piece, out));
    cache_.insert(piece, std::span<const int32_t>(out).subspan(before));
  }
  if (!options_.fuse_unk || !unk_id_) return Status::ok();
  // Runs of unknown tokens collapse into one.
  size_t w = first;
  for (size_t r = first; r < out.size(); ++r) {
    if (out[r] == *unk_id_ && w > first && out[w - 1] == *unk_id_) continue;
    out[w++] = out[r];
  }
  out.resize(w);
  return Status::ok();
}

Result<std::unique_ptr<Model>> bpe_from_json(const boost::json::object& o) {
  if (const auto* d = o.if_contains("dropout");
      d != nullptr && !d->is_null() && !(d->is_number() && d->to_number<double>() == 0.0)) {
    return invalid_argument(
        "tokenizer model BPE: dropout is not supported (it makes encoding random)");
  }
  SOCLE_ASSIGN_OR_RETURN(std::string prefix,
                         string_field_or(o, "continuing_subword_prefix", "", WHAT));
  if (!prefix.empty()) {
    return invalid_argument("tokenizer model BPE: continuing_subword_prefix '" + prefix +
                            "' is not supported");
  }
  SOCLE_ASSIGN_OR_RETURN(std::string suffix, string_field_or(o, "end_of_word_suffix", "", WHAT));
  if (!suffix.empty()) {
    return invalid_argument("tokenizer model BPE: end_of_word_suffix '" + suffix +
                            "' is not supported");
  }
  const auto* vocab_json = o.if_contains("vocab");
  if (vocab_json == nullptr) return invalid_argument("tokenizer model BPE has no 'vocab'");
  SOCLE_ASSIGN_OR_RETURN(Vocab vocab, vocab_from_json(*vocab_json, WHAT));
  SOCLE_ASSIGN_OR_RETURN(const boost::json::array* merges_json, array_field(o, "merges", WHAT));
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(merges_json->size());
  for (const auto& m : *merges_json) {
    // Two formats: "left right" (tokenizers < 0.20) or ["left", "right"].
    if (m.is_string()) {
      std::string_view s = m.as_string();
      size_t space = s.find(' ');
      if (space == std::string_view::npos || s.find(' ', space + 1) != std::string_view::npos) {
        return invalid_argument("tokenizer model BPE: merge '" + std::string(s) +
                                "' is not two tokens separated by one space");
      }
      merges.emplace_back(std::string(s.substr(0, space)), std::string(s.substr(space + 1)));
    } else if (m.is_array() && m.as_array().size() == 2 && m.as_array()[0].is_string() &&
               m.as_array()[1].is_string()) {
      merges.emplace_back(std::string(m.as_array()[0].as_string()),
                          std::string(m.as_array()[1].as_string()));
    } else {
      return invalid_argument("tokenizer model BPE: each merge must be \"a b\" or [\"a\", \"b\"]");
    }
  }
  BpeOptions options;
  if (const auto* unk = o.if_contains("unk_token"); unk != nullptr && unk->is_string()) {
    options.unk_token = std::string(unk->as_string());
  }
  SOCLE_ASSIGN_OR_RETURN(options.byte_fallback, bool_field_or(o, "byte_fallback", false, WHAT));
  SOCLE_ASSIGN_OR_RETURN(options.fuse_unk, bool_field_or(o, "fuse_unk", false, WHAT));
  SOCLE_ASSIGN_OR_RETURN(options.ignore_merges, bool_field_or(o, "ignore_merges", false, WHAT));
  SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<Bpe> bpe, Bpe::create(std::move(vocab), merges, options));
  return std::unique_ptr<Model>(std::move(bpe));
}

}  // namespace socle::engine::tokenizer
