// WordPiece ("bert") and Unigram ("t5") tokenizers in GGUF files: the golden tokenizers of
// ../shared/golden/tokenizers written by socle and read back give the ids and texts of the
// tokenizer.json they came from (whose own ids golden_test.cc checks against Hugging Face's)
// on the whole corpus; the keys are the ones llama.cpp reads (gguf_oracle_test.cc runs
// llama.cpp itself on the files); what GGUF cannot say is refused on write.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "base/file.h"
#include "base/json.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/tokenizer.h"
#include "gguf_cases.h"
#include "npm_oracle.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine::tokenizer {
namespace {

using socle::engine::testing::TempDir;

const std::string CORPUS =
    std::string(SOCLE_SOURCE_DIR) + "/tests/unit/engine/tokenizer/corpus.json";
constexpr std::string_view PHANTOM_SPACE = "\xe2\x96\x81";

std::vector<std::string> corpus_strings() {
  std::vector<std::string> out;
  auto text = read_file(CORPUS);
  if (!text.is_ok()) return out;
  auto parsed = json::parse(*text);
  if (!parsed.is_ok()) return out;
  for (const auto& s : parsed->as_object().at("strings").as_array())
    out.emplace_back(s.as_string());
  return out;
}

const Tokenizer& from_json(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) {
    auto tok = Tokenizer::load(gguf_case_source(name));
    EXPECT_TRUE(tok.is_ok()) << tok.status().to_string();
    slot = std::make_unique<Tokenizer>(std::move(tok).value());
  }
  return *slot;
}

boost::json::object tokenizer_json(const std::string& name) {
  auto text = read_file(gguf_case_source(name) + "/tokenizer.json");
  return json::parse(*text)->as_object();
}

std::string config_json(const std::string& name) {
  return *read_file(gguf_case_source(name) + "/tokenizer_config.json");
}

const GgufValue* find_key(const GgufMetadata& keys, std::string_view key) {
  for (const auto& [k, v] : keys) {
    if (k == key) return &v;
  }
  return nullptr;
}

uint64_t id_key(const GgufMetadata& keys, std::string_view key) {
  const GgufValue* v = find_key(keys, key);
  EXPECT_NE(v, nullptr) << key;
  return v == nullptr ? UINT64_MAX : v->u;
}

bool bool_key(const GgufMetadata& keys, std::string_view key) {
  const GgufValue* v = find_key(keys, key);
  EXPECT_NE(v, nullptr) << key;
  return v != nullptr && v->b;
}

void erase_key(GgufMetadata& keys, std::string_view key) {
  std::erase_if(keys, [&](const auto& kv) { return kv.first == key; });
}

Result<Tokenizer> load_keys(const TempDir& dir, const GgufMetadata& keys) {
  std::string path = dir.file("t.gguf");
  SOCLE_RETURN_IF_ERROR(gguf_write_tokenizer(path, keys, "bert", "test"));
  return Tokenizer::load(path);
}

// Standard base64, written here independently of the tokenizer's decoder.
std::string base64(const std::vector<unsigned char>& bytes) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t g = static_cast<uint32_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) g |= static_cast<uint32_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) g |= bytes[i + 2];
    out += alphabet[(g >> 18) & 63];
    out += alphabet[(g >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(g >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[g & 63] : '=';
  }
  return out;
}

// Every corpus string, alone and as a pair with the next one, with and without special
// tokens, and the decoded texts of the ids: the GGUF file and tokenizer.json agree.
void expect_same_tokenizer(const Tokenizer& want, const Tokenizer& got) {
  std::vector<std::string> strings = corpus_strings();
  ASSERT_GT(strings.size(), 100U);
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string& s = strings[i];
    for (bool special : {false, true}) {
      auto a = want.encode(s, special);
      auto b = got.encode(s, special);
      ASSERT_TRUE(a.is_ok() && b.is_ok());
      EXPECT_EQ(*b, *a) << "string " << i << " (special " << special << "): " << json::quoted(s);
      for (bool skip : {false, true}) {
        DecodeOptions o;
        o.skip_special_tokens = skip;
        EXPECT_EQ(got.decode(*a, o), want.decode(*a, o)) << "decoding string " << i;
      }
    }
    const std::string& next = strings[(i + 1) % strings.size()];
    auto a = want.encode_pair(s, next, true);
    auto b = got.encode_pair(s, next, true);
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    EXPECT_EQ(*b, *a) << "pair " << i;
  }
}

class GgufEncoder : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufEncoder, GivesTheIdsAndTextsOfTokenizerJson) {
  expect_same_tokenizer(from_json(GetParam()), *gguf_case(GetParam()).tokenizer);
}

INSTANTIATE_TEST_SUITE_P(Golden, GgufEncoder, ::testing::ValuesIn(GGUF_GOLDEN_CASES),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

TEST(GgufEncoderKeys, WordPieceInLlamaCppsPhantomSpaceForm) {
  const GgufMetadata& keys = gguf_case("wordpiece-bert").keys;
  const Tokenizer& tok = from_json("wordpiece-bert");
  EXPECT_EQ(find_key(keys, "tokenizer.ggml.model")->s, "bert");
  const auto& tokens = find_key(keys, "tokenizer.ggml.tokens")->array;
  const auto& types = find_key(keys, "tokenizer.ggml.token_type")->array;
  ASSERT_EQ(tokens.size(), tok.vocab_size());
  size_t continuations = 0;
  for (size_t id = 0; id < tokens.size(); ++id) {
    std::string text = *tok.id_to_token(static_cast<int32_t>(id));
    if (tok.is_special(static_cast<int32_t>(id))) {
      EXPECT_EQ(tokens[id].s, text);  // [CLS], [SEP], ... as they are
      EXPECT_NE(types[id].i, 1) << text;
    } else if (text.starts_with("##")) {
      ++continuations;
      EXPECT_EQ(tokens[id].s, text.substr(2));
    } else {
      EXPECT_EQ(tokens[id].s, std::string(PHANTOM_SPACE) + text);
    }
  }
  EXPECT_GT(continuations, 100U);
  EXPECT_EQ(id_key(keys, "tokenizer.ggml.bos_token_id"), *tok.token_to_id("[CLS]"));
  EXPECT_EQ(id_key(keys, "tokenizer.ggml.cls_token_id"), *tok.token_to_id("[CLS]"));
  EXPECT_EQ(id_key(keys, "tokenizer.ggml.eos_token_id"), *tok.token_to_id("[SEP]"));
  EXPECT_EQ(id_key(keys, "tokenizer.ggml.seperator_token_id"), *tok.token_to_id("[SEP]"));
  EXPECT_EQ(id_key(keys, "tokenizer.ggml.unknown_token_id"), *tok.token_to_id("[UNK]"));
  EXPECT_EQ(id_key(keys, "tokenizer.ggml.padding_token_id"), *tok.token_to_id("[PAD]"));
  EXPECT_EQ(id_key(keys, "tokenizer.ggml.mask_token_id"), *tok.token_to_id("[MASK]"));
  EXPECT_TRUE(bool_key(keys, "tokenizer.ggml.add_bos_token"));
  EXPECT_TRUE(bool_key(keys, "tokenizer.ggml.add_eos_token"));
  EXPECT_FALSE(bool_key(keys, "tokenizer.ggml.add_sep_token"));  // [CLS] A [SEP] B [SEP]
  // lowercase true and strip_accents null, which strips when lowercasing.
  EXPECT_TRUE(bool_key(keys, "tokenizer.ggml.normalizer.lowercase"));
  EXPECT_TRUE(bool_key(keys, "tokenizer.ggml.normalizer.strip_accents"));
}

TEST(GgufEncoderKeys, UnigramCarriesScoresAndTheCharsmap) {
  const GgufMetadata& keys = gguf_case("unigram-xlmr").keys;
  boost::json::object json = tokenizer_json("unigram-xlmr");
  EXPECT_EQ(find_key(keys, "tokenizer.ggml.model")->s, "t5");
  const auto& vocab = json.at("model").as_object().at("vocab").as_array();
  const auto& tokens = find_key(keys, "tokenizer.ggml.tokens")->array;
  const auto& scores = find_key(keys, "tokenizer.ggml.scores")->array;
  const GgufValue* exact = find_key(keys, "tokenizer.huggingface.scores");
  ASSERT_NE(exact, nullptr);  // some scores of this file are not float32 values
  ASSERT_EQ(exact->array_type, GgufType::FLOAT64);
  ASSERT_EQ(scores.size(), tokens.size());
  ASSERT_EQ(exact->array.size(), tokens.size());
  for (size_t id = 0; id < vocab.size(); ++id) {
    const auto& entry = vocab[id].as_array();
    EXPECT_EQ(tokens[id].s, entry[0].as_string());
    double score = entry[1].to_number<double>();
    EXPECT_EQ(static_cast<float>(scores[id].f), static_cast<float>(score)) << id;
    EXPECT_EQ(exact->array[id].f, score) << id;
  }
  const GgufValue* map = find_key(keys, "tokenizer.ggml.precompiled_charsmap");
  ASSERT_NE(map, nullptr);
  ASSERT_EQ(map->array_type, GgufType::UINT8);
  std::vector<unsigned char> bytes;
  for (const auto& b : map->array)
    bytes.push_back(static_cast<unsigned char>(b.u));
  const auto& precompiled = json.at("normalizer").as_object().at("normalizers").as_array()[0];
  EXPECT_EQ(base64(bytes), precompiled.as_object().at("precompiled_charsmap").as_string());
  EXPECT_TRUE(bool_key(keys, "tokenizer.ggml.add_space_prefix"));          // prepend "always"
  EXPECT_TRUE(bool_key(keys, "tokenizer.ggml.remove_extra_whitespaces"));  // Replace " {2,}"
  EXPECT_EQ(id_key(keys, "tokenizer.ggml.bos_token_id"), 1U);              // <s>
  EXPECT_EQ(id_key(keys, "tokenizer.ggml.eos_token_id"), 2U);              // </s>
  EXPECT_EQ(id_key(keys, "tokenizer.ggml.unknown_token_id"), 0U);          // <unk>
  EXPECT_EQ(id_key(keys, "tokenizer.ggml.padding_token_id"), 3000U);       // <pad>
  // <s> A </s> </s> B </s>: a separator (</s>) between the texts of a pair.
  EXPECT_TRUE(bool_key(keys, "tokenizer.ggml.add_sep_token"));
  EXPECT_EQ(id_key(keys, "tokenizer.ggml.seperator_token_id"), 2U);
}

// A file as llama.cpp's converter writes it: [UNK] a control token, no add_sep_token, no
// cls_token_id (llama.cpp's WordPiece tokenizer uses the BOS and separator ids), no
// normalizer keys (llama.cpp then lowercases and strips accents), no float64 scores, ids
// past the vocabulary filled with "[PAD<id>]" (scored -10000 in a Unigram file).
TEST(GgufEncoderKeys, ReadsConverterStyleFiles) {
  TempDir dir;
  for (const std::string& name : GGUF_GOLDEN_CASES) {
    GgufMetadata keys = gguf_case(name).keys;
    for (auto& [k, v] : keys) {
      if (k == "tokenizer.ggml.token_type") {
        for (auto& t : v.array)
          if (t.i == 2) t.i = 3;
        v.array.push_back(v.array.front());
        v.array.back().i = 5;
      } else if (k == "tokenizer.ggml.tokens") {
        v.array.push_back(GgufValue::str("[PAD" + std::to_string(v.array.size()) + "]"));
      } else if (k == "tokenizer.ggml.scores") {
        v.array.push_back(GgufValue::f32(-10000.0F));
      }
    }
    for (std::string_view k :
         {"tokenizer.ggml.add_sep_token", "tokenizer.ggml.normalizer.lowercase",
          "tokenizer.ggml.normalizer.strip_accents", "tokenizer.huggingface.scores",
          "tokenizer.ggml.cls_token_id"}) {
      erase_key(keys, k);
    }
    auto tok = load_keys(dir, keys);
    ASSERT_TRUE(tok.is_ok()) << name << ": " << tok.status().to_string();
    // The Hugging Face ids of the golden strings.
    auto oracle = json::parse(*read_file(gguf_case_source(name) + "/oracle.json"));
    const auto& o = oracle->as_object();
    const auto& strings = o.at("strings").as_array();
    for (size_t i = 0; i < strings.size(); ++i) {
      for (bool special : {false, true}) {
        auto got = tok->encode(std::string(strings[i].as_string()), special);
        ASSERT_TRUE(got.is_ok());
        const auto& want = o.at(special ? "with_special_tokens" : "without_special_tokens");
        EXPECT_EQ(*got, to_ids(want.as_array()[i])) << name << " string " << i;
      }
    }
  }
}

// Scores that float32 rounds can change which cut Viterbi takes: "▁ab" alone scores
// -2.00000011, "▁a" then "b" score -1.0000001 - 1.0 = -2.0000001, higher, so Hugging Face
// cuts "ab" in two. In float32, "▁ab" rounds to -2.0 and "▁a" to -1.00000012: "▁ab" would
// win. tokenizer.huggingface.scores keeps the float64 values.
TEST(GgufEncoderKeys, Float64ScoresKeepViterbisChoice) {
  const std::string json =
      R"({"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["\u2581a",-1.0000001],)"
      R"(["b",-1.0],["\u2581ab",-2.00000011],["\u2581",-5.0],["a",-5.0]]},)"
      R"("pre_tokenizer":{"type":"Metaspace","replacement":"\u2581","prepend_scheme":"always",)"
      R"("split":true},"decoder":{"type":"Metaspace","replacement":"\u2581",)"
      R"("prepend_scheme":"always","split":true},)"
      R"("added_tokens":[{"id":0,"content":"<unk>","special":true,"normalized":false}]})";
  const std::vector<int32_t> hugging_face = {1, 2};  // "▁a", "b"
  auto from = Tokenizer::from_json(json, "");
  ASSERT_TRUE(from.is_ok()) << from.status().to_string();
  ASSERT_EQ(*from->encode("ab", false), hugging_face);
  auto keys = gguf_tokenizer_metadata(json, "");
  ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
  ASSERT_NE(find_key(*keys, "tokenizer.huggingface.scores"), nullptr);
  EXPECT_EQ(find_key(*keys, "tokenizer.ggml.precompiled_charsmap"), nullptr);
  TempDir dir;
  auto tok = load_keys(dir, *keys);
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  EXPECT_EQ(*tok->encode("ab", false), hugging_face);
  // Without them (llama.cpp reads float32 scores only): the other cut.
  GgufMetadata rounded = *keys;
  erase_key(rounded, "tokenizer.huggingface.scores");
  auto tok32 = load_keys(dir, rounded);
  ASSERT_TRUE(tok32.is_ok()) << tok32.status().to_string();
  EXPECT_EQ(*tok32->encode("ab", false), std::vector<int32_t>{3});
}

TEST(GgufEncoderKeys, WriterRefusesWhatGgufCannotSay) {
  struct Case {
    std::string name;
    std::string pointer;  // JSON pointer into tokenizer.json
    boost::json::value value;
    std::string says;  // in the error message
  };
  const std::vector<Case> cases = {
      {"wordpiece-bert", "/normalizer/clean_text", false, "clean_text"},
      {"wordpiece-bert", "/normalizer/type", "NFC", "BertNormalizer"},
      {"wordpiece-bert", "/model/max_input_chars_per_word", 50, "max_input_chars_per_word"},
      {"wordpiece-bert", "/model/continuing_subword_prefix", "@@", "prefix"},
      {"wordpiece-bert", "/pre_tokenizer", boost::json::object{{"type", "Whitespace"}},
       "Whitespace"},
      {"wordpiece-bert", "/decoder/cleanup", false, "decoder"},
      {"unigram-xlmr", "/pre_tokenizer/prepend_scheme", "first", "first"},
      {"unigram-xlmr", "/decoder/prepend_scheme", "never", "decoder"},
      {"unigram-xlmr", "/normalizer/normalizers/1", boost::json::object{{"type", "Lowercase"}},
       "Lowercase"},
      {"unigram-xlmr", "/pre_tokenizer", boost::json::object{{"type", "Whitespace"}}, "Whitespace"},
  };
  for (const Case& c : cases) {
    boost::json::object json = tokenizer_json(c.name);
    boost::json::value root = json;
    boost::system::error_code ec;
    boost::json::value* target = root.find_pointer(c.pointer, ec);
    ASSERT_NE(target, nullptr) << c.name << " has no " << c.pointer;
    *target = c.value;
    auto keys = gguf_tokenizer_metadata(boost::json::serialize(root), config_json(c.name));
    ASSERT_FALSE(keys.is_ok()) << c.name << " " << c.pointer;
    EXPECT_EQ(keys.status().code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(keys.status().message().find(c.says), std::string::npos)
        << c.pointer << ": " << keys.status().message();
  }
}

TEST(GgufEncoderKeys, ReaderRefusesBrokenKeys) {
  TempDir dir;
  GgufMetadata bad_map = gguf_case("unigram-xlmr").keys;
  for (auto& [k, v] : bad_map) {
    if (k == "tokenizer.ggml.precompiled_charsmap") v = GgufValue::i32s({1, 2, 3});
  }
  auto refused = load_keys(dir, bad_map);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("precompiled_charsmap"), std::string::npos);
  GgufMetadata short_scores = gguf_case("unigram-xlmr").keys;
  erase_key(short_scores, "tokenizer.huggingface.scores");
  for (auto& [k, v] : short_scores) {
    if (k == "tokenizer.ggml.scores") v.array.pop_back();
  }
  refused = load_keys(dir, short_scores);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("tokenizer.ggml.scores"), std::string::npos);
  GgufMetadata no_sep = gguf_case("wordpiece-bert").keys;
  erase_key(no_sep, "tokenizer.ggml.seperator_token_id");
  erase_key(no_sep, "tokenizer.ggml.eos_token_id");
  // llama.cpp's default separator id (102) is a plain token of this vocabulary: it is used.
  auto defaulted = load_keys(dir, no_sep);
  ASSERT_TRUE(defaulted.is_ok()) << defaulted.status().to_string();
  EXPECT_EQ(defaulted->encode("a", true)->back(), 102);
}

}  // namespace
}  // namespace socle::engine::tokenizer
