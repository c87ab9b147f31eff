// Small hand-made tokenizer files: refusal of unsupported components, added-token
// stripping, byte fallback and the streaming detokenizer on split characters.
#include "engine/tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/stream_decoder.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/word_cache.h"

namespace socle::engine::tokenizer {
namespace {

DecodeOptions skip_special() {
  DecodeOptions o;
  o.skip_special_tokens = true;
  return o;
}

// A byte-level BPE over the letters a, b and the space byte (shown as U+0120), with merges
// "a b" then "Ġ ab".
std::string byte_level_json(const std::string& normalizer = "null",
                            const std::string& added = "[]") {
  return R"({"normalizer": )" + normalizer +
         R"(, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "Ġ": 2, "ab": 3, "Ġab": 4, "<eot>": 5},
            "merges": ["a b", "Ġ ab"]},
  "post_processor": null, "decoder": {"type": "ByteLevel"},
  "added_tokens": )" +
         added + "}";
}

TEST(Tokenizer, MergesByRank) {
  auto tok = Tokenizer::from_json(byte_level_json(), "");
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  auto ids = tok->encode("ab ab abb", false);
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{3, 4, 4, 1}));
  EXPECT_EQ(tok->decode(*ids), "ab ab abb");
}

TEST(WordCache, KeepsFindsEvictsAndClears) {
  WordCache cache(32);  // two pieces a shard
  std::vector<int32_t> out = {7};
  EXPECT_FALSE(cache.find("word", out));
  cache.insert("word", std::vector<int32_t>{1, 2, 3});
  ASSERT_TRUE(cache.find("word", out));
  EXPECT_EQ(out, (std::vector<int32_t>{7, 1, 2, 3}));  // appended
  cache.insert(std::string(WordCache::MAX_PIECE_BYTES + 1, 'x'), std::vector<int32_t>{4});
  EXPECT_FALSE(cache.find(std::string(WordCache::MAX_PIECE_BYTES + 1, 'x'), out));
  for (int i = 0; i < 1000; ++i)
    cache.insert("w" + std::to_string(i), std::vector<int32_t>{i});
  EXPECT_LE(cache.size(), size_t{32});  // full shards start over
  cache.clear();
  EXPECT_EQ(cache.size(), size_t{0});
  WordCache none(0);
  none.insert("word", std::vector<int32_t>{1});
  EXPECT_FALSE(none.find("word", out));
}

// Threads encoding at once through one tokenizer get the ids one thread gets alone, with
// the cache empty, filling and full.
TEST(Tokenizer, ConcurrentEncodesAgreeWithTheCacheEmptyOrFull) {
  auto tok = Tokenizer::from_json(byte_level_json(), "");
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) {
    std::string s;
    for (int j = 0; j <= i % 7; ++j)
      s += (i + j) % 3 == 0 ? "abab " : "ab b ";
    texts.push_back(s);
  }
  std::vector<std::vector<int32_t>> want;
  for (const auto& t : texts) {
    tok->clear_cache();
    auto ids = tok->encode(t, false);
    ASSERT_TRUE(ids.is_ok());
    want.push_back(*ids);
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          auto ids = tok->encode(texts[(i + t * 50) % texts.size()], false);
          if (!ids.is_ok() || *ids != want[(i + t * 50) % texts.size()]) ++mismatches[t];
        }
        if (t == 0 && round % 5 == 0) tok->clear_cache();
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(Tokenizer, RefusesUnsupportedComponentsByName) {
  auto bad_normalizer = Tokenizer::from_json(byte_level_json(R"({"type": "Nmt"})"), "");
  ASSERT_FALSE(bad_normalizer.is_ok());
  EXPECT_NE(bad_normalizer.status().message().find("normalizer of type 'Nmt'"), std::string::npos)
      << bad_normalizer.status().message();

  std::string json = byte_level_json();
  json.replace(json.find(R"("type": "BPE")"), 13, R"("type": "WordLevel")");
  auto bad_model = Tokenizer::from_json(json, "");
  ASSERT_FALSE(bad_model.is_ok());
  EXPECT_NE(bad_model.status().message().find("'WordLevel'"), std::string::npos);

  std::string dropout = byte_level_json();
  dropout.replace(dropout.find(R"("type": "BPE")"), 13, R"("type": "BPE", "dropout": 0.1)");
  EXPECT_FALSE(Tokenizer::from_json(dropout, "").is_ok());

  auto single_word = Tokenizer::from_json(
      byte_level_json("null", R"([{"id": 5, "content": "<eot>", "single_word": true,
        "lstrip": false, "rstrip": false, "normalized": false, "special": true}])"),
      "");
  EXPECT_FALSE(single_word.is_ok());
}

TEST(Tokenizer, AddedTokensStripWhitespace) {
  auto tok = Tokenizer::from_json(
      byte_level_json("null", R"([{"id": 5, "content": "<eot>", "single_word": false,
        "lstrip": true, "rstrip": true, "normalized": false, "special": true}])"),
      "");
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  auto ids = tok->encode("ab  <eot>  ab", false);
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{3, 5, 3}));
  EXPECT_EQ(tok->decode(*ids, skip_special()), "abab");
}

TEST(Tokenizer, RefusesInvalidUtf8) {
  auto tok = Tokenizer::from_json(byte_level_json(), "");
  ASSERT_TRUE(tok.is_ok());
  EXPECT_FALSE(tok->encode("a\xC3", false).is_ok());
}

// utf8proc's own NFC, for comparing socle's shortcut with it.
std::string utf8proc_nfc(const std::string& s) {
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> out(
      utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str())), &std::free);
  return reinterpret_cast<const char*>(out.get());
}

// NFC takes a shortcut for text below U+0300: it must agree with utf8proc's full path on
// every such code point, alone, after a letter, and before the combining marks that follow;
// and past the bound (U+0340 and U+0341 are their own NFC's exceptions) the full path runs.
// Llama 3's (and Qwen 2 and 3's) split pattern reaches PCRE2's match limit on some 10 million
// blanks before a letter, which fits in a request body: the blanks become one piece, and
// every byte is still in exactly one piece (before, the server aborted).
TEST(Regex, AMatchLimitSplitsByRunsInsteadOfAborting) {
  auto re = Regex::compile(
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)");
  ASSERT_TRUE(re.is_ok()) << re.status().message();
  const std::string subject = "x" + std::string(10'500'000, ' ') + "a b";
  auto pieces = re->find_all(subject);
  ASSERT_FALSE(pieces.empty());
  size_t at = 0;
  for (auto [b, e] : pieces) {
    EXPECT_EQ(b, at);
    at = e;
  }
  EXPECT_EQ(at, subject.size());
  EXPECT_EQ(pieces.back(), (std::pair<size_t, size_t>{subject.size() - 2, subject.size()}))
      << "after the long run, the pattern splits as usual";
}

TEST(Unicode, NfcShortcutAgreesWithUtf8proc) {
  std::string all;
  for (char32_t cp = 1; cp < 0x380; ++cp) {
    std::string one;
    utf8_append(one, cp);
    EXPECT_EQ(unicode_normalize(one, NormalForm::NFC), utf8proc_nfc(one))
        << "U+" << std::hex << static_cast<uint32_t>(cp);
    all += "a" + one;
    for (char32_t mark : {U'\u0300', U'\u0301', U'\u0323', U'\u0327'}) {
      std::string marked = one;
      utf8_append(marked, mark);
      EXPECT_EQ(unicode_normalize(marked, NormalForm::NFC), utf8proc_nfc(marked))
          << "U+" << std::hex << static_cast<uint32_t>(cp) << " U+" << static_cast<uint32_t>(mark);
    }
  }
  EXPECT_EQ(unicode_normalize(all, NormalForm::NFC), utf8proc_nfc(all));
  EXPECT_EQ(unicode_normalize("e\xCC\x81", NormalForm::NFC), "\xC3\xA9");  // e U+0301: é
}

TEST(Unicode, CompletePrefixAndSanitize) {
  std::string euro = "\xE2\x82\xAC";  // U+20AC
  EXPECT_EQ(utf8_complete_prefix("a" + euro.substr(0, 2)), 1U);
  EXPECT_EQ(utf8_complete_prefix("a" + euro), 4U);
  EXPECT_EQ(utf8_sanitize("a\xE2\x82"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(utf8_sanitize("\xF0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(utf8_valid("é€😀"));
  EXPECT_FALSE(utf8_valid("\xED\xA0\x80"));  // a surrogate
}

// SentencePiece-style: unknown characters fall back to <0xXX> byte tokens; the stream holds
// a character back until its last byte arrives.
TEST(StreamDecoder, HoldsBackSplitCharacters) {
  std::string json =
      R"({"normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
    "pre_tokenizer": null,
    "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>", "fuse_unk": true,
              "vocab": {"<unk>": 0, "<0xE2>": 1, "<0x82>": 2, "<0xAC>": 3, "a": 4, "▁": 5},
              "merges": []},
    "post_processor": null,
    "decoder": {"type": "Sequence", "decoders": [
      {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
      {"type": "ByteFallback"}, {"type": "Fuse"}]},
    "added_tokens": []})";
  auto tok = Tokenizer::from_json(json, R"({"clean_up_tokenization_spaces": false})");
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  auto ids = tok->encode("a €a", false);
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{4, 5, 1, 2, 3, 4}));
  EXPECT_EQ(tok->decode(*ids), "a €a");
  StreamDecoder stream(*tok, false);
  std::vector<std::string> chunks;
  for (int32_t id : *ids)
    chunks.push_back(stream.step(id));
  EXPECT_EQ(chunks, (std::vector<std::string>{"a", " ", "", "", "€", "a"}));
  EXPECT_EQ(stream.finish(), "");
  // A stream that stops inside a character ends with U+FFFD, never a broken sequence.
  EXPECT_EQ(stream.step(1), "");
  EXPECT_EQ(stream.finish(), "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace socle::engine::tokenizer
