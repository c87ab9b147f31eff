// Chunking: a parsed document cut into pieces small enough to embed and to put in a prompt,
// each within one section (heading path) and citing its pages.
//
// Rules, in order:
// 1. Structure first. Each heading starts a new section (the heading's text opens it); the
//    blocks of a section are packed together, in order, as long as the chunk measures at most
//    `size`. A chunk never spans two heading paths.
// 2. A block too big for one chunk is split at its line breaks, then at sentence ends
//    (. ! ? … possibly followed by closing quotes or brackets), then at spaces, into pieces of
//    at most size - overlap, so that a continuation still has room for its overlap.
// 3. Words are never cut: chunks start and end at whitespace. A single word (a URL, a hash)
//    longer than `size` becomes a chunk of its own, the one case where a chunk exceeds `size`.
// 4. Overlap: a chunk that follows another in the same section starts with the longest tail of
//    the previous chunk's text that measures at most `overlap` and starts at a word, shortened
//    further (down to nothing) when the chunk's first piece would not fit after it.
//
// Blocks are joined with "\n" and the pieces of one block with the whitespace that separated
// them; nothing is added to the text (the ingestion may prefix the heading path itself).
// Chunking is deterministic. The measure is called on candidate texts (about log2 of the
// number of blocks per chunk times), never summed: token counts are not additive.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "rag/parse/document.h"

namespace socle::rag {

struct ChunkSettings {
  int64_t size = 512;    // at most this many units per chunk
  int64_t overlap = 64;  // at most this many units repeated from the previous chunk
};

// Below this a chunk holds too little text to be retrieved on its own.
inline constexpr int64_t MIN_CHUNK_SIZE = 16;
// A chunk is put into a prompt: a million units is a document, not a chunk.
inline constexpr int64_t MAX_CHUNK_SIZE = int64_t{1} << 20;

// INVALID_ARGUMENT (param chunk_size or chunk_overlap) unless
// MIN_CHUNK_SIZE <= size <= MAX_CHUNK_SIZE and 0 <= overlap < size / 2.
Status check_chunk_settings(const ChunkSettings& settings);

// The length of a text in the units of ChunkSettings: the embedding model's tokens, or
// characters for collections indexed only lexically. Must be 0 for "" and should grow with the
// text (chunking searches for the longest text that fits; it checks every answer, so a measure
// that is not quite monotone costs chunk length, never correctness).
using Measure = std::function<int64_t(std::string_view text)>;

// Counts UTF-8 code points (every byte that does not continue a sequence).
int64_t count_code_points(std::string_view text);
Measure character_measure();

struct Chunk {
  std::string text;
  // The pages the text comes from, overlap included (1-based; 0 for formats without pages).
  int page_start = 0;
  int page_end = 0;
  // The section's headings, outermost first; a section opened by a heading includes it.
  std::vector<std::string> heading_path;
};

// `settings` must pass check_chunk_settings (the caller validates what users send).
std::vector<Chunk> chunk_document(const ParsedDocument& doc, const ChunkSettings& settings,
                                  const Measure& measure);

}  // namespace socle::rag
