// bert-family models in GGUF: the golden folders converted by bert_convert_to_gguf and read
// back by BertModel::load give the folder's hidden states and scores (bitwise in F32: the same
// weights through the same kernels), and transformers' within the golden bound; Q8_0 within a
// stated bound; the metadata is what llama.cpp reads; wrong files are refused with their
// reason.
#include "engine/models/bert_gguf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/format/gguf.h"
#include "engine/models/bert.h"
#include "engine/models/llama_gguf.h"
#include "unit/engine/golden.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine {
namespace {

constexpr int64_t GOLDEN_ROWS = 3;
constexpr int64_t GOLDEN_ROW_LENGTH = 64;
constexpr double GOLDEN_TOLERANCE = 1e-4;
// Q8_0 stores each weight with an error of at most half a step of its block's scale
// (max |w| / 127 over 32 values): about 0.4% of the block's largest weight, and the
// activations are quantised the same way. Over two layers of 64-wide matmuls and LayerNorms
// the relative error of a hidden state measured 2-4e-3; the bound leaves room, and stays far
// below what a misplaced tensor gives (errors of order 1).
constexpr double Q8_0_TOLERANCE = 2e-2;
// A reranker's score is one dot product of the pooled state with the head's row, whose terms
// cancel (the golden scores are 0.04 to 0.66 from terms of order 1): the hidden states' error
// comes out about twice as large relative to the scores (measured 4.0e-2).
constexpr double Q8_0_SCORE_TOLERANCE = 6e-2;

struct GoldenRows {
  std::vector<int32_t> ids;
  std::vector<int64_t> lengths;
};

GoldenRows golden_rows(const std::string& model) {
  auto ref = SafetensorsFile::open(testing::golden_dir(model) + "/ref.safetensors");
  EXPECT_TRUE(ref.is_ok());
  GoldenRows rows;
  rows.ids = testing::tensor_i32(*ref, "input_ids");
  auto mask = testing::tensor_i32(*ref, "attention_mask");
  for (int64_t b = 0; b < GOLDEN_ROWS; ++b) {
    auto begin = mask.begin() + b * GOLDEN_ROW_LENGTH;
    rows.lengths.push_back(std::find(begin, begin + GOLDEN_ROW_LENGTH, 0) - begin);
  }
  return rows;
}

std::span<const int32_t> row(const GoldenRows& rows, int64_t b) {
  return {rows.ids.data() + b * GOLDEN_ROW_LENGTH, static_cast<size_t>(rows.lengths[b])};
}

class BertGguf : public ::testing::TestWithParam<const char*> {};

TEST_P(BertGguf, F32FileGivesTheFoldersHiddenStatesBitwise) {
  std::string golden = testing::golden_dir(GetParam());
  testing::TempDir dir;
  std::string file = dir.file("model.gguf");
  ASSERT_TRUE(bert_convert_to_gguf(golden, file, DType::F32).is_ok());
  auto folder = BertModel::load(golden);
  auto gguf = BertModel::load(file);
  ASSERT_TRUE(folder.is_ok()) << folder.status().to_string();
  ASSERT_TRUE(gguf.is_ok()) << gguf.status().to_string();
  EXPECT_EQ(gguf->config().family, ModelFamily::BERT);
  EXPECT_EQ(gguf->config().hidden_size, folder->config().hidden_size);
  EXPECT_EQ(gguf->config().vocab_size, folder->config().vocab_size);
  GoldenRows rows = golden_rows(GetParam());
  for (int64_t b = 0; b < GOLDEN_ROWS; ++b) {
    std::vector<float> want;
    std::vector<float> got;
    ASSERT_TRUE(folder->encode(row(rows, b), {}, &want).is_ok());
    ASSERT_TRUE(gguf->encode(row(rows, b), {}, &got).is_ok());
    EXPECT_EQ(got, want) << "row " << b;
    if (folder->config().head != ModelHead::ENCODER) {
      ASSERT_TRUE(folder->classify(row(rows, b), {}, &want).is_ok());
      ASSERT_TRUE(gguf->classify(row(rows, b), {}, &got).is_ok());
      EXPECT_EQ(got, want) << "row " << b;
    }
  }
}

TEST_P(BertGguf, Q8_0FileStaysWithinItsBoundOfTransformers) {
  std::string golden = testing::golden_dir(GetParam());
  testing::TempDir dir;
  std::string file = dir.file("model.gguf");
  ASSERT_TRUE(bert_convert_to_gguf(golden, file, DType::Q8_0).is_ok());
  auto gguf = BertModel::load(file);
  ASSERT_TRUE(gguf.is_ok()) << gguf.status().to_string();
  auto ref = SafetensorsFile::open(golden + "/ref.safetensors");
  ASSERT_TRUE(ref.is_ok());
  GoldenRows rows = golden_rows(GetParam());
  double worst = 0;
  if (gguf->config().head == ModelHead::ENCODER) {
    auto want = testing::tensor_f32(*ref, "last_hidden_state");
    int64_t dim = gguf->config().hidden_size;
    for (int64_t b = 0; b < GOLDEN_ROWS; ++b) {
      std::vector<float> got;
      ASSERT_TRUE(gguf->encode(row(rows, b), {}, &got).is_ok());
      for (int64_t t = 0; t < rows.lengths[b]; ++t) {
        double err = testing::relative_error(
            std::span<const float>(got.data() + t * dim, static_cast<size_t>(dim)),
            std::span<const float>(want.data() + (b * GOLDEN_ROW_LENGTH + t) * dim,
                                   static_cast<size_t>(dim)));
        worst = std::max(worst, err);
      }
    }
  } else {
    // One score per row: the error of the rows' scores as a vector (a single score near 0
    // has no meaningful relative error).
    auto want = testing::tensor_f32(*ref, "logits");
    std::vector<float> got_all;
    for (int64_t b = 0; b < GOLDEN_ROWS; ++b) {
      std::vector<float> got;
      ASSERT_TRUE(gguf->classify(row(rows, b), {}, &got).is_ok());
      got_all.insert(got_all.end(), got.begin(), got.end());
    }
    ASSERT_EQ(got_all.size(), want.size());
    worst = testing::relative_error(got_all, want);
  }
  std::printf("%s Q8_0: max relative error against transformers %.3g\n", GetParam(), worst);
  EXPECT_LT(worst,
            gguf->config().head == ModelHead::ENCODER ? Q8_0_TOLERANCE : Q8_0_SCORE_TOLERANCE);
  EXPECT_GT(worst, 0.0) << "a quantised file that equals float32 exactly is suspicious";
}

INSTANTIATE_TEST_SUITE_P(Golden, BertGguf,
                         ::testing::Values("bert", "xlm-roberta", "bert-reranker"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(BertGguf, F32FileMatchesTransformersWithinTheGoldenBound) {
  // xlm-roberta's positions move (its first pad_token_id + 1 rows are cut): the file's
  // position t must be the folder's pad_token_id + 1 + t, as transformers counted them.
  std::string golden = testing::golden_dir("xlm-roberta");
  testing::TempDir dir;
  ASSERT_TRUE(bert_convert_to_gguf(golden, dir.file("x.gguf"), DType::F32).is_ok());
  auto gguf = BertModel::load(dir.file("x.gguf"));
  ASSERT_TRUE(gguf.is_ok());
  auto ref = SafetensorsFile::open(golden + "/ref.safetensors");
  ASSERT_TRUE(ref.is_ok());
  auto want = testing::tensor_f32(*ref, "last_hidden_state");
  GoldenRows rows = golden_rows("xlm-roberta");
  int64_t dim = gguf->config().hidden_size;
  for (int64_t b = 0; b < GOLDEN_ROWS; ++b) {
    std::vector<float> got;
    ASSERT_TRUE(gguf->encode(row(rows, b), {}, &got).is_ok());
    for (int64_t t = 0; t < rows.lengths[b]; ++t) {
      EXPECT_LT(testing::relative_error(
                    std::span<const float>(got.data() + t * dim, static_cast<size_t>(dim)),
                    std::span<const float>(want.data() + (b * GOLDEN_ROW_LENGTH + t) * dim,
                                           static_cast<size_t>(dim))),
                GOLDEN_TOLERANCE)
          << "row " << b << " position " << t;
    }
  }
}

TEST(BertGguf, WritesWhatLlamaCppReads) {
  testing::TempDir dir;
  ASSERT_TRUE(
      bert_convert_to_gguf(testing::golden_dir("xlm-roberta"), dir.file("x.gguf"), DType::F32)
          .is_ok());
  ASSERT_TRUE(
      bert_convert_to_gguf(testing::golden_dir("bert-reranker"), dir.file("r.gguf"), DType::F32)
          .is_ok());
  auto x = GgufFile::open(dir.file("x.gguf"));
  auto r = GgufFile::open(dir.file("r.gguf"));
  ASSERT_TRUE(x.is_ok() && r.is_ok());
  EXPECT_EQ(x->value("general.architecture")->s, "bert");
  EXPECT_EQ(*x->value("bert.context_length")->as_count(), 128u);  // 130 positions less 2
  EXPECT_EQ(x->find("position_embd.weight")->dims[1], 128);
  EXPECT_FALSE(x->value("bert.attention.causal")->b);
  EXPECT_EQ(*x->value("bert.pooling_type")->as_count(), static_cast<uint64_t>(GgufPooling::MEAN));
  EXPECT_EQ(*x->value("tokenizer.ggml.token_type_count")->as_count(), 1u);
  EXPECT_EQ(x->find("cls.weight"), nullptr);  // an encoder keeps no pooler
  EXPECT_EQ(*r->value("bert.pooling_type")->as_count(), static_cast<uint64_t>(GgufPooling::RANK));
  EXPECT_NE(r->find("cls.weight"), nullptr);
  EXPECT_NE(r->find("cls.output.weight"), nullptr);
  EXPECT_NE(r->find("blk.1.layer_output_norm.bias"), nullptr);
  auto settings = bert_embedding_settings(dir.file("x.gguf"));
  ASSERT_TRUE(settings.is_ok());
  ASSERT_TRUE(settings->has_value());
  EXPECT_EQ((*settings)->pooling, Pooling::MEAN);
  EXPECT_TRUE((*settings)->normalize);
}

TEST(BertGguf, NamesMapBothWays) {
  HfConfig encoder;
  encoder.head = ModelHead::ENCODER;
  HfConfig xlmr;
  xlmr.head = ModelHead::XLM_ROBERTA_CLASSIFIER;
  EXPECT_EQ(bert_gguf_name("bert.encoder.layer.3.attention.self.query.weight", encoder),
            "blk.3.attn_q.weight");
  EXPECT_EQ(bert_gguf_name("roberta.embeddings.LayerNorm.bias", xlmr), "token_embd_norm.bias");
  EXPECT_EQ(bert_gguf_name("classifier.out_proj.weight", xlmr), "cls.output.weight");
  EXPECT_EQ(bert_gguf_name("pooler.dense.weight", encoder), std::nullopt);
  EXPECT_EQ(bert_gguf_name("encoder.layer.x.output.dense.weight", encoder), std::nullopt);
  EXPECT_EQ(bert_hf_name("blk.11.layer_output_norm.weight"),
            "encoder.layer.11.output.LayerNorm.weight");
  EXPECT_EQ(bert_hf_name("cls.output.bias"), "classifier.bias");
  EXPECT_EQ(bert_hf_name("output_norm.weight"), std::nullopt);
}

TEST(BertGguf, RefusesWhatItCannotRead) {
  testing::TempDir dir;
  // A decoder is not a bert file.
  ASSERT_TRUE(
      llama_convert_to_gguf(testing::golden_dir("llama3"), dir.file("l.gguf"), DType::F32).is_ok());
  auto decoder = BertModel::load(dir.file("l.gguf"));
  ASSERT_FALSE(decoder.is_ok());
  EXPECT_NE(decoder.status().message().find("'llama' is not bert"), std::string::npos)
      << decoder.status().message();
  EXPECT_FALSE(
      bert_convert_to_gguf(testing::golden_dir("llama3"), dir.file("b.gguf"), DType::F32).is_ok());
  // A causal "bert" and one without its epsilon.
  ASSERT_TRUE(
      bert_convert_to_gguf(testing::golden_dir("bert"), dir.file("b.gguf"), DType::F32).is_ok());
  auto file = GgufFile::open(dir.file("b.gguf"));
  ASSERT_TRUE(file.is_ok());
  for (const char* broken : {"causal", "epsilon"}) {
    std::vector<std::pair<std::string, GgufValue>> meta;
    for (const auto& [k, v] : file->metadata()) {
      if (std::string(broken) == "epsilon" && k == "bert.attention.layer_norm_epsilon") continue;
      meta.emplace_back(k, std::string(broken) == "causal" && k == "bert.attention.causal"
                               ? GgufValue::boolean(true)
                               : v);
    }
    std::vector<GgufTensorData> tensors;
    for (const GgufTensor& t : file->tensors())
      tensors.push_back({t.name, t.type, t.dims,
                         std::string_view(reinterpret_cast<const char*>(t.data), t.nbytes)});
    ASSERT_TRUE(gguf_write(dir.file("broken.gguf"), meta, tensors).is_ok());
    auto model = BertModel::load(dir.file("broken.gguf"));
    ASSERT_FALSE(model.is_ok()) << broken;
    EXPECT_NE(model.status().message().find(std::string(broken) == "causal"
                                                ? "bert.attention.causal is true"
                                                : "layer_norm_epsilon is missing"),
              std::string::npos)
        << model.status().message();
  }
}

}  // namespace
}  // namespace socle::engine
