#include "rag/chunk/chunker.h"

#include <algorithm>
#include <utility>

#include "base/check.h"
#include "rag/chunk/split.h"

namespace socle::rag {
namespace {

// One piece of a section: a whole block, or a part of a block too big for one chunk.
struct Piece {
  std::string_view text;
  // What separates it from the piece before in the section's running text: "\n" between
  // blocks, the original whitespace between the parts of one block.
  std::string_view separator;
  int page = 0;
};

// A chunk being built: its text and, for the pages, where each piece starts in it.
struct Draft {
  std::string text;
  std::vector<std::pair<size_t, int>> page_starts;  // (byte offset in text, page), in order

  void append(std::string_view separator, std::string_view piece, int page) {
    if (!text.empty()) text += separator;
    page_starts.emplace_back(text.size(), page);
    text += piece;
  }
};

constexpr std::string_view BLOCK_SEPARATOR = "\n";

struct Section {
  std::vector<std::string> path;
  std::vector<const Block*> blocks;
};

std::vector<Section> sections_of(const ParsedDocument& doc) {
  std::vector<Section> out;
  for (const Block& b : doc.blocks) {
    if (b.text.empty()) continue;
    std::vector<std::string> path = b.heading_path;
    if (b.kind == BlockKind::HEADING) path.push_back(b.text);
    if (b.kind == BlockKind::HEADING || out.empty() || out.back().path != path) {
      out.push_back({std::move(path), {}});
    }
    out.back().blocks.push_back(&b);
  }
  return out;
}

// The word starts of `text` (byte offsets of non-space bytes after a space or at 0).
std::vector<size_t> word_starts(std::string_view text) {
  std::vector<size_t> out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!is_space_byte(text[i]) && (i == 0 || is_space_byte(text[i - 1]))) out.push_back(i);
  }
  return out;
}

class SectionChunker {
 public:
  SectionChunker(const ChunkSettings& settings, const Measure& measure)
      : settings_(settings), measure_(measure) {}

  void chunk(const Section& section, std::vector<Chunk>& out) {
    std::vector<Piece> pieces = pieces_of(section);
    Draft previous;
    for (size_t i = 0; i < pieces.size();) {
      Draft overlap = i == 0 ? Draft{} : tail_of(previous);
      if (!overlap.text.empty() && !fits(compose(overlap, pieces, i, 1))) {
        // Keep as many of the overlap's last words as leave room for the first piece; with
        // none, the piece may still be a word longer than a chunk, which stands alone.
        std::vector<size_t> starts = word_starts(overlap.text);
        size_t kept = largest_fitting(0, starts.size(), [&](size_t words) {
          return words == 0 || fits(compose(suffix(overlap, starts, words), pieces, i, 1));
        });
        overlap = suffix(overlap, starts, kept);
      }
      size_t n = 1;
      if (fits(compose(overlap, pieces, i, 1))) {
        n = largest_fitting(1, pieces.size() - i,
                            [&](size_t k) { return fits(compose(overlap, pieces, i, k)); });
      }
      Draft draft = compose(overlap, pieces, i, n);
      out.push_back(to_chunk(draft, section.path));
      previous = std::move(draft);
      i += n;
    }
  }

 private:
  std::vector<Piece> pieces_of(const Section& section) const {
    std::vector<Piece> out;
    for (const Block* b : section.blocks) {
      std::string_view text = b->text;
      if (measure_(text) <= settings_.size) {
        out.push_back({text, BLOCK_SEPARATOR, b->page});
        continue;
      }
      std::vector<TextRange> ranges =
          split_text(text, settings_.size - settings_.overlap, measure_);
      for (size_t k = 0; k < ranges.size(); ++k) {
        std::string_view separator =
            k == 0 ? BLOCK_SEPARATOR
                   : text.substr(ranges[k - 1].end, ranges[k].begin - ranges[k - 1].end);
        out.push_back(
            {text.substr(ranges[k].begin, ranges[k].end - ranges[k].begin), separator, b->page});
      }
    }
    return out;
  }

  bool fits(const Draft& d) const { return measure_(d.text) <= settings_.size; }

  static Draft compose(const Draft& overlap, const std::vector<Piece>& pieces, size_t first,
                       size_t count) {
    Draft d = overlap;
    for (size_t k = first; k < first + count; ++k)
      d.append(pieces[k].separator, pieces[k].text, pieces[k].page);
    return d;
  }

  // The last `words` words of `d` (starting at a word start), with the pages they come from.
  static Draft suffix(const Draft& d, const std::vector<size_t>& starts, size_t words) {
    if (words == 0) return {};
    size_t from = starts[starts.size() - words];
    Draft out;
    out.text = d.text.substr(from);
    for (size_t k = 0; k < d.page_starts.size(); ++k) {
      size_t end = k + 1 < d.page_starts.size() ? d.page_starts[k + 1].first : d.text.size();
      if (end <= from) continue;
      out.page_starts.emplace_back(
          d.page_starts[k].first > from ? d.page_starts[k].first - from : 0,
          d.page_starts[k].second);
    }
    return out;
  }

  // The longest tail of `previous` that starts at a word and measures at most the overlap.
  Draft tail_of(const Draft& previous) const {
    if (settings_.overlap == 0) return {};
    std::vector<size_t> starts = word_starts(previous.text);
    size_t words = largest_fitting(0, starts.size(), [&](size_t k) {
      return k == 0 ||
             measure_(std::string_view(previous.text).substr(starts[starts.size() - k])) <=
                 settings_.overlap;
    });
    return suffix(previous, starts, words);
  }

  static Chunk to_chunk(const Draft& d, const std::vector<std::string>& path) {
    Chunk c;
    c.text = d.text;
    c.heading_path = path;
    bool first = true;
    for (const auto& [offset, page] : d.page_starts) {
      c.page_start = first ? page : std::min(c.page_start, page);
      c.page_end = first ? page : std::max(c.page_end, page);
      first = false;
    }
    return c;
  }

  const ChunkSettings& settings_;
  const Measure& measure_;
};

}  // namespace

Status check_chunk_settings(const ChunkSettings& settings) {
  if (settings.size < MIN_CHUNK_SIZE || settings.size > MAX_CHUNK_SIZE) {
    return invalid_argument("chunk_size must be between " + std::to_string(MIN_CHUNK_SIZE) +
                                " and " + std::to_string(MAX_CHUNK_SIZE) + ", got " +
                                std::to_string(settings.size),
                            "chunk_size");
  }
  if (settings.overlap < 0 || settings.overlap * 2 >= settings.size) {
    return invalid_argument("chunk_overlap must be at least 0 and less than half of chunk_size (" +
                                std::to_string(settings.size) + "), got " +
                                std::to_string(settings.overlap),
                            "chunk_overlap");
  }
  return Status::ok();
}

int64_t count_code_points(std::string_view text) {
  int64_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

Measure character_measure() {
  return count_code_points;
}

std::vector<Chunk> chunk_document(const ParsedDocument& doc, const ChunkSettings& settings,
                                  const Measure& measure) {
  SOCLE_CHECK(check_chunk_settings(settings).is_ok(), "callers validate chunk settings first");
  SOCLE_CHECK(static_cast<bool>(measure), "a measure is given");
  std::vector<Chunk> out;
  SectionChunker chunker(settings, measure);
  for (const Section& section : sections_of(doc))
    chunker.chunk(section, out);
  return out;
}

}  // namespace socle::rag
