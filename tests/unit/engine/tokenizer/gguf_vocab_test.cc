// GGUF tokenizers, both ways: each npm tokenizer is written to a vocabulary-only GGUF file
// from its tokenizer.json, read back, and checked against the ids and texts that
// @lenml/tokenizers computes from the tokenizer.json itself (npm_oracle.h).
#include "engine/tokenizer/gguf_vocab.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "base/json.h"
#include "engine/tokenizer/bpe.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"
#include "gguf_cases.h"
#include "npm_oracle.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine::tokenizer {
namespace {

using socle::engine::testing::TempDir;

DecodeOptions skip_special() {
  DecodeOptions o;
  o.skip_special_tokens = true;
  return o;
}

const GgufValue* find_key(const GgufMetadata& keys, std::string_view key) {
  for (const auto& [k, v] : keys) {
    if (k == key) return &v;
  }
  return nullptr;
}

void set_key(GgufMetadata& keys, std::string_view key, GgufValue value) {
  for (auto& [k, v] : keys) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  keys.emplace_back(std::string(key), std::move(value));
}

void erase_key(GgufMetadata& keys, std::string_view key) {
  std::erase_if(keys, [&](const auto& kv) { return kv.first == key; });
}

Result<Tokenizer> load_keys(const TempDir& dir, const GgufMetadata& keys) {
  std::string path = dir.file("t.gguf");
  SOCLE_RETURN_IF_ERROR(gguf_write_tokenizer(path, keys, "llama", "test"));
  return Tokenizer::load(path);
}

// A byte-level tokenizer with Llama 3's pipeline over a vocabulary of every byte and "ab".
std::string tiny_llama3_tokenizer() {
  std::string vocab;
  for (int b = 0; b < 256; ++b) {
    std::string t = byte_level_encode(std::string(1, static_cast<char>(b)));
    if (t == "\"" || t == "\\") t = "\\" + t;
    vocab += "\"" + t + "\":" + std::to_string(b) + ",";
  }
  return R"({"model":{"type":"BPE","ignore_merges":true,"vocab":{)" + vocab +
         R"("ab":256},"merges":["a b"]},"pre_tokenizer":{"type":"Sequence","pretokenizers":[)"
         R"({"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},)"
         R"({"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]},)"
         R"("decoder":{"type":"ByteLevel"},"added_tokens":[{"id":257,"content":"<|eot|>","special":true}]})";
}

// Its GGUF keys, with Llama 3's chat template and special tokens.
GgufMetadata tiny_keys() {
  auto keys = gguf_tokenizer_metadata(
      tiny_llama3_tokenizer(),
      R"({"bos_token":"<|eot|>","eos_token":"<|eot|>","chat_template":"{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"})");
  EXPECT_TRUE(keys.is_ok()) << keys.status().to_string();
  return keys.is_ok() ? std::move(keys).value() : GgufMetadata();
}

const Tokenizer& gguf_tokenizer(const std::string& name) {
  return *gguf_case(name).tokenizer;
}

class GgufRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufRoundTrip, IdsMatchTransformersJs) {
  const NpmOracle& o = npm_oracle();
  ASSERT_FALSE(o.strings.empty());
  const Tokenizer& tok = gguf_tokenizer(GetParam());
  const auto& expected = o.expected.at(GetParam()).as_object();
  int mismatches = 0;
  for (bool special : {false, true}) {
    const auto& want_all = expected.at(special ? "with_special" : "without_special").as_array();
    for (size_t i = 0; i < o.strings.size(); ++i) {
      auto got = tok.encode(o.strings[i], special);
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      std::vector<int32_t> want = to_ids(want_all[i]);
      if (*got != want && ++mismatches <= MAX_REPORTED_MISMATCHES) {
        ADD_FAILURE() << GetParam() << " string " << i << " (special " << special
                      << "): " << json::quoted(o.strings[i]) << "\n  want " << show(want)
                      << "\n  got  " << show(*got);
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST_P(GgufRoundTrip, DecodeMatchesTransformersJs) {
  const NpmOracle& o = npm_oracle();
  ASSERT_FALSE(o.strings.empty());
  const Tokenizer& tok = gguf_tokenizer(GetParam());
  const auto& expected = o.expected.at(GetParam()).as_object();
  int mismatches = 0;
  for (size_t i = 0; i < o.strings.size(); ++i) {
    std::string got = tok.decode(to_ids(expected.at("without_special").as_array()[i]));
    std::string want(expected.at("decoded").as_array()[i].as_string());
    std::string got_skip =
        tok.decode(to_ids(expected.at("with_special").as_array()[i]), skip_special());
    std::string want_skip(expected.at("decoded_skip_special").as_array()[i].as_string());
    if ((got != want || got_skip != want_skip) && ++mismatches <= MAX_REPORTED_MISMATCHES) {
      ADD_FAILURE() << GetParam() << " string " << i << "\n  want " << json::quoted(want) << " / "
                    << json::quoted(want_skip) << "\n  got  " << json::quoted(got) << " / "
                    << json::quoted(got_skip);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// Byte-level tokenizers lose nothing: decoding without clean-up gives the text back (in NFC
// for Qwen 3, whose normalizer composes characters), from the GGUF file as from tokenizer.json.
class GgufByteLevel : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufByteLevel, DecodeGivesTheTextBack) {
  const NpmOracle& o = npm_oracle();
  ASSERT_FALSE(o.strings.empty());
  const Tokenizer& tok = gguf_tokenizer(GetParam());
  DecodeOptions no_clean_up;
  no_clean_up.clean_up_tokenization_spaces = false;
  int mismatches = 0;
  for (const std::string& s : o.strings) {
    auto ids = tok.encode(s, false);
    ASSERT_TRUE(ids.is_ok());
    std::string want = GetParam() == "qwen3" ? unicode_normalize(s, NormalForm::NFC) : s;
    std::string got = tok.decode(*ids, no_clean_up);
    if (got != want && ++mismatches <= MAX_REPORTED_MISMATCHES) {
      ADD_FAILURE() << GetParam() << ": " << json::quoted(s) << " came back as "
                    << json::quoted(got);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// The keys llama.cpp reads, with the values its converter gives these models.
TEST_P(GgufRoundTrip, WritesLlamaCppKeys) {
  const GgufMetadata* keys = &gguf_case(GetParam()).keys;
  static const std::map<std::string, std::pair<std::string, std::string>> want = {
      {"llama3", {"gpt2", "llama-bpe"}}, {"qwen3", {"gpt2", "qwen2"}},
      {"gpt4o", {"gpt2", "gpt-4o"}},     {"deepseek_v3", {"gpt2", "deepseek-v3"}},
      {"llama2", {"llama", "default"}},  {"gemma3", {"llama", "default"}}};
  const auto& [model, pre] = want.at(GetParam());
  EXPECT_EQ(find_key(*keys, "tokenizer.ggml.model")->s, model);
  EXPECT_EQ(find_key(*keys, "tokenizer.ggml.pre")->s, pre);
  const GgufValue* tokens = find_key(*keys, "tokenizer.ggml.tokens");
  const GgufValue* types = find_key(*keys, "tokenizer.ggml.token_type");
  ASSERT_NE(tokens, nullptr);
  ASSERT_NE(types, nullptr);
  EXPECT_EQ(tokens->array.size(), types->array.size());
  EXPECT_EQ(tokens->array.size(), gguf_tokenizer(GetParam()).vocab_size());
  EXPECT_NE(find_key(*keys, "tokenizer.ggml.merges"), nullptr);
  EXPECT_EQ(find_key(*keys, "tokenizer.ggml.scores") != nullptr, model == "llama");
  EXPECT_NE(find_key(*keys, "tokenizer.ggml.add_bos_token"), nullptr);
  EXPECT_NE(find_key(*keys, "tokenizer.ggml.add_eos_token"), nullptr);
}

// Quick: the default run (one SentencePiece, one byte-level tokenizer); Full: the large ones,
// labelled slow (minutes under the sanitizers; see CMakeLists.txt).
INSTANTIATE_TEST_SUITE_P(Quick, GgufRoundTrip, ::testing::ValuesIn(GGUF_QUICK_CASES),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });
INSTANTIATE_TEST_SUITE_P(Full, GgufRoundTrip, ::testing::ValuesIn(GGUF_FULL_CASES),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });
// The byte-level ones (SentencePiece decoding drops the prefix space and is lossy).
INSTANTIATE_TEST_SUITE_P(Quick, GgufByteLevel, ::testing::Values("qwen3"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });
INSTANTIATE_TEST_SUITE_P(Full, GgufByteLevel, ::testing::Values("llama3", "gpt4o", "deepseek_v3"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST(GgufVocab, SpecificKeysOfKnownModels) {
  const GgufMetadata* llama2 = &gguf_case("llama2").keys;
  EXPECT_EQ(find_key(*llama2, "tokenizer.ggml.bos_token_id")->u, 1u);
  EXPECT_EQ(find_key(*llama2, "tokenizer.ggml.eos_token_id")->u, 2u);
  EXPECT_EQ(find_key(*llama2, "tokenizer.ggml.unknown_token_id")->u, 0u);
  EXPECT_TRUE(find_key(*llama2, "tokenizer.ggml.add_bos_token")->b);
  EXPECT_FALSE(find_key(*llama2, "tokenizer.ggml.add_eos_token")->b);
  EXPECT_TRUE(find_key(*llama2, "tokenizer.ggml.add_space_prefix")->b);
  const auto& types = find_key(*llama2, "tokenizer.ggml.token_type")->array;
  EXPECT_EQ(types[0].i, static_cast<int>(GgufTokenType::UNKNOWN));  // <unk>
  EXPECT_EQ(types[1].i, static_cast<int>(GgufTokenType::CONTROL));  // <s>
  EXPECT_EQ(types[3].i, static_cast<int>(GgufTokenType::BYTE));     // <0x00>
  EXPECT_EQ(types[300].i, static_cast<int>(GgufTokenType::NORMAL));
}

TEST(FullGgufVocab, SpecificKeysOfKnownModels) {
  const GgufMetadata* gemma3 = &gguf_case("gemma3").keys;
  EXPECT_FALSE(find_key(*gemma3, "tokenizer.ggml.add_space_prefix")->b);
  EXPECT_NE(find_key(*gemma3, "tokenizer.chat_template"), nullptr);

  // GPT-4o's ids 200000..200017 belong to no token: llama.cpp's "[PAD<id>]" of type UNUSED.
  const GgufMetadata* gpt4o = &gguf_case("gpt4o").keys;
  EXPECT_EQ(find_key(*gpt4o, "tokenizer.ggml.tokens")->array[200000].s, "[PAD200000]");
  EXPECT_EQ(find_key(*gpt4o, "tokenizer.ggml.token_type")->array[200000].i,
            static_cast<int>(GgufTokenType::UNUSED));
  EXPECT_EQ(gguf_tokenizer("gpt4o").id_to_token(200000), std::nullopt);
}

// Llama 3's config says clean_up_tokenization_spaces (true), as llama-bpe's default does.
TEST(FullGgufVocab, Llama3CleansUpSpaces) {
  const Tokenizer& tok = gguf_tokenizer("llama3");
  std::vector<int32_t> ids = *tok.encode("Hello , world .", false);
  EXPECT_EQ(tok.decode(ids), "Hello, world.");
}

TEST(GgufVocab, RefusesUnknownNamesNamingThem) {
  TempDir dir;
  GgufMetadata copy = tiny_keys();
  auto* keys = &copy;
  ASSERT_TRUE(load_keys(dir, *keys).is_ok());
  set_key(*keys, "tokenizer.ggml.pre", GgufValue::str("falcon"));
  auto tok = load_keys(dir, *keys);
  ASSERT_FALSE(tok.is_ok());
  EXPECT_NE(tok.status().message().find("'falcon'"), std::string::npos) << tok.status().message();
  EXPECT_NE(tok.status().message().find("llama-bpe"), std::string::npos);
  EXPECT_NE(tok.status().message().find("qwen2"), std::string::npos);

  erase_key(*keys, "tokenizer.ggml.pre");
  tok = load_keys(dir, *keys);
  ASSERT_FALSE(tok.is_ok());
  EXPECT_NE(tok.status().message().find("tokenizer.ggml.pre"), std::string::npos);

  set_key(*keys, "tokenizer.ggml.model", GgufValue::str("rwkv"));
  tok = load_keys(dir, *keys);
  ASSERT_FALSE(tok.is_ok());
  EXPECT_NE(tok.status().message().find("'rwkv'"), std::string::npos) << tok.status().message();
  EXPECT_NE(tok.status().message().find("'t5'"), std::string::npos) << tok.status().message();
}

TEST(GgufVocab, RefusesBrokenArrays) {
  TempDir dir;
  GgufMetadata tiny = tiny_keys();
  const GgufMetadata* keys = &tiny;
  ASSERT_TRUE(load_keys(dir, *keys).is_ok());
  GgufMetadata short_types = *keys;
  set_key(short_types, "tokenizer.ggml.token_type", GgufValue::i32s({1, 1, 1}));
  EXPECT_FALSE(load_keys(dir, short_types).is_ok());
  GgufMetadata bad_bos = *keys;
  set_key(bad_bos, "tokenizer.ggml.bos_token_id", GgufValue::u32(1u << 30));
  EXPECT_FALSE(load_keys(dir, bad_bos).is_ok());
  GgufMetadata bad_merge = *keys;
  set_key(bad_merge, "tokenizer.ggml.merges", GgufValue::strings({"nospace"}));
  EXPECT_FALSE(load_keys(dir, bad_merge).is_ok());
  GgufMetadata twice = *keys;
  for (auto& [k, v] : twice) {
    if (k == "tokenizer.ggml.tokens") v.array[5].s = v.array[6].s;
  }
  auto tok = load_keys(dir, twice);
  ASSERT_FALSE(tok.is_ok());
  EXPECT_NE(tok.status().message().find("twice"), std::string::npos) << tok.status().message();
}

// clean_up_tokenization_spaces goes into tokenizer.huggingface.clean_up_tokenization_spaces
// only where the config differs from the default of the model the pre-tokenizer stands for.
TEST(GgufVocab, CleanUpFlagOnlyWhereItDiffers) {
  const GgufMetadata* qwen3 = &gguf_case("qwen3").keys;
  EXPECT_EQ(find_key(*qwen3, "tokenizer.huggingface.clean_up_tokenization_spaces"), nullptr);
  TempDir dir;
  for (bool clean_up : {true, false}) {
    std::string config = std::string(R"({"eos_token":"<|eot|>","clean_up_tokenization_spaces":)") +
                         (clean_up ? "true" : "false") + "}";
    auto keys = gguf_tokenizer_metadata(tiny_llama3_tokenizer(), config);
    ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
    const GgufValue* flag = find_key(*keys, "tokenizer.huggingface.clean_up_tokenization_spaces");
    EXPECT_EQ(flag != nullptr, !clean_up);  // llama-bpe (Llama 3) cleans up by default
    EXPECT_EQ(find_key(*keys, "tokenizer.ggml.eos_token_id")->u, 257u);
    auto tok = load_keys(dir, *keys);
    ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
    std::vector<int32_t> ids = *tok->encode("ab , ab .<|eot|>", false);
    EXPECT_EQ(ids.back(), 257);
    EXPECT_EQ(tok->decode(ids, skip_special()), clean_up ? "ab, ab." : "ab , ab .");
  }
}

// A tokenizer.json that GGUF cannot carry exactly is refused when writing, with the reason.
TEST(GgufVocab, WriterRefusesWhatGgufCannotSay) {
  const std::string byte_level =
      R"({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]})";
  auto tokenizer = [](const std::string& pre, const std::string& added) {
    return R"({"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"<x>":3},"merges":["a b"]},)"
           R"("pre_tokenizer":)" +
           pre + R"(,"decoder":{"type":"ByteLevel"},"added_tokens":[)" + added + "]}";
  };
  auto unknown_pre = gguf_tokenizer_metadata(tokenizer(byte_level, ""), "");
  ASSERT_FALSE(unknown_pre.is_ok());
  EXPECT_NE(unknown_pre.status().message().find("llama-bpe"), std::string::npos);

  auto llama3_pre =
      R"({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]})";
  // Llama 3's pipeline, but without ignore_merges: no llama.cpp name says that.
  EXPECT_FALSE(gguf_tokenizer_metadata(tokenizer(llama3_pre, ""), "").is_ok());
  std::string with_ignore = tokenizer(llama3_pre, "");
  with_ignore.replace(with_ignore.find("\"vocab\""), 0, "\"ignore_merges\":true,");
  auto ok = gguf_tokenizer_metadata(with_ignore, "");
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(find_key(*ok, "tokenizer.ggml.pre")->s, "llama-bpe");

  std::string rstrip = with_ignore;
  rstrip.replace(rstrip.find("\"added_tokens\":[") + 16, 0,
                 R"({"id":3,"content":"<x>","special":true,"rstrip":true})");
  auto refused = gguf_tokenizer_metadata(rstrip, "");
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("<x>"), std::string::npos);
}

// Merges with equal ranks go leftmost first: how SentencePiece merges pieces of equal score.
TEST(GgufVocab, EqualRanksMergeLeftmostFirst) {
  Vocab vocab;
  int32_t id = 0;
  for (const char* t : {"a", "b", "c", "ab", "bc"})
    vocab.add(t, id++);
  std::vector<std::pair<std::string, std::string>> merges = {{"b", "c"}, {"a", "b"}};
  auto by_position = Bpe::create(vocab, merges, {});
  ASSERT_TRUE(by_position.is_ok());
  std::vector<int32_t> out;
  ASSERT_TRUE((*by_position)->encode({"abc"}, out).is_ok());
  EXPECT_EQ(out, (std::vector<int32_t>{0, 4}));  // "b c" ranks first
  std::vector<int32_t> ranks = {0, 0};
  auto tied = Bpe::create(vocab, merges, {}, ranks);
  ASSERT_TRUE(tied.is_ok());
  out.clear();
  ASSERT_TRUE((*tied)->encode({"abc"}, out).is_ok());
  EXPECT_EQ(out, (std::vector<int32_t>{3, 2}));  // the leftmost pair first
}

TEST(GgufVocab, LoadsTheOnlyGgufOfAFolder) {
  TempDir dir;
  GgufMetadata tiny = tiny_keys();
  const GgufMetadata* keys = &tiny;
  ASSERT_TRUE(gguf_write_tokenizer(dir.file("model.gguf"), *keys, "llama", "x").is_ok());
  auto one = Tokenizer::load(dir.path());
  ASSERT_TRUE(one.is_ok()) << one.status().to_string();
  EXPECT_EQ(*one->encode("ab<|eot|>", true), (std::vector<int32_t>{256, 257}));
  ASSERT_TRUE(gguf_write_tokenizer(dir.file("other.gguf"), *keys, "llama", "x").is_ok());
  auto two = Tokenizer::load(dir.path());
  ASSERT_FALSE(two.is_ok());
  EXPECT_NE(two.status().message().find("model.gguf, other.gguf"), std::string::npos)
      << two.status().message();
}

TEST(GgufVocab, ConfigForChatTemplates) {
  TempDir dir;
  ASSERT_TRUE(gguf_write_tokenizer(dir.file("t.gguf"), tiny_keys(), "llama", "t").is_ok());
  auto file = GgufFile::open(dir.file("t.gguf"));
  ASSERT_TRUE(file.is_ok());
  auto config = gguf_tokenizer_config(*file);
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->at("bos_token").as_string(), "<|eot|>");
  EXPECT_EQ(config->at("eos_token").as_string(), "<|eot|>");
  EXPECT_FALSE(config->contains("pad_token"));
  EXPECT_EQ(config->at("chat_template").as_string(),
            "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}");
}

TEST(GgufVocab, QwenConfigNamesItsSpecialTokens) {
  const GgufMetadata& keys = gguf_case("qwen3").keys;
  auto bytes = gguf_serialize(keys, {});
  ASSERT_TRUE(bytes.is_ok());
  auto file = GgufFile::parse(std::as_bytes(std::span(bytes->data(), bytes->size())), "qwen3");
  ASSERT_TRUE(file.is_ok());
  auto config = gguf_tokenizer_config(*file);
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->at("eos_token").as_string(), "<|im_end|>");
  EXPECT_EQ(config->at("pad_token").as_string(), "<|endoftext|>");
  EXPECT_FALSE(config->contains("bos_token"));  // Qwen has none
  EXPECT_NE(config->at("chat_template").as_string().find("<|im_start|>"), std::string::npos);
}

}  // namespace
}  // namespace socle::engine::tokenizer
