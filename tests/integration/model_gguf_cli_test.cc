// socle model convert | quantize: the GGUF files they write run as the Hugging Face folder
// does (within the float32 and 8-bit activation bounds), hold the types the fallback rule
// gives, and match converting straight to a type byte for byte. The engine's GGUF reader is
// used only to look at the types and bytes a written file holds.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/format/gguf.h"
#include "engine/tokenizer/gguf_pre_tokenizers.h"
#include "integration/model_cli.h"

namespace socle::testing {
namespace {

TEST(ModelGgufCli, ConvertedAndQuantisedFilesRunAsTheFolderDoes) {
  TempDir dir;
  std::string f32 = dir.path() + "/f32.gguf";
  std::string q8 = dir.path() + "/q8_0.gguf";
  std::string q8_wide = dir.path() + "/q8_0-as-f32.gguf";
  std::string q4k = dir.path() + "/q4_k.gguf";
  std::string direct_q8 = dir.path() + "/direct-q8_0.gguf";
  auto ref = read_safetensors(golden("llama3") + "/ref.safetensors");
  std::vector<int32_t> ids = ref["input_ids.2"].i32();

  std::string summary;
  std::vector<float> folder = logits_of(golden("llama3"), ids, dir, &summary);
  std::vector<float> want = ref["logits.2"].f32();
  EXPECT_LT(worst_row_error(folder, want, GOLDEN_VOCAB), GOLDEN_TOLERANCE);
  expect_summary(summary, ids, want);

  CliRun r = socle_model({"convert", "--from", golden("llama3"), "--to", f32, "--type", "f32"});
  ASSERT_EQ(r.code, 0) << r.err;
  double err = worst_row_error(logits_of(f32, ids, dir), folder, GOLDEN_VOCAB);
  EXPECT_LT(err, GGUF_F32_TOLERANCE);
  // The converted file holds the folder's parameters (rope_freqs.weight, a constant derived
  // from the config, is not one); the count is checked against the safetensors header in
  // InfoReportsTheConfigAndCountsEveryParameter.
  r = socle_model({"info", f32, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto info = boost::json::parse(r.out).as_object();
  EXPECT_EQ(info["format"], "gguf");
  EXPECT_EQ(info["parameters"].as_int64(), LLAMA3_PARAMETERS);
  EXPECT_EQ(info["layers"].as_int64(), 3);
  EXPECT_EQ(info["head_dim"].as_int64(), 16);
  EXPECT_EQ(info["rope"].at("rope_freqs_tensor"), true);

  r = socle_model({"quantize", "--from", f32, "--to", q8, "--type", "q8_0"});
  ASSERT_EQ(r.code, 0) << r.err;
  // Widening the Q8_0 matrices back to F32 gives the same weights dequantised: the quantised
  // path against it differs only by its 8-bit activations, as in the engine's own test.
  r = socle_model({"quantize", "--from", q8, "--to", q8_wide, "--type", "f32"});
  ASSERT_EQ(r.code, 0) << r.err;
  err = worst_row_error(logits_of(q8, ids, dir), logits_of(q8_wide, ids, dir), GOLDEN_VOCAB);
  std::printf(
      "llama3 quantized Q8_0: max relative error per row %.3g vs its weights "
      "dequantised\n",
      err);
  EXPECT_LT(err, QUANT_ACTIVATION_TOLERANCE);

  // Quantising the f32 file stores every matrix as converting straight to Q8_0 does, byte
  // for byte; vectors stay F32.
  r = socle_model({"convert", "--from", golden("llama3"), "--to", direct_q8, "--type", "q8_0"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto requantised = engine::GgufFile::open(q8);
  auto direct = engine::GgufFile::open(direct_q8);
  ASSERT_TRUE(requantised.is_ok() && direct.is_ok());
  ASSERT_EQ(requantised->tensors().size(), direct->tensors().size());
  for (const engine::GgufTensor& t : direct->tensors()) {
    const engine::GgufTensor* u = requantised->find(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    EXPECT_EQ(u->type, t.dims.size() == 2 ? engine::DType::Q8_0 : engine::DType::F32) << t.name;
    EXPECT_EQ(u->type, t.type) << t.name;
    EXPECT_EQ(u->dims, t.dims) << t.name;
    ASSERT_EQ(u->nbytes, t.nbytes) << t.name;
    EXPECT_EQ(std::memcmp(u->data, t.data, t.nbytes), 0) << t.name;
  }
  EXPECT_EQ(requantised->value("general.file_type")->u, 7u);  // LLAMA_FTYPE_MOSTLY_Q8_0

  // A quantised matrix is quantised again only when asked to (--allow-requantize: two
  // roundings).
  std::string q4 = dir.path() + "/q4_0.gguf";
  r = socle_model({"quantize", "--from", q8, "--to", q4, "--type", "q4_0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("is already Q8_0"), std::string::npos) << r.err;

  // Rows of 64 and 160 values fit no 256-value K-quant block: Q4_K falls back to Q8_0, as
  // llama.cpp does.
  r = socle_model({"quantize", "--from", f32, "--to", q4k, "--type", "q4_k"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto k = engine::GgufFile::open(q4k);
  ASSERT_TRUE(k.is_ok());
  EXPECT_EQ(k->find("blk.0.ffn_down.weight")->type, engine::DType::Q8_0);
  EXPECT_EQ(k->find("output_norm.weight")->type, engine::DType::F32);
}

// Values in [-1, 1) from a fixed linear congruential sequence (the test's own, so that
// nothing depends on a library's generator).
std::vector<float> uniform_values(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (float& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
  }
  return v;
}

// 4-bit values with a scale and a minimum per 32: the step is at most 2/15 on values in
// [-1, 1], so the rounding error's RMS is at most (2/15)/sqrt(12) = 0.038 against the values'
// RMS of 1/sqrt(3) = 0.58, i.e. 6.7% (5.7% is measured: the scale search gains more than the
// scales' own 6-bit rounding loses); a wrong block layout gives errors of order 100%.
constexpr double Q4_K_UNIFORM_TOLERANCE = 0.067;

// Rows of 256 values take Q4_K itself; rows of 96 fall back to Q8_0 and rows of 40 to F16;
// a vector is copied as it was.
TEST(ModelGgufCli, QuantizeFollowsTheFallbackRule) {
  TempDir dir;
  std::string in = dir.path() + "/in.gguf";
  std::string out = dir.path() + "/out.gguf";
  struct Spec {
    const char* name;
    int64_t cols;
    int64_t rows;
    engine::DType want;
  };
  const Spec specs[] = {{"k_rows", 256, 3, engine::DType::Q4_K},
                        {"q8_rows", 96, 2, engine::DType::Q8_0},
                        {"f16_rows", 40, 2, engine::DType::F16},
                        {"vector", 256, 1, engine::DType::F32}};
  std::vector<std::vector<float>> values;
  std::vector<engine::GgufTensorData> tensors;
  for (const Spec& sp : specs) {
    values.push_back(uniform_values(static_cast<size_t>(sp.cols * sp.rows),
                                    static_cast<uint32_t>(values.size() + 1)));
    std::vector<int64_t> dims = {sp.cols};
    if (std::string(sp.name) != "vector") dims.push_back(sp.rows);
    tensors.push_back({sp.name,
                       engine::DType::F32,
                       dims,
                       {reinterpret_cast<const char*>(values.back().data()),
                        values.back().size() * sizeof(float)}});
  }
  ASSERT_TRUE(
      engine::gguf_write(in, {{"general.architecture", engine::GgufValue::str("test")}}, tensors)
          .is_ok());
  CliRun r = socle_model({"quantize", "--from", in, "--to", out, "--type", "q4_k"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto file = engine::GgufFile::open(out);
  ASSERT_TRUE(file.is_ok());
  EXPECT_EQ(file->value("general.architecture")->s, "test");
  EXPECT_EQ(file->value("general.file_type")->u, 15u);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  for (size_t i = 0; i < std::size(specs); ++i) {
    const engine::GgufTensor* t = file->find(specs[i].name);
    ASSERT_NE(t, nullptr) << specs[i].name;
    EXPECT_EQ(t->type, specs[i].want) << specs[i].name;
  }
  const engine::GgufTensor* vec = file->find("vector");
  ASSERT_EQ(vec->nbytes, values[3].size() * sizeof(float));
  EXPECT_EQ(std::memcmp(vec->data, values[3].data(), vec->nbytes), 0);
  // The Q4_K blocks hold the values within 4-bit rounding: d * sc * q - dmin * m per
  // sub-block, decoded here from the block layout (ggml's get_scale_min_k4 packing).
  const engine::GgufTensor* k = file->find("k_rows");
  std::vector<float> decoded;
  const auto* bytes = reinterpret_cast<const uint8_t*>(k->data);
  constexpr size_t BLOCK_BYTES = 144;
  for (size_t b = 0; b < k->nbytes / BLOCK_BYTES; ++b) {
    const uint8_t* blk = bytes + b * BLOCK_BYTES;
    auto half = [](const uint8_t* p) {
      uint16_t h = static_cast<uint16_t>(p[0] | (p[1] << 8));
      int exp = (h >> 10) & 31;
      int mant = h & 1023;
      double v = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
      return (h & 0x8000) != 0 ? -v : v;
    };
    double d = half(blk);
    double dmin = half(blk + 2);
    const uint8_t* sc = blk + 4;
    const uint8_t* qs = blk + 16;
    for (int j = 0; j < 8; ++j) {
      int scale = j < 4 ? sc[j] & 63 : (sc[j + 4] & 15) | ((sc[j - 4] >> 6) << 4);
      int min = j < 4 ? sc[j + 4] & 63 : (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
      for (int l = 0; l < 32; ++l) {
        int q = (qs[(j / 2) * 32 + l] >> (4 * (j % 2))) & 15;
        decoded.push_back(static_cast<float>(d * scale * q - dmin * min));
      }
    }
  }
  ASSERT_EQ(decoded.size(), values[0].size());
  double err = relative_error(decoded.data(), values[0].data(), decoded.size());
  std::printf("Q4_K on uniform values: relative error %.3g\n", err);
  EXPECT_LT(err, Q4_K_UNIFORM_TOLERANCE);
}

// A byte-level BPE tokenizer.json of exactly the golden models' 512 entries, in Llama 3's
// pipeline: the 256 bytes as GPT-2 writes them (printable ones as themselves, the rest shifted
// past U+0100), then the 256 merges of two letters among a..p.
std::string tokenizer_of_512() {
  std::vector<std::string> byte_text(256);
  int shifted = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    int cp = printable ? b : 256 + shifted++;
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    byte_text[static_cast<size_t>(b)] = s;
  }
  boost::json::object vocab;
  for (int b = 0; b < 256; ++b)
    vocab[byte_text[static_cast<size_t>(b)]] = b;
  boost::json::array merges;
  int id = 256;
  for (char a = 'a'; a <= 'p'; ++a) {
    for (char c = 'a'; c <= 'p'; ++c) {
      vocab[std::string{a, c}] = id++;
      merges.emplace_back(std::string{a} + " " + std::string{c});
    }
  }
  // Llama 3's pipeline (normalizer, pre-tokenizer, decoder), one that GGUF names.
  const engine::tokenizer::GgufPipeline* llama3 =
      engine::tokenizer::gguf_pipeline_by_pre("llama-bpe");
  auto component = [](std::string_view json) {
    return json.empty() ? boost::json::value(nullptr) : boost::json::parse(json);
  };
  boost::json::object model{{"type", "BPE"},
                            {"vocab", vocab},
                            {"merges", merges},
                            {"ignore_merges", llama3->ignore_merges}};
  boost::json::object tok{{"version", "1.0"},
                          {"normalizer", component(llama3->normalizer)},
                          {"pre_tokenizer", component(llama3->pre_tokenizer)},
                          {"model", model},
                          {"post_processor", nullptr},
                          {"decoder", component(llama3->decoder)},
                          {"added_tokens", boost::json::array{}}};
  return boost::json::serialize(tok);
}

// convert puts the folder's tokenizer.json into the file (llama.cpp loads a model only with
// one), refuses one that does not fit the model, and leaves it out on request.
TEST(ModelGgufCli, ConvertCarriesTheFoldersTokenizer) {
  TempDir dir;
  std::string folder = dir.path() + "/llama3";
  std::filesystem::create_directories(folder);
  for (const char* f : {"config.json", "model.safetensors"})
    std::filesystem::copy_file(golden("llama3") + "/" + f, folder + "/" + f);
  std::ofstream(folder + "/tokenizer.json") << tokenizer_of_512();
  std::string out = dir.path() + "/with.gguf";
  CliRun r = socle_model({"convert", "--from", folder, "--to", out, "--type", "f32"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("with the folder's tokenizer"), std::string::npos) << r.out;
  // The file tokenizes as the tokenizer.json does: "ab" is one merge, "az" two bytes.
  std::string cmd = shell_quote(SOCLE_BINARY) + " tokenize --tokenizer " + shell_quote(out) +
                    " --text 'ab az' 2>&1";
  std::string printed;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, p) != nullptr)
      printed += buf;
    EXPECT_EQ(pclose(p), 0) << printed;
  }
  // "ab" = 256 + 0*16 + 1; the space byte is shifted to U+0120, id 32; then a (97) z (122).
  EXPECT_EQ(printed, "[257,32,97,122]\n");

  std::filesystem::copy_file(golden("tokenizers") + "/wordpiece-bert/tokenizer.json",
                             folder + "/tokenizer.json",
                             std::filesystem::copy_options::overwrite_existing);
  r = socle_model({"convert", "--from", folder, "--to", dir.path() + "/bad.gguf", "--type", "f32"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("vocab_size is 512"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--no-tokenizer"), std::string::npos) << r.err;
  r = socle_model({"convert", "--from", folder, "--to", dir.path() + "/without.gguf", "--type",
                   "f32", "--no-tokenizer"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("no tokenizer"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace socle::testing
