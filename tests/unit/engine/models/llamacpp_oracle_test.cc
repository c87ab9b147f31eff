// socle's GGUF model files in llama.cpp itself. The golden llama3, qwen2 and qwen3 folders
// (and a random llama whose rows fit the K-quants' blocks) are converted by
// llama_convert_to_gguf with a small tokenizer attached (llama.cpp loads no model without
// one) and loaded by npm node-llama-cpp's prebuilt CPU binary (run by llamacpp_oracle.mjs
// during the test), which evaluates the prompts as token ids and returns its next-token
// probabilities at every position. socle's LlamaModel::load_gguf of the same file must give
// the same probabilities; llama.cpp's on the golden F32 files must also be transformers'
// (the golden logits), so that a mistake both engines share cannot pass; and a quantised
// file with its nibbles swapped must fail the comparison, so that the bound can fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/file.h"
#include "engine/format/safetensors.h"
#include "engine/format/safetensors_writer.h"
#include "engine/kernels/quant.h"
#include "engine/models/llama.h"
#include "engine/models/llama_gguf.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/gguf_pre_tokenizers.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/tokenizer.h"
#include "unit/engine/dequantised_copy.h"
#include "unit/engine/golden.h"
#include "unit/engine/kernels/random.h"
#include "unit/engine/llamacpp_tokenizer.h"
#include "unit/engine/random_llama.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine {
namespace {

namespace fs = std::filesystem;

const std::string TEST_DIR = std::string(SOCLE_SOURCE_DIR) + "/tests/unit/engine/models";
constexpr int GOLDEN_CASES = 4;  // input_ids.0 .. input_ids.3: 1, 5, 33 and 257 tokens

// ---- A tokenizer of exactly the golden models' 512 ids (unit/engine/llamacpp_tokenizer.h) --

using testing::BYTE_TOKENS;
using testing::tokenizer_keys;

// llama.cpp's pre-tokenizer for each golden model, as convert_hf_to_gguf names the real ones.
std::string pre_of(const std::string& model) {
  return model.rfind("qwen", 0) == 0 ? "qwen2" : "llama-bpe";
}

// ---- llama.cpp ----------------------------------------------------------------------------

struct Prompts {
  std::vector<std::vector<int32_t>> ids;
  size_t rows = 0;  // positions in all prompts
};

Prompts golden_prompts(const SafetensorsFile& ref) {
  Prompts p;
  for (int i = 0; i < GOLDEN_CASES; ++i) {
    p.ids.push_back(testing::tensor_i32(ref, "input_ids." + std::to_string(i)));
    p.rows += p.ids.back().size();
  }
  return p;
}

// llama.cpp's probabilities (rows, n_vocab) for each NAME=FILE, from one run of
// llamacpp_oracle.mjs; fails the test (never skips) when Node or node-llama-cpp is missing
// or llama.cpp refuses a file, returning an empty map.
std::map<std::string, std::vector<float>> llama_cpp_probabilities(
    const std::vector<std::pair<std::string, std::string>>& files, const Prompts& prompts,
    int64_t n_vocab, const testing::TempDir& dir) {
  const std::string package = std::string(SOCLE_SOURCE_DIR) + "/node_modules/node-llama-cpp";
  if (!fs::exists(package)) {
    ADD_FAILURE() << package << " is missing: run scripts/install-deps (npm ci) first";
    return {};
  }
  boost::json::array ids;
  for (const auto& p : prompts.ids)
    ids.emplace_back(boost::json::value_from(p));
  std::string prompts_path = dir.file("prompts.json");
  EXPECT_TRUE(write_file_atomic(prompts_path, boost::json::serialize(boost::json::object{
                                                  {"n_vocab", n_vocab}, {"prompts", ids}}))
                  .is_ok());
  std::string cmd =
      "node '" + TEST_DIR + "/llamacpp_oracle.mjs' '" + prompts_path + "' '" + dir.path() + "'";
  for (const auto& [name, path] : files)
    cmd += " '" + name + "=" + path + "'";
  int rc = std::system(cmd.c_str());
  if (rc != 0) {
    ADD_FAILURE() << "the llama.cpp oracle failed (exit " << rc << "): " << cmd;
    return {};
  }
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, path] : files) {
    auto bytes = read_file(dir.file(name + ".f32"));
    size_t want = prompts.rows * static_cast<size_t>(n_vocab) * sizeof(float);
    if (!bytes.is_ok() || bytes->size() != want) {
      ADD_FAILURE() << "the llama.cpp oracle wrote no " << want << "-byte output for " << name;
      return {};
    }
    std::vector<float> p(prompts.rows * static_cast<size_t>(n_vocab));
    std::memcpy(p.data(), bytes->data(), want);
    out[name] = std::move(p);
  }
  return out;
}

// ---- Comparison -----------------------------------------------------------------------------

// softmax of each `vocab`-value row of `logits`, in double, appended to `out`.
void append_softmax(const std::vector<float>& logits, size_t vocab, std::vector<double>& out) {
  for (size_t r = 0; r * vocab < logits.size(); ++r) {
    const float* row = logits.data() + r * vocab;
    double top = *std::max_element(row, row + vocab);
    double sum = 0;
    size_t start = out.size();
    for (size_t v = 0; v < vocab; ++v) {
      out.push_back(std::exp(static_cast<double>(row[v]) - top));
      sum += out.back();
    }
    for (size_t v = start; v < out.size(); ++v)
      out[v] /= sum;
  }
}

// socle's probabilities for every position of every prompt, the oracle's row order.
std::vector<double> socle_probabilities(const LlamaModel& model, const Prompts& prompts) {
  auto vocab = static_cast<size_t>(model.config().vocab_size);
  std::vector<double> out;
  for (const auto& ids : prompts.ids) {
    KvCache cache = model.new_cache(static_cast<int64_t>(ids.size()));
    std::vector<float> logits;
    Status s = model.forward(ids, cache, &logits);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    append_softmax(logits, vocab, out);
  }
  return out;
}

struct Difference {
  double max_abs = 0;         // the largest |p_a - p_b| over every row and token
  size_t worst_row = 0;       // where it is
  size_t argmax_differs = 0;  // rows whose most likely tokens differ
  // The largest relative error per row of the logits, recovered as log p minus its row mean
  // (a softmax forgets the logits' mean): the engine tests' measure, whatever the spread.
  double max_logit_error = 0;
};

// log p - mean(log p) for one row: the logits less their mean.
std::vector<double> centred_log(const double* p, size_t vocab) {
  std::vector<double> out(vocab);
  double mean = 0;
  for (size_t v = 0; v < vocab; ++v) {
    out[v] = std::log(std::max(p[v], std::numeric_limits<double>::min()));
    mean += out[v] / static_cast<double>(vocab);
  }
  for (double& x : out)
    x -= mean;
  return out;
}

// `a`: the reference (rows of `vocab`); `b`: the rows compared with it.
Difference compare(const std::vector<double>& a, const std::vector<float>& b, size_t vocab) {
  Difference d;
  EXPECT_EQ(a.size(), b.size());
  if (a.size() != b.size()) return {1.0, 0, a.size() / vocab, 1.0};
  std::vector<double> b_row(vocab);
  for (size_t r = 0; r * vocab < a.size(); ++r) {
    size_t best_a = 0;
    size_t best_b = 0;
    for (size_t v = 0; v < vocab; ++v) {
      size_t i = r * vocab + v;
      b_row[v] = b[i];
      double diff = std::abs(a[i] - b_row[v]);
      if (diff > d.max_abs) {
        d.max_abs = diff;
        d.worst_row = r;
      }
      if (a[i] > a[r * vocab + best_a]) best_a = v;
      if (b[i] > b[r * vocab + best_b]) best_b = v;
    }
    d.argmax_differs += best_a != best_b ? 1 : 0;
    std::vector<double> la = centred_log(a.data() + r * vocab, vocab);
    std::vector<double> lb = centred_log(b_row.data(), vocab);
    double diff = 0;
    double norm = 0;
    for (size_t v = 0; v < vocab; ++v) {
      diff += (la[v] - lb[v]) * (la[v] - lb[v]);
      norm += la[v] * la[v];
    }
    d.max_logit_error = std::max(d.max_logit_error, std::sqrt(diff / norm));
  }
  return d;
}

// `path` with the two nibbles of every byte of its Q4_0 and Q4_K values swapped: in Q4_0,
// values i and i + 16 of each block trade places, in Q4_K values 64k + i and 64k + 32 + i:
// the mistake of a writer that packs nibbles in the wrong order. socle's own tests cannot
// see it (its reader would unpack them the same wrong way); llama.cpp can.
std::string nibble_swapped_copy(const std::string& path, const testing::TempDir& dir) {
  auto file = GgufFile::open(path);
  EXPECT_TRUE(file.is_ok()) << file.status().to_string();
  if (!file.is_ok()) return path;
  auto swap = [](std::span<uint8_t> qs) {
    for (uint8_t& q : qs)
      q = static_cast<uint8_t>((q >> 4) | (q << 4));
  };
  std::deque<std::string> storage;
  std::vector<GgufTensorData> tensors;
  for (const GgufTensor& t : file->tensors()) {
    std::string bytes(reinterpret_cast<const char*>(t.data), t.nbytes);
    if (t.type == DType::Q4_0) {
      auto* blocks = reinterpret_cast<BlockQ4_0*>(bytes.data());
      for (size_t b = 0; b < bytes.size() / sizeof(BlockQ4_0); ++b)
        swap(blocks[b].qs);
    } else if (t.type == DType::Q4_K) {
      auto* blocks = reinterpret_cast<BlockQ4K*>(bytes.data());
      for (size_t b = 0; b < bytes.size() / sizeof(BlockQ4K); ++b)
        swap(blocks[b].qs);
    }
    storage.push_back(std::move(bytes));
    tensors.push_back({t.name, t.type, t.dims, storage.back()});
  }
  std::vector<std::pair<std::string, GgufValue>> meta(file->metadata().begin(),
                                                      file->metadata().end());
  std::string out = dir.file("nibble-swapped.gguf");
  EXPECT_TRUE(gguf_write(out, meta, tensors).is_ok());
  return out;
}

// ---- A model whose rows fit the K-quants ---------------------------------------------------

// The golden models' rows (64 and 160 values) split into no K-quant's 256-value super-block,
// so their Q4_K files fall back to Q8_0 throughout. This random one-layer llama has rows of
// 256 and 512 values, so that llama.cpp reads socle's Q4_K and Q6_K blocks themselves.
// Its head is scaled by 4, so that the next-token distribution has peaks as a trained
// model's has.
constexpr int64_t RANDOM_VOCAB = 512;
const testing::RandomLlama RANDOM_LLAMA{.vocab = RANDOM_VOCAB, .seed = 91, .logit_scale = 4.0f};

// Three prompts of 1, 9 and 64 seeded random ids.
Prompts random_prompts() {
  Prompts p;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> id(0, RANDOM_VOCAB - 1);
  for (size_t n : {1, 9, 64}) {
    p.ids.emplace_back(n);
    for (int32_t& x : p.ids.back())
      x = id(rng);
    p.rows += n;
  }
  return p;
}

// ---- Bounds ---------------------------------------------------------------------------------

// The bound on the F32 file, for socle against llama.cpp and llama.cpp against
// transformers: both compute the same float32 function, in different orders (measured: at
// most 1.4e-7).
constexpr double F32_TOLERANCE = 1e-3;
// F16 weights: socle widens them and computes in float32 (measured 3e-9 from the same
// weights in an F32 file), but llama.cpp rounds each matmul's input to F16 first (ggml's
// vec_dot_type for F16), a relative 2^-11 at most per value: measured up to 1.5e-4. The
// issue's bound holds.
constexpr double F16_TOLERANCE = 1e-3;
// BF16 weights: the same, but llama.cpp rounds the inputs to BF16 (8 significant bits, a
// relative 2^-8 at most), 8 times F16's rounding: measured up to 1.3e-3 (1.4% of the
// logits). A little over twice that; a misread weight gives tenths.
constexpr double BF16_TOLERANCE = 3e-3;
// Quantised weights: both engines round each matmul's input to 8-bit codes per block (socle
// per 32 values with a float32 scale, ties away from zero; llama.cpp Q8_0 per 32 with an F16
// scale, or Q8_K per 256 for the K-quants), so codes near a rounding boundary come out one
// apart and the engines differ by about as much as that rounding changes the result. That
// is a change of the function, so the bound is on the logits (the relative error per row,
// as in llama_gguf_test.cc), not on the probabilities, whose change depends on how peaked
// they are: on the random model a 4% change of the logits moves one probability by 0.09.
// Measured, each engine against the same weights dequantised to F32: 2.3% to 4.7%; socle
// against llama.cpp: 3.3% to 4.1% (max |dp| 1.9e-3 to 5.2e-3 on the golden models). Twice
// the largest; a block read with its nibbles swapped (the control below) gives 160%.
constexpr double QUANT_LOGIT_TOLERANCE = 0.08;

// The bound on max |dp| for a float type; nullopt for a quantised one (bounded on logits).
std::optional<double> probability_tolerance(DType type) {
  switch (type) {
    case DType::F32:
      return F32_TOLERANCE;
    case DType::F16:
      return F16_TOLERANCE;
    case DType::BF16:
      return BF16_TOLERANCE;
    default:
      return std::nullopt;
  }
}

// ---- The test -------------------------------------------------------------------------------

struct Case {
  const char* model;  // a golden folder, or "random" (write_random_llama)
  std::vector<DType> types;
};

class LlamaCppOracle : public ::testing::TestWithParam<Case> {};

TEST_P(LlamaCppOracle, NextTokenProbabilitiesMatchLlamaCpp) {
  const Case& c = GetParam();
  testing::TempDir dir;
  const bool golden = std::string(c.model) != "random";
  std::string folder = golden ? testing::golden_dir(c.model) : dir.file("hf");
  std::optional<SafetensorsFile> ref;
  Prompts prompts;
  if (golden) {
    auto r = SafetensorsFile::open(folder + "/ref.safetensors");
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ref.emplace(std::move(r).value());
    prompts = golden_prompts(*ref);
  } else {
    fs::create_directories(folder);
    testing::write_random_llama(folder, RANDOM_LLAMA);
    prompts = random_prompts();
  }
  auto config = hf_config_read(folder);
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  const int64_t n_vocab = config->vocab_size;
  tokenizer::GgufMetadata keys = tokenizer_keys(pre_of(c.model), n_vocab);
  ASSERT_FALSE(keys.empty());

  std::vector<std::pair<std::string, std::string>> files;
  for (DType type : c.types) {
    std::string path = dir.file(std::string(dtype_name(type)) + ".gguf");
    Status s = llama_convert_to_gguf(folder, path, type, keys);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    files.emplace_back(dtype_name(type), path);
  }
  // The control: the Q4_0 file (the Q4_K one on the random model, the golden models' having
  // no Q4_K block) with its nibbles swapped must be caught.
  auto has = [&](DType t) { return std::find(c.types.begin(), c.types.end(), t) != c.types.end(); };
  std::optional<DType> control;
  if (has(DType::Q4_0)) {
    control = DType::Q4_0;
  } else if (has(DType::Q4_K) && !golden) {
    control = DType::Q4_K;
  }
  if (control) {
    files.emplace_back(
        "control", nibble_swapped_copy(dir.file(std::string(dtype_name(*control)) + ".gguf"), dir));
  }
  auto cpp = llama_cpp_probabilities(files, prompts, n_vocab, dir);
  ASSERT_EQ(cpp.size(), files.size());

  auto vocab = static_cast<size_t>(n_vocab);
  for (size_t f = 0; f < c.types.size(); ++f) {
    DType type = c.types[f];
    auto model = LlamaModel::load_gguf(files[f].second);
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    if (!golden && type != DType::F32) {
      // The point of this model: the K-quants are really in the file.
      auto file = GgufFile::open(files[f].second);
      ASSERT_TRUE(file.is_ok());
      EXPECT_EQ(file->find("blk.0.ffn_down.weight")->type, type);
    }
    const std::vector<float>& theirs = cpp.at(files[f].first);
    std::vector<double> mine = socle_probabilities(*model, prompts);
    Difference d = compare(mine, theirs, vocab);
    std::printf(
        "%s %s: socle vs llama.cpp, max |dp| %.3g, logits %.3g, %zu positions (argmax differs at "
        "%zu)\n",
        c.model, dtype_name(type), d.max_abs, d.max_logit_error, prompts.rows, d.argmax_differs);
    if (auto bound = probability_tolerance(type)) {
      EXPECT_LT(d.max_abs, *bound) << c.model << " " << dtype_name(type) << ": worst at row "
                                   << d.worst_row << " of the prompts' positions laid end to end";
    } else {
      EXPECT_LT(d.max_logit_error, QUANT_LOGIT_TOLERANCE) << c.model << " " << dtype_name(type);
    }
    if (type == control) {
      Difference broken = compare(mine, cpp.at("control"), vocab);
      std::printf(
          "%s %s with swapped nibbles: max |dp| %.3g, logits %.3g (argmax differs at %zu)\n",
          c.model, dtype_name(type), broken.max_abs, broken.max_logit_error, broken.argmax_differs);
      EXPECT_GT(broken.max_logit_error, QUANT_LOGIT_TOLERANCE)
          << "the nibble-swap control went unseen";
    }
    if (type != DType::F32) {
      // Context for the bound: how far each engine is from the same weights in float32.
      auto dequant = LlamaModel::load_gguf(testing::dequantised_copy(files[f].second, dir));
      ASSERT_TRUE(dequant.is_ok()) << dequant.status().to_string();
      std::vector<double> exact = socle_probabilities(*dequant, prompts);
      Difference q = compare(exact, std::vector<float>(mine.begin(), mine.end()), vocab);
      Difference l = compare(exact, theirs, vocab);
      std::printf(
          "%s %s: vs its weights in F32, socle max |dp| %.3g logits %.3g, llama.cpp %.3g logits "
          "%.3g\n",
          c.model, dtype_name(type), q.max_abs, q.max_logit_error, l.max_abs, l.max_logit_error);
      continue;
    }
    if (!golden) continue;
    std::vector<double> transformers;
    for (int i = 0; i < GOLDEN_CASES; ++i)
      append_softmax(testing::tensor_f32(*ref, "logits." + std::to_string(i)), vocab, transformers);
    Difference g = compare(transformers, theirs, vocab);
    std::printf(
        "%s F32: llama.cpp vs transformers, max |dp| %.3g, logits %.3g (argmax differs at %zu)\n",
        c.model, g.max_abs, g.max_logit_error, g.argmax_differs);
    EXPECT_LT(g.max_abs, F32_TOLERANCE) << c.model;
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& p) {
  std::string name = p.param.model;
  for (DType t : p.param.types)
    name += std::string("_") + dtype_name(t);
  return name;
}

// Quick: the default run; Full: labelled slow (see CMakeLists.txt).
INSTANTIATE_TEST_SUITE_P(Quick, LlamaCppOracle, ::testing::Values(Case{"llama3", {DType::F32}}),
                         case_name);
INSTANTIATE_TEST_SUITE_P(
    Full, LlamaCppOracle,
    ::testing::Values(
        Case{"llama3", {DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K}},
        Case{"qwen2", {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K}},
        Case{"qwen3", {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K}},
        Case{"random", {DType::F32, DType::Q4_K, DType::Q6_K}}),
    case_name);

// ---- The converter's tokenizer argument ---------------------------------------------------

TEST(LlamaConvertTokenizer, WritesTheKeysSoTheFileCarriesItsTokenizer) {
  testing::TempDir dir;
  std::string golden = testing::golden_dir("qwen2");
  std::string path = dir.file("model.gguf");
  tokenizer::GgufMetadata keys = tokenizer_keys("qwen2", 512);
  ASSERT_TRUE(llama_convert_to_gguf(golden, path, DType::F32, keys).is_ok());
  auto tok = tokenizer::Tokenizer::load(path);
  ASSERT_TRUE(tok.is_ok()) << tok.status().to_string();
  EXPECT_EQ(tok->vocab_size(), 512u);
  auto ids = tok->encode("ab<|eot_id|>", false);
  ASSERT_TRUE(ids.is_ok()) << ids.status().to_string();
  EXPECT_EQ(*ids, (std::vector<int32_t>{BYTE_TOKENS + 1, 511}));
  auto model = LlamaModel::load_gguf(path);
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  EXPECT_EQ(model->config().vocab_size, 512);
}

TEST(LlamaConvertTokenizer, RefusesATokenizerOfAnotherSize) {
  testing::TempDir dir;
  std::string golden = testing::golden_dir("llama3");
  Status s = llama_convert_to_gguf(golden, dir.file("model.gguf"), DType::F32,
                                   tokenizer_keys("llama-bpe", 300));
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.message().find("the tokenizer has 300 tokens but the model's vocab_size is 512"),
            std::string::npos)
      << s.message();
  EXPECT_FALSE(fs::exists(dir.file("model.gguf")));
  s = llama_convert_to_gguf(golden, dir.file("model.gguf"), DType::F32,
                            {{"general.name", GgufValue::str("x")}});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("'general.name' is not a tokenizer.* key"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace socle::engine
