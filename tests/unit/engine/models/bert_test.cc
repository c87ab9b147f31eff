#include "engine/models/bert.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "base/file.h"
#include "engine/format/safetensors_writer.h"
#include "engine/models/pooling.h"
#include "unit/engine/golden.h"
#include "unit/engine/kernels/random.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine {
namespace {

// The golden README's bound for a float32 implementation.
constexpr double ENCODER_TOLERANCE = 1e-4;
constexpr int64_t GOLDEN_ROWS = 3;
constexpr int64_t GOLDEN_ROW_LENGTH = 64;

// The number of leading ones in a right-padded attention mask row; fails the test if the
// row is not ones then zeros.
int64_t mask_length(const std::vector<int32_t>& mask, int64_t row) {
  auto begin = mask.begin() + row * GOLDEN_ROW_LENGTH;
  auto end = begin + GOLDEN_ROW_LENGTH;
  auto first_zero = std::find(begin, end, 0);
  EXPECT_TRUE(std::all_of(first_zero, end, [](int32_t m) { return m == 0; }));
  return first_zero - begin;
}

class EncoderGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(EncoderGolden, HiddenStatesAndPoolingMatchTransformers) {
  auto model = BertModel::load(testing::golden_dir(GetParam()));
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  auto ref = SafetensorsFile::open(testing::golden_dir(GetParam()) + "/ref.safetensors");
  ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();
  auto ids = testing::tensor_i32(*ref, "input_ids");
  auto mask = testing::tensor_i32(*ref, "attention_mask");
  auto want_hidden = testing::tensor_f32(*ref, "last_hidden_state");
  auto want_cls = testing::tensor_f32(*ref, "cls");
  auto want_mean = testing::tensor_f32(*ref, "mean");
  int64_t dim = model->config().hidden_size;
  double worst = 0;
  for (int64_t b = 0; b < GOLDEN_ROWS; ++b) {
    int64_t n = mask_length(mask, b);
    ASSERT_GT(n, 0);
    std::span<const int32_t> row(ids.data() + b * GOLDEN_ROW_LENGTH, static_cast<size_t>(n));
    std::vector<float> hidden;
    ASSERT_TRUE(model->encode(row, {}, &hidden).is_ok());
    ASSERT_EQ(hidden.size(), static_cast<size_t>(n * dim));
    for (int64_t t = 0; t < n; ++t) {
      std::span<const float> got(hidden.data() + t * dim, static_cast<size_t>(dim));
      std::span<const float> want(want_hidden.data() + (b * GOLDEN_ROW_LENGTH + t) * dim,
                                  static_cast<size_t>(dim));
      double err = testing::relative_error(got, want);
      worst = std::max(worst, err);
      ASSERT_LT(err, ENCODER_TOLERANCE) << "row " << b << " position " << t;
    }
    std::vector<float> pooled(static_cast<size_t>(dim));
    pool_ref(pooled.data(), hidden.data(), n, dim, Pooling::CLS);
    double cls_err = testing::relative_error(
        pooled, std::span<const float>(want_cls.data() + b * dim, static_cast<size_t>(dim)));
    pool_ref(pooled.data(), hidden.data(), n, dim, Pooling::MEAN);
    double mean_err = testing::relative_error(
        pooled, std::span<const float>(want_mean.data() + b * dim, static_cast<size_t>(dim)));
    EXPECT_LT(cls_err, ENCODER_TOLERANCE) << "row " << b;
    EXPECT_LT(mean_err, ENCODER_TOLERANCE) << "row " << b;
    worst = std::max({worst, cls_err, mean_err});
  }
  std::printf("%s: max relative error per hidden state or pooled vector %.3g\n", GetParam(), worst);
}

INSTANTIATE_TEST_SUITE_P(Golden, EncoderGolden, ::testing::Values("bert", "xlm-roberta"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(BertReranker, ScoresMatchTransformers) {
  auto model = BertModel::load(testing::golden_dir("bert-reranker"));
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  auto ref = SafetensorsFile::open(testing::golden_dir("bert-reranker") + "/ref.safetensors");
  ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();
  auto ids = testing::tensor_i32(*ref, "input_ids");
  auto mask = testing::tensor_i32(*ref, "attention_mask");
  auto want = testing::tensor_f32(*ref, "logits");
  ASSERT_EQ(want.size(), static_cast<size_t>(GOLDEN_ROWS));
  double worst = 0;
  for (int64_t b = 0; b < GOLDEN_ROWS; ++b) {
    int64_t n = mask_length(mask, b);
    std::span<const int32_t> row(ids.data() + b * GOLDEN_ROW_LENGTH, static_cast<size_t>(n));
    std::vector<float> scores;
    ASSERT_TRUE(model->classify(row, {}, &scores).is_ok());
    ASSERT_EQ(scores.size(), 1u);
    double err = testing::relative_error(scores, std::span<const float>(want.data() + b, 1));
    worst = std::max(worst, err);
    EXPECT_LT(err, ENCODER_TOLERANCE)
        << "row " << b << ": " << scores[0] << " vs " << want[static_cast<size_t>(b)];
  }
  std::printf("bert-reranker: max relative error per score %.3g\n", worst);
}

// No golden folder holds an XLMRobertaForSequenceClassification, so this builds one: the
// golden xlm-roberta encoder under the "roberta." prefix that the task model saves it with,
// and a random head. The expected scores apply the head, in double, to the first token's
// hidden state that transformers computed (the golden `cls`).
TEST(XlmRobertaClassifier, AppliesDenseTanhOutProjToTheFirstToken) {
  testing::TempDir dir;
  std::string golden = testing::golden_dir("xlm-roberta");
  auto config = read_file(golden + "/config.json");
  ASSERT_TRUE(config.is_ok());
  std::string text = *config;
  size_t at = text.find("\"XLMRobertaModel\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, std::string("\"XLMRobertaModel\"").size(),
               "\"XLMRobertaForSequenceClassification\"");
  ASSERT_TRUE(write_file_atomic(dir.file("config.json"), text).is_ok());

  auto encoder = SafetensorsFile::open(golden + "/model.safetensors");
  ASSERT_TRUE(encoder.is_ok());
  constexpr int64_t DIM = 64;
  constexpr int64_t LABELS = 2;  // transformers' default without id2label
  auto dense_w = testing::random_floats(DIM * DIM, 51, 0.2f);
  auto dense_b = testing::random_floats(DIM, 52, 0.2f);
  auto out_w = testing::random_floats(LABELS * DIM, 53);
  auto out_b = testing::random_floats(LABELS, 54);
  auto bytes = [](const std::vector<float>& v) {
    return std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  };
  std::vector<TensorData> tensors;
  std::vector<std::string> names;
  for (const TensorView& t : encoder->tensors()) {
    if (t.name.starts_with("pooler.")) continue;  // the task model has no pooler
    tensors.push_back({"roberta." + t.name, t.dtype, t.shape,
                       std::string_view(reinterpret_cast<const char*>(t.data), t.nbytes)});
  }
  tensors.push_back({"classifier.dense.weight", DType::F32, {DIM, DIM}, bytes(dense_w)});
  tensors.push_back({"classifier.dense.bias", DType::F32, {DIM}, bytes(dense_b)});
  tensors.push_back({"classifier.out_proj.weight", DType::F32, {LABELS, DIM}, bytes(out_w)});
  tensors.push_back({"classifier.out_proj.bias", DType::F32, {LABELS}, bytes(out_b)});
  ASSERT_TRUE(safetensors_write(dir.file("model.safetensors"), tensors).is_ok());

  auto model = BertModel::load(dir.path());
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  EXPECT_EQ(model->config().head, ModelHead::XLM_ROBERTA_CLASSIFIER);
  auto ref = SafetensorsFile::open(golden + "/ref.safetensors");
  ASSERT_TRUE(ref.is_ok());
  auto ids = testing::tensor_i32(*ref, "input_ids");
  auto mask = testing::tensor_i32(*ref, "attention_mask");
  auto cls = testing::tensor_f32(*ref, "cls");
  for (int64_t b = 0; b < GOLDEN_ROWS; ++b) {
    std::vector<double> h(DIM);
    for (int64_t i = 0; i < DIM; ++i) {
      double sum = dense_b[static_cast<size_t>(i)];
      for (int64_t j = 0; j < DIM; ++j) {
        sum += static_cast<double>(dense_w[static_cast<size_t>(i * DIM + j)]) *
               cls[static_cast<size_t>(b * DIM + j)];
      }
      h[static_cast<size_t>(i)] = std::tanh(sum);
    }
    std::vector<float> want(LABELS);
    for (int64_t k = 0; k < LABELS; ++k) {
      double sum = out_b[static_cast<size_t>(k)];
      for (int64_t j = 0; j < DIM; ++j) {
        sum += out_w[static_cast<size_t>(k * DIM + j)] * h[static_cast<size_t>(j)];
      }
      want[static_cast<size_t>(k)] = static_cast<float>(sum);
    }
    int64_t n = mask_length(mask, b);
    std::span<const int32_t> row(ids.data() + b * GOLDEN_ROW_LENGTH, static_cast<size_t>(n));
    std::vector<float> scores;
    ASSERT_TRUE(model->classify(row, {}, &scores).is_ok());
    EXPECT_LT(testing::relative_error(scores, want), ENCODER_TOLERANCE) << "row " << b;
  }
}

TEST(Bert, RejectsBadInput) {
  auto model = BertModel::load(testing::golden_dir("bert"));
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  std::vector<float> out;
  std::vector<int32_t> ids = {2, 600};
  EXPECT_EQ(model->encode(ids, {}, &out).code(), StatusCode::INVALID_ARGUMENT);
  std::vector<int32_t> ok = {2, 3};
  std::vector<int32_t> types = {0, 2};
  Status s = model->encode(ok, types, &out);
  EXPECT_NE(s.message().find("token type 1 is 2"), std::string::npos) << s.message();
  std::vector<int32_t> too_long(129, 5);
  EXPECT_EQ(model->encode(too_long, {}, &out).code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(model->classify(ok, {}, &out).code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(model->encode(ok, {}, &out).is_ok());
}

TEST(Pooling, MeanClsAndNormalize) {
  std::vector<float> hidden = {1, 2, 3, 6};  // (2 tokens, dim 2)
  std::vector<float> out(2);
  pool_ref(out.data(), hidden.data(), 2, 2, Pooling::CLS);
  EXPECT_EQ(out, (std::vector<float>{1, 2}));
  pool_ref(out.data(), hidden.data(), 2, 2, Pooling::MEAN);
  EXPECT_EQ(out, (std::vector<float>{2, 4}));
  std::vector<float> v = {3, 4};
  l2_normalize_ref(v.data(), 2);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  std::vector<float> zero = {0, 0};
  l2_normalize_ref(zero.data(), 2);
  EXPECT_EQ(zero, (std::vector<float>{0, 0}));
}

}  // namespace
}  // namespace socle::engine
