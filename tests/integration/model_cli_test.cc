// socle model info | logits | embed | score against the outputs transformers computed for the
// golden tiny models (../shared/golden), and how each command fails on bad input. The GGUF
// writers (convert, quantize) are tested in model_gguf_cli_test.cc.
#include "integration/model_cli.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cmath>
#include <string>
#include <vector>

namespace socle::testing {
namespace {

// The prompts of 1 and 33 tokens (llama3's 33-token prompt runs in model_gguf_cli_test.cc):
// each run starts the sanitizer build's binary, and the library test (unit_engine_models)
// runs all four prompts.
TEST(ModelCli, LogitsMatchTransformers) {
  TempDir dir;
  for (const std::string model : {"llama3", "qwen3"}) {
    auto ref = read_safetensors(golden(model) + "/ref.safetensors");
    for (int i : {0, 2}) {
      if (model == "llama3" && i == 2) continue;
      std::string k = "." + std::to_string(i);
      std::vector<int32_t> ids = ref["input_ids" + k].i32();
      std::vector<float> want = ref["logits" + k].f32();
      std::string summary;
      std::vector<float> got = logits_of(golden(model), ids, dir, &summary);
      double err = worst_row_error(got, want, GOLDEN_VOCAB);
      EXPECT_LT(err, GOLDEN_TOLERANCE) << model << " prompt " << i;
      expect_summary(summary, ids, want);
    }
  }
}

// Row 0 of the golden encoder inputs, without its padding.
std::vector<int32_t> unpadded_row0(std::map<std::string, Tensor>& ref) {
  std::vector<int32_t> ids = ref["input_ids"].i32();
  std::vector<int32_t> mask = ref["attention_mask"].i32();
  int64_t cols = ref["input_ids"].shape[1];
  std::vector<int32_t> row;
  for (int64_t i = 0; i < cols; ++i) {
    if (mask[static_cast<size_t>(i)] == 1) row.push_back(ids[static_cast<size_t>(i)]);
  }
  return row;
}

std::vector<float> json_floats(const std::string& text) {
  std::vector<float> v;
  boost::json::value parsed = boost::json::parse(text);
  for (const auto& x : parsed.as_array())
    v.push_back(static_cast<float>(x.to_number<double>()));
  return v;
}

TEST(ModelCli, EmbedMatchesTransformersPooling) {
  TempDir dir;
  auto ref = read_safetensors(golden("bert") + "/ref.safetensors");
  std::vector<int32_t> ids = unpadded_row0(ref);
  ASSERT_EQ(ids.size(), 7u);
  for (const std::string pooling : {"mean", "cls"}) {
    std::vector<float> want = ref[pooling].f32();
    want.resize(GOLDEN_HIDDEN);  // row 0
    CliRun r = socle_model(
        {"embed", "--model", golden("bert"), "--tokens", id_list(ids), "--pooling", pooling});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<float> got = json_floats(r.out);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_LT(relative_error(got.data(), want.data(), want.size()), GOLDEN_TOLERANCE) << pooling;
  }
  // With no sentence-transformers settings, the default is said out loud.
  CliRun r = socle_model({"embed", "--model", golden("bert"), "--tokens", id_list(ids),
                          "--normalize", "--out", dir.path() + "/e.safetensors"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("using mean pooling"), std::string::npos) << r.err;
  auto written = read_safetensors(dir.path() + "/e.safetensors");
  std::vector<float> got = written["embedding"].f32();
  EXPECT_EQ(written["embedding"].shape, (std::vector<int64_t>{GOLDEN_HIDDEN}));
  std::vector<float> want = ref["mean"].f32();
  want.resize(GOLDEN_HIDDEN);
  double norm = 0;
  for (float x : want)
    norm += static_cast<double>(x) * x;
  for (float& x : want)
    x = static_cast<float>(x / std::sqrt(norm));
  EXPECT_LT(relative_error(got.data(), want.data(), want.size()), GOLDEN_TOLERANCE);
}

TEST(ModelCli, ScoreMatchesTheRerankersLogits) {
  auto ref = read_safetensors(golden("bert-reranker") + "/ref.safetensors");
  std::vector<float> want = ref["logits"].f32();
  std::vector<int32_t> ids = unpadded_row0(ref);
  CliRun r = socle_model({"score", "--model", golden("bert-reranker"), "--tokens", id_list(ids)});
  ASSERT_EQ(r.code, 0) << r.err;
  float got = std::stof(r.out);
  EXPECT_LT(std::fabs(got - want[0]) / std::fabs(want[0]), GOLDEN_TOLERANCE)
      << got << " vs " << want[0];
}

TEST(ModelCli, InfoReportsTheConfigAndCountsEveryParameter) {
  for (const std::string model : {"llama3", "qwen3", "bert"}) {
    auto config = boost::json::parse(read_text_file(golden(model) + "/config.json")).as_object();
    // The parameter count, independently: every element of every tensor in the file.
    int64_t parameters = 0;
    uint64_t bytes = 0;
    auto weights = read_safetensors(golden(model) + "/model.safetensors");
    for (const auto& [name, t] : weights) {
      parameters += t.numel();
      bytes += t.bytes.size();
    }
    CliRun r = socle_model({"info", golden(model), "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto info = boost::json::parse(r.out).as_object();
    EXPECT_EQ(info["format"], "huggingface");
    EXPECT_EQ(info["layers"], config["num_hidden_layers"]) << model;
    EXPECT_EQ(info["hidden_size"].as_int64(), GOLDEN_HIDDEN) << model;
    EXPECT_EQ(info["vocab_size"].as_int64(), GOLDEN_VOCAB) << model;
    EXPECT_EQ(info["heads"], config["num_attention_heads"]) << model;
    EXPECT_EQ(info["intermediate_size"], config["intermediate_size"]) << model;
    EXPECT_EQ(info["context_length"], config["max_position_embeddings"]) << model;
    EXPECT_EQ(info["parameters"].as_int64(), parameters) << model;
    EXPECT_EQ(info["weight_bytes"].to_number<uint64_t>(), bytes) << model;
    EXPECT_EQ(info["weight_types"].at("F32").at("tensors").as_int64(),
              static_cast<int64_t>(weights.size()))
        << model;
    if (model == "bert") {
      EXPECT_TRUE(info["kv_cache_bytes_per_1k_tokens"].is_null());
      continue;
    }
    EXPECT_EQ(info["kv_heads"], config["num_key_value_heads"]) << model;
    EXPECT_EQ(info["head_dim"], config["head_dim"]) << model;
    const auto& rope = config["rope_parameters"].as_object();
    EXPECT_EQ(info["rope"].at("theta").to_number<double>(),
              rope.at("rope_theta").to_number<double>());
    EXPECT_EQ(info["rope"].at("type"), rope.at("rope_type"));
    // keys and values, float32, per layer, per kv head, per head dimension, 1024 positions
    int64_t kv = 2 * 4 * 1024 * config["num_hidden_layers"].as_int64() *
                 config["num_key_value_heads"].as_int64() * config["head_dim"].as_int64();
    EXPECT_EQ(info["kv_cache_bytes_per_1k_tokens"].to_number<int64_t>(), kv) << model;
    if (model == "llama3") {
      EXPECT_EQ(parameters, LLAMA3_PARAMETERS);
    }
  }
  // The text form names the same numbers.
  CliRun r = socle_model({"info", golden("llama3")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("parameters      195008"), std::string::npos) << r.out;
}

// Each failure: a non-zero status (2 for usage, 1 for a runtime failure) and one line on
// stderr that says what to fix.
TEST(ModelCli, BadInputFailsWithOneClearLine) {
  TempDir dir;
  std::string llama = golden("llama3");
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"info", dir.path() + "/missing"}, 1, "does not exist"},
      {{"info", golden("tokenizers")}, 2, "is not a model"},
      {{"logits", "--model", llama, "--tokens", "1,512"},
       2,
       "token id 512 at position 1 is outside the model's 512"},
      {{"logits", "--model", golden("bert"), "--tokens", "1"}, 2, "not a llama-family"},
      {{"embed", "--model", llama, "--tokens", "1"}, 2, "not a bert-family encoder"},
      {{"score", "--model", golden("bert"), "--tokens", "1"}, 2, "without a classification head"},
      {{"convert", "--from", llama, "--to", dir.path() + "/x.gguf", "--type", "q3"},
       2,
       "'q3' is not a weight type"},
      {{"quantize", "--from", llama, "--to", dir.path() + "/x.gguf", "--type", "q8_0"},
       2,
       "quantize reads a GGUF file"},
  };
  for (const Case& c : cases) {
    std::string what;
    for (const std::string& a : c.args)
      what += a + " ";
    CliRun r = socle_model(c.args);
    EXPECT_EQ(r.code, c.code) << what << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << what << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << r.err;
    EXPECT_EQ(r.err.rfind("socle model ", 0), 0u) << what << r.err;
  }
}

}  // namespace
}  // namespace socle::testing
