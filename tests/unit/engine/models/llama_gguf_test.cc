// Llama-family models through GGUF: the golden Hugging Face folders converted as llama.cpp's
// converter would (names, metadata, q/k permutation, rope_freqs), loaded back through the
// GGUF loader, against the folder's own logits and transformers' references.
#include "engine/models/llama_gguf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <vector>

#include "base/file.h"
#include "engine/format/safetensors_writer.h"
#include "engine/kernels/quant.h"
#include "engine/models/llama.h"
#include "unit/engine/dequantised_copy.h"
#include "unit/engine/golden.h"
#include "unit/engine/kernels/random.h"
#include "unit/engine/random_llama.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine {
namespace {

// The bound for the converted f32 file against the folder: both compute the same
// float32 function, up to the order in which rope-permuted head dimensions are summed.
constexpr double GGUF_F32_TOLERANCE = 1e-5;
// The golden README's bound against transformers.
constexpr double LOGITS_TOLERANCE = 1e-4;
constexpr int GOLDEN_CASES = 4;

std::vector<float> run(const LlamaModel& model, const std::vector<int32_t>& ids) {
  KvCache cache = model.new_cache(static_cast<int64_t>(ids.size()));
  std::vector<float> logits;
  EXPECT_TRUE(model.forward(ids, cache, &logits).is_ok());
  return logits;
}

// The largest relative error per row of `got` against `want`, (n, vocab) each.
double worst_row_error(const std::vector<float>& got, const std::vector<float>& want,
                       size_t vocab) {
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t t = 0; t + 1 <= got.size() / vocab && (t + 1) * vocab <= want.size(); ++t) {
    worst = std::max(worst, testing::relative_error({got.data() + t * vocab, vocab},
                                                    {want.data() + t * vocab, vocab}));
  }
  return worst;
}

TEST(LlamaGgufNames, FollowLlamaCpp) {
  EXPECT_EQ(llama_gguf_name("model.layers.12.self_attn.q_proj.weight"), "blk.12.attn_q.weight");
  EXPECT_EQ(llama_gguf_name("model.layers.0.mlp.down_proj.weight"), "blk.0.ffn_down.weight");
  EXPECT_EQ(llama_gguf_name("model.layers.3.post_attention_layernorm.weight"),
            "blk.3.ffn_norm.weight");
  EXPECT_EQ(llama_gguf_name("model.layers.1.self_attn.k_norm.weight"), "blk.1.attn_k_norm.weight");
  EXPECT_EQ(llama_gguf_name("model.embed_tokens.weight"), "token_embd.weight");
  EXPECT_EQ(llama_gguf_name("lm_head.weight"), "output.weight");
  EXPECT_EQ(llama_gguf_name("model.layers.x.mlp.up_proj.weight"), std::nullopt);
  EXPECT_EQ(llama_gguf_name("model.rotary_emb.inv_freq"), std::nullopt);
  EXPECT_EQ(llama_hf_name("blk.7.attn_output.weight"), "model.layers.7.self_attn.o_proj.weight");
  EXPECT_EQ(llama_hf_name("output_norm.weight"), "model.norm.weight");
}

class LlamaGguf : public ::testing::TestWithParam<const char*> {};

TEST_P(LlamaGguf, ConvertedF32FileGivesTheFoldersLogits) {
  testing::TempDir dir;
  std::string golden = testing::golden_dir(GetParam());
  std::string path = dir.file("model.gguf");
  Status s = llama_convert_to_gguf(golden, path, DType::F32);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  auto folder = LlamaModel::load(golden);
  ASSERT_TRUE(folder.is_ok()) << folder.status().to_string();
  auto gguf = LlamaModel::load(path);
  ASSERT_TRUE(gguf.is_ok()) << gguf.status().to_string();
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.is_ok());
  EXPECT_EQ(file->value("general.architecture")->s,
            std::string(GetParam()).rfind("llama", 0) == 0 ? "llama" : GetParam());
  auto ref = SafetensorsFile::open(golden + "/ref.safetensors");
  ASSERT_TRUE(ref.is_ok());
  auto vocab = static_cast<size_t>(folder->config().vocab_size);
  ASSERT_EQ(gguf->config().vocab_size, folder->config().vocab_size);
  EXPECT_EQ(gguf->config().tie_word_embeddings, folder->config().tie_word_embeddings);
  double worst_folder = 0;
  double worst_golden = 0;
  for (int i = 0; i < GOLDEN_CASES; ++i) {
    auto ids = testing::tensor_i32(*ref, "input_ids." + std::to_string(i));
    auto got = run(*gguf, ids);
    worst_folder = std::max(worst_folder, worst_row_error(got, run(*folder, ids), vocab));
    worst_golden = std::max(
        worst_golden,
        worst_row_error(got, testing::tensor_f32(*ref, "logits." + std::to_string(i)), vocab));
  }
  std::printf("%s gguf f32: max relative error per row %.3g vs folder, %.3g vs transformers\n",
              GetParam(), worst_folder, worst_golden);
  EXPECT_LT(worst_folder, GGUF_F32_TOLERANCE);
  EXPECT_LT(worst_golden, LOGITS_TOLERANCE);
}

INSTANTIATE_TEST_SUITE_P(Golden, LlamaGguf,
                         ::testing::Values("llama3", "llama3-bf16", "qwen2", "qwen3"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// Quantised weights change the function; comparing with the same weights dequantised leaves
// only what the quantised path adds: each matmul's input rounded to 8 bits per block of 32,
// a relative RMS error of about (max / 127) / sqrt(12) / RMS ~ 0.5% (max / RMS ~ 2.2 on 32
// values). llama3 has 2 layers of 7 matmuls plus the head, about 15 such roundings adding
// in quadrature (~2%), and its weights are scaled up so that attention is sharp, which
// amplifies them: 3.0% is measured for every type. The per-matmul bound is checked exactly
// in MatmulPaths.QuantisedActivationsStayWithinTheirBlockError; this end-to-end ceiling at
// twice the measured value catches a wrong block, scale or sign, which gives errors of
// order 100%.
constexpr double QUANT_ACTIVATION_TOLERANCE = 0.06;

TEST(LlamaGgufQuantised, MatchesTheSameWeightsDequantised) {
  testing::TempDir dir;
  std::string golden = testing::golden_dir("llama3");
  auto ref = SafetensorsFile::open(golden + "/ref.safetensors");
  ASSERT_TRUE(ref.is_ok());
  auto ids = testing::tensor_i32(*ref, "input_ids.2");
  for (DType type : {DType::Q8_0, DType::Q4_0, DType::Q4_K}) {
    std::string path = dir.file(std::string(dtype_name(type)) + ".gguf");
    ASSERT_TRUE(llama_convert_to_gguf(golden, path, type).is_ok());
    auto file = GgufFile::open(path);
    ASSERT_TRUE(file.is_ok());
    // Rows of 64 and 160 values are no K-quant's: Q4_K falls back to Q8_0, as llama.cpp does.
    DType want = quant_type_for_row(type, 64);
    EXPECT_EQ(file->find("blk.0.attn_q.weight")->type, want);
    EXPECT_EQ(file->find("blk.0.attn_norm.weight")->type, DType::F32);
    auto quant = LlamaModel::load(path);
    ASSERT_TRUE(quant.is_ok()) << quant.status().to_string();
    auto dequant = LlamaModel::load(testing::dequantised_copy(path, dir));
    ASSERT_TRUE(dequant.is_ok()) << dequant.status().to_string();
    auto vocab = static_cast<size_t>(quant->config().vocab_size);
    double err = worst_row_error(run(*quant, ids), run(*dequant, ids), vocab);
    std::printf("llama3 %s: max relative error per row %.3g vs its weights dequantised\n",
                dtype_name(type), err);
    EXPECT_LT(err, QUANT_ACTIVATION_TOLERANCE) << dtype_name(type);
  }
}

// Quantising at load stores every matrix as `socle model convert --type` would: each row of
// the folder loaded with quantize holds the bytes of the converted file's same row (the GGUF
// file's q/k rows are permuted for its rope pairing: row h * head_dim + j * head_dim / 2 + i of
// the folder's matrix is the file's row h * head_dim + 2 i + j). Logits are not compared
// bitwise: the permuted q/k dims add the attention dot products in another order, and a last-bit
// difference that moves an 8-bit activation across a rounding step moves Q4_0 logits by 1%.
bool same_rows(const WeightView& a, const WeightView& b, int64_t head_dim) {
  if (a.type != b.type || a.rows != b.rows || a.cols != b.cols) return false;
  size_t bytes = dtype_row_bytes(a.type, a.cols);
  for (int64_t r = 0; r < a.rows; ++r) {
    int64_t other = r;
    if (head_dim > 0) {
      int64_t h = r / head_dim, within = r % head_dim, half = head_dim / 2;
      other = h * head_dim + 2 * (within % half) + within / half;
    }
    if (std::memcmp(a.row(r), b.row(other), bytes) != 0) return false;
  }
  return true;
}

TEST(LlamaGgufQuantised, QuantisingAtLoadEqualsTheConvertedFile) {
  testing::TempDir dir;
  std::string golden = testing::golden_dir("llama3");
  auto ref = SafetensorsFile::open(golden + "/ref.safetensors");
  ASSERT_TRUE(ref.is_ok());
  auto ids = testing::tensor_i32(*ref, "input_ids.2");
  for (DType type : {DType::Q8_0, DType::Q4_0}) {
    std::string path = dir.file(std::string(dtype_name(type)) + "-load.gguf");
    ASSERT_TRUE(llama_convert_to_gguf(golden, path, type).is_ok());
    auto file = LlamaModel::load(path);
    ASSERT_TRUE(file.is_ok()) << file.status().to_string();
    auto at_load = LlamaModel::load(golden, type);
    ASSERT_TRUE(at_load.is_ok()) << at_load.status().to_string();
    EXPECT_EQ(at_load->layers()[0].wq.type, type);
    EXPECT_EQ(at_load->embed().type, type);
    int64_t head_dim = at_load->config().head_dim;
    EXPECT_TRUE(same_rows(at_load->embed(), file->embed(), 0)) << dtype_name(type);
    EXPECT_TRUE(same_rows(at_load->lm_head(), file->lm_head(), 0)) << dtype_name(type);
    for (size_t i = 0; i < at_load->layers().size(); ++i) {
      const LlamaLayer& a = at_load->layers()[i];
      const LlamaLayer& b = file->layers()[i];
      EXPECT_TRUE(same_rows(a.wq, b.wq, head_dim)) << dtype_name(type) << " layer " << i;
      EXPECT_TRUE(same_rows(a.wk, b.wk, head_dim)) << dtype_name(type) << " layer " << i;
      for (auto m : {&LlamaLayer::wv, &LlamaLayer::wo, &LlamaLayer::w_gate, &LlamaLayer::w_up,
                     &LlamaLayer::w_down}) {
        EXPECT_TRUE(same_rows(a.*m, b.*m, 0)) << dtype_name(type) << " layer " << i;
      }
    }
    // The two give the same logits but for the order of those sums (and its effect on the
    // activations' rounding): within the bound of 8-bit activations.
    auto plain = LlamaModel::load(golden);
    ASSERT_TRUE(plain.is_ok());
    auto vocab = static_cast<size_t>(file->config().vocab_size);
    EXPECT_LT(worst_row_error(run(*at_load, ids), run(*file, ids), vocab),
              QUANT_ACTIVATION_TOLERANCE)
        << dtype_name(type);
    // ... and it did quantise: the float model's logits are measurably elsewhere.
    EXPECT_GT(worst_row_error(run(*at_load, ids), run(*plain, ids), vocab), 1e-4)
        << dtype_name(type);
  }
}

// On unit-scale random weights the activations' rounding is the ~0.5% of each input
// estimated above, through one layer and the head: 2% per row is a few times that.
constexpr double K_QUANT_ACTIVATION_TOLERANCE = 0.02;

TEST(LlamaGgufQuantised, KQuantsRunInTheModel) {
  testing::TempDir dir;
  testing::write_random_llama(dir.path(), testing::RandomLlama{});
  std::vector<int32_t> ids = {1, 5, 9, 63, 0, 17, 17, 2};
  for (DType type : {DType::Q4_K, DType::Q6_K}) {
    std::string path = dir.file(std::string(dtype_name(type)) + ".gguf");
    Status s = llama_convert_to_gguf(dir.path(), path, type);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    auto file = GgufFile::open(path);
    ASSERT_TRUE(file.is_ok());
    EXPECT_EQ(file->find("blk.0.ffn_down.weight")->type, type);
    EXPECT_EQ(file->find("output.weight")->type, type);
    auto quant = LlamaModel::load(path);
    ASSERT_TRUE(quant.is_ok()) << quant.status().to_string();
    auto dequant = LlamaModel::load(testing::dequantised_copy(path, dir));
    ASSERT_TRUE(dequant.is_ok()) << dequant.status().to_string();
    double err = worst_row_error(run(*quant, ids), run(*dequant, ids), 64);
    std::printf("random llama %s: max relative error per row %.3g vs its weights dequantised\n",
                dtype_name(type), err);
    EXPECT_LT(err, K_QUANT_ACTIVATION_TOLERANCE) << dtype_name(type);
  }
}

TEST(LlamaGgufLoad, RejectsOtherArchitecturesAndMissingKeys) {
  testing::TempDir dir;
  std::string data(size_t{64} * 4, '\0');
  std::vector<GgufTensorData> ts = {{"token_embd.weight", DType::F32, {4, 16}, data}};
  ASSERT_TRUE(
      gguf_write(dir.file("gpt2.gguf"), {{"general.architecture", GgufValue::str("gpt2")}}, ts)
          .is_ok());
  auto m = LlamaModel::load(dir.file("gpt2.gguf"));
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("architecture 'gpt2' is not a llama-family"),
            std::string::npos)
      << m.status().message();
  ASSERT_TRUE(
      gguf_write(dir.file("bare.gguf"), {{"general.architecture", GgufValue::str("llama")}}, ts)
          .is_ok());
  m = LlamaModel::load(dir.file("bare.gguf"));
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("llama.embedding_length is missing"), std::string::npos)
      << m.status().message();
}

}  // namespace
}  // namespace socle::engine
