// socle's GGUF tokenizers against llama.cpp's: the files socle writes (gguf_cases.h) are
// loaded vocab-only by llama.cpp itself (npm node-llama-cpp's prebuilt binary, run by
// gguf_oracle.mjs during the test) and both tokenize the whole corpus.
//
// llama.cpp does not always give the ids Hugging Face gives (which socle gives, checked in
// gguf_vocab_test.cc): the strings where it differs are listed below per tokenizer, with the
// reason, and the test fails if any other string differs or a listed one stops differing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "base/file.h"
#include "base/json.h"
#include "gguf_cases.h"
#include "npm_oracle.h"

namespace socle::engine::tokenizer {
namespace {

namespace fs = std::filesystem;

const std::string TEST_DIR = std::string(SOCLE_SOURCE_DIR) + "/tests/unit/engine/tokenizer";

// The GGUF cases (gguf_cases.h) and, for the SentencePiece ones, the same files without
// merges, which socle and llama.cpp both merge by score.
const std::vector<std::string> QUICK_CASES = {"llama2", "qwen3", "llama2-scores", "wordpiece-bert",
                                              "unigram-xlmr"};

// A Unigram tokenizer whose normalizer squeezes runs of spaces (Hugging Face's converter
// appends Replace(" {2,}", " ") when SentencePiece's remove_extra_whitespaces is on) is
// written with tokenizer.ggml.remove_extra_whitespaces, and llama.cpp then does what
// SentencePiece does: it also drops the spaces at the start and end of each text between
// special tokens, where Hugging Face keeps one "▁" (id 4 in unigram-xlmr). socle keeps it too.
// These are the corpus strings with whitespace (tabs and newlines become spaces first) at the
// start or end of the text (31, 32, 38, 41, 43-48, 157-159, 164-191, 214) or just before a
// special token written in it (128-147).
const std::vector<std::string> FULL_CASES = {"llama3", "gpt4o", "deepseek_v3", "gemma3",
                                             "gemma3-scores"};

// Corpus strings (by index in corpus.json) where llama.cpp's ids differ from Hugging Face's
// and socle's, with or without special tokens.
const std::map<std::string, std::set<size_t>>& known_differences() {
  static const std::map<std::string, std::set<size_t>> known = {
      // Qwen's tokenizer.json normalises to NFC first; llama.cpp has no normalizer for
      // byte-level BPE, so decomposed accents stay apart (100: "été : décomposé NFD").
      // llama.cpp also turns the plain vocabulary token "</s>" into a control token (it
      // takes "</s>" for an end-of-generation marker whatever the model), so "</s>" in the
      // text becomes that one token where Qwen's pre-tokenizer splits it into "</", "s", ">"
      // (130, 131, 132, 160).
      {"qwen3", {100, 130, 131, 132, 160}},
      // GPT-4o's expression groups letters with their combining marks ([\p{L}\p{M}]...);
      // llama.cpp's own regex engine does not, and cuts Devanagari (68) and Thai (69)
      // words apart at the vowel signs.
      {"gpt4o", {68, 69}},
      {"unigram-xlmr",
       {31,  32,  38,  41,  43,  44,  45,  46,  47,  48,  128, 129, 131, 132, 143, 144,
        146, 147, 157, 158, 159, 164, 167, 170, 173, 176, 179, 182, 185, 188, 191, 214}},
  };
  return known;
}

// The same for the strings of the golden tokenizers' oracle.json (by index there), where
// Hugging Face's ids are known.
const std::map<std::string, std::set<size_t>>& known_golden_differences() {
  static const std::map<std::string, std::set<size_t>> known = {
      // As above: leading and trailing whitespace (11 "    indentation ... espaces    ",
      // 22 " ", 24 "\n").
      {"unigram-xlmr", {11, 22, 24}},
  };
  return known;
}

const std::string CORPUS = TEST_DIR + "/corpus.json";

std::string golden_oracle(const std::string& name) {
  return std::string(SOCLE_GOLDEN_DIR) + "/tokenizers/" + name + "/oracle.json";
}

// Runs gguf_oracle.mjs on the file of `name` with the strings of `corpus` (once per pair);
// fails the test (never skips) when Node or node-llama-cpp is missing or llama.cpp refuses
// the file, returning null.
const boost::json::object* llama_cpp(const std::string& name, const std::string& corpus = CORPUS) {
  static std::map<std::string, boost::json::object> cached;
  const std::string cache_key = name + "\n" + corpus;
  if (auto it = cached.find(cache_key); it != cached.end()) return &it->second;
  const std::string package = std::string(SOCLE_SOURCE_DIR) + "/node_modules/node-llama-cpp";
  if (!fs::exists(package)) {
    ADD_FAILURE() << package << " is missing: run scripts/install-deps (npm ci) first";
    return nullptr;
  }
  fs::path out =
      fs::temp_directory_path() / ("socle_gguf_oracle_" + std::to_string(::getpid()) + ".json");
  std::string cmd = "node '" + TEST_DIR + "/gguf_oracle.mjs' '" + corpus + "' '" + out.string() +
                    "' '" + name + "=" + gguf_case(name).path + "'";
  int rc = std::system(cmd.c_str());
  if (rc != 0) {
    ADD_FAILURE() << "the llama.cpp oracle failed (exit " << rc << "): " << cmd;
    return nullptr;
  }
  auto text = read_file(out.string());
  fs::remove(out);
  if (!text.is_ok()) {
    ADD_FAILURE() << "cannot read the llama.cpp oracle's output";
    return nullptr;
  }
  auto parsed = json::parse(*text);
  if (!parsed.is_ok() || !parsed->is_object() || !parsed->as_object().contains(name)) {
    ADD_FAILURE() << "the llama.cpp oracle's output has no ids for " << name;
    return nullptr;
  }
  return &cached.emplace(cache_key, std::move(parsed->as_object().at(name).as_object()))
              .first->second;
}

class GgufLlamaCpp : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufLlamaCpp, IdsMatchLlamaCppExceptKnownDifferences) {
  const NpmOracle& corpus = npm_oracle();
  ASSERT_FALSE(corpus.strings.empty());
  const boost::json::object* cpp = llama_cpp(GetParam());
  ASSERT_NE(cpp, nullptr);
  const Tokenizer& tok = *gguf_case(GetParam()).tokenizer;
  const auto& want = *cpp;
  std::set<size_t> differing;
  int reported = 0;
  for (bool special : {false, true}) {
    const auto& want_all = want.at(special ? "with_special" : "without_special").as_array();
    ASSERT_EQ(want_all.size(), corpus.strings.size());
    for (size_t i = 0; i < corpus.strings.size(); ++i) {
      auto got = tok.encode(corpus.strings[i], special);
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      std::vector<int32_t> expected = to_ids(want_all[i]);
      if (*got == expected) continue;
      differing.insert(i);
      auto known = known_differences().find(GetParam());
      bool listed = known != known_differences().end() && known->second.contains(i);
      if (!listed && ++reported <= MAX_REPORTED_MISMATCHES) {
        ADD_FAILURE() << GetParam() << " string " << i << " (special " << special
                      << "): " << json::quoted(corpus.strings[i]) << "\n  llama.cpp "
                      << show(expected) << "\n  socle     " << show(*got);
      }
    }
  }
  auto known = known_differences().find(GetParam());
  std::set<size_t> listed = known == known_differences().end() ? std::set<size_t>() : known->second;
  EXPECT_EQ(differing, listed) << "the strings where llama.cpp differs have changed";
}

// The golden WordPiece and Unigram tokenizers: on the strings whose Hugging Face ids are
// known, socle's GGUF file gives Hugging Face's ids everywhere, and llama.cpp gives them too
// except on the strings listed in known_golden_differences().
class GgufLlamaCppGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufLlamaCppGolden, SocleGivesHuggingFaceIdsAndLlamaCppToExceptKnownDifferences) {
  auto text = read_file(golden_oracle(GetParam()));
  ASSERT_TRUE(text.is_ok()) << text.status().to_string();
  auto oracle = json::parse(*text);
  ASSERT_TRUE(oracle.is_ok());
  const auto& hf = oracle->as_object();
  const auto& strings = hf.at("strings").as_array();
  ASSERT_FALSE(strings.empty());
  const boost::json::object* cpp = llama_cpp(GetParam(), golden_oracle(GetParam()));
  ASSERT_NE(cpp, nullptr);
  const Tokenizer& tok = *gguf_case(GetParam()).tokenizer;
  std::set<size_t> differing;
  for (bool special : {false, true}) {
    const auto& want_all = hf.at(special ? "with_special_tokens" : "without_special_tokens");
    const auto& cpp_all = cpp->at(special ? "with_special" : "without_special").as_array();
    ASSERT_EQ(cpp_all.size(), strings.size());
    for (size_t i = 0; i < strings.size(); ++i) {
      std::string s(strings[i].as_string());
      std::vector<int32_t> want = to_ids(want_all.as_array()[i]);
      auto got = tok.encode(s, special);
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      EXPECT_EQ(*got, want) << "socle, string " << i << " (special " << special
                            << "): " << json::quoted(s);
      std::vector<int32_t> from_cpp = to_ids(cpp_all[i]);
      if (from_cpp == want) continue;
      differing.insert(i);
      auto known = known_golden_differences().find(GetParam());
      if (known == known_golden_differences().end() || !known->second.contains(i)) {
        ADD_FAILURE() << "llama.cpp, string " << i << " (special " << special
                      << "): " << json::quoted(s) << "\n  llama.cpp    " << show(from_cpp)
                      << "\n  Hugging Face " << show(want);
      }
    }
  }
  auto known = known_golden_differences().find(GetParam());
  std::set<size_t> listed =
      known == known_golden_differences().end() ? std::set<size_t>() : known->second;
  EXPECT_EQ(differing, listed) << "the strings where llama.cpp differs have changed";
}

INSTANTIATE_TEST_SUITE_P(Quick, GgufLlamaCppGolden, ::testing::ValuesIn(GGUF_GOLDEN_CASES),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string name = p.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

std::string case_name(const ::testing::TestParamInfo<std::string>& p) {
  std::string name = p.param;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

// Quick: the default run; Full: labelled slow (see CMakeLists.txt).
INSTANTIATE_TEST_SUITE_P(Quick, GgufLlamaCpp, ::testing::ValuesIn(QUICK_CASES), case_name);
INSTANTIATE_TEST_SUITE_P(Full, GgufLlamaCpp, ::testing::ValuesIn(FULL_CASES), case_name);

}  // namespace
}  // namespace socle::engine::tokenizer
