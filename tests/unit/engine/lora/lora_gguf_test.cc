// LoRA adapters as GGUF files for llama.cpp (engine/lora/lora_gguf.h). The file's keys and
// tensors are read back; then llama.cpp itself (npm node-llama-cpp's prebuilt binary, run by
// llamacpp_lora_oracle.mjs) loads the golden base converted to GGUF with peft's golden
// adapter written as a LoRA GGUF, and its next-token probabilities must be socle's with the
// adapter (within 1e-3 per probability), while without the adapter they are the base's; a
// file whose q/k rows are left unpermuted must fail the comparison, so that the check can
// fail.
#include "engine/lora/lora_gguf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/file.h"
#include "engine/format/gguf.h"
#include "engine/models/llama.h"
#include "engine/models/llama_gguf.h"
#include "unit/engine/golden.h"
#include "unit/engine/llamacpp_tokenizer.h"
#include "unit/engine/temp_dir.h"

namespace socle::engine {
namespace {

// Probabilities in float32 from two engines: llama.cpp and socle agree on the golden models
// to about 1e-6 (../models/llamacpp_oracle_test.cc); the adapter adds a few products.
constexpr double PROBABILITY_TOLERANCE = 1e-3;

struct Fixture {
  std::optional<LlamaModel> model;
  std::optional<LoraAdapter> adapter;
  std::vector<int32_t> ids;
};

Fixture load() {
  Fixture f;
  std::string dir = testing::golden_dir("llama-lora");
  auto model = LlamaModel::load(dir + "/base");
  EXPECT_TRUE(model.is_ok()) << model.status().to_string();
  f.model.emplace(std::move(model).value());
  auto adapter = LoraAdapter::load_peft(dir + "/adapter", f.model->config());
  EXPECT_TRUE(adapter.is_ok()) << adapter.status().to_string();
  f.adapter.emplace(std::move(adapter).value());
  auto ref = SafetensorsFile::open(dir + "/ref.safetensors");
  EXPECT_TRUE(ref.is_ok());
  f.ids = testing::tensor_i32(*ref, "input_ids");
  return f;
}

TEST(LoraGguf, KeysAndTensorsAsLlamaCppReadsThem) {
  Fixture f = load();
  testing::TempDir dir;
  std::string path = dir.file("lora.gguf");
  ASSERT_TRUE(lora_write_gguf(*f.adapter, f.model->config(), path).is_ok());
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  auto str = [&](const char* key) {
    auto it = file->metadata().find(key);
    return it == file->metadata().end() ? std::string() : it->second.s;
  };
  EXPECT_EQ(str("general.architecture"), "llama");
  EXPECT_EQ(str("general.type"), "adapter");
  EXPECT_EQ(str("adapter.type"), "lora");
  auto alpha = file->metadata().find("adapter.lora.alpha");
  ASSERT_NE(alpha, file->metadata().end());
  EXPECT_EQ(alpha->second.type, GgufType::FLOAT32);
  EXPECT_EQ(alpha->second.f, 8.0);
  // 3 layers x 7 targets x (A, B).
  EXPECT_EQ(file->tensors().size(), 42u);
  const GgufTensor* a = file->find("blk.1.ffn_down.weight.lora_a");
  const GgufTensor* b = file->find("blk.1.ffn_down.weight.lora_b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->dims, (std::vector<int64_t>{160, 4}));  // {in, rank}
  EXPECT_EQ(b->dims, (std::vector<int64_t>{4, 64}));   // {rank, out}
  const LoraPair* pair = f.adapter->find(1, LoraTarget::DOWN_PROJ);
  EXPECT_EQ(std::memcmp(a->data, pair->a.data(), a->nbytes), 0);
  EXPECT_EQ(std::memcmp(b->data, pair->b.data(), b->nbytes), 0);
  // q's B: rows permuted within each head (row j * 8 + i of a 16-row head goes to 2i + j).
  const GgufTensor* bq = file->find("blk.0.attn_q.weight.lora_b");
  ASSERT_NE(bq, nullptr);
  const LoraPair* q = f.adapter->find(0, LoraTarget::Q_PROJ);
  const auto* got = reinterpret_cast<const float*>(bq->data);
  constexpr int64_t RANK = 4;
  for (int64_t i = 0; i < RANK; ++i) {
    EXPECT_EQ(got[(2 * 3 + 1) * RANK + i], q->b[static_cast<size_t>((8 + 3) * RANK + i)]);
    EXPECT_EQ(got[(16 + 2 * 5) * RANK + i], q->b[static_cast<size_t>((16 + 5) * RANK + i)]);
  }
}

TEST(LoraGguf, RefusesAnAdapterForOtherShapes) {
  Fixture f = load();
  HfConfig other = f.model->config();
  other.num_layers = 2;
  testing::TempDir dir;
  Status st = lora_write_gguf(*f.adapter, other, dir.file("x.gguf"));
  EXPECT_EQ(st.code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.gguf")));
}

// softmax of each row, in double.
std::vector<double> softmax_rows(const std::vector<float>& logits, size_t vocab) {
  std::vector<double> out(logits.size());
  for (size_t r = 0; r * vocab < logits.size(); ++r) {
    const float* row = &logits[r * vocab];
    double top = *std::max_element(row, row + vocab);
    double sum = 0;
    for (size_t v = 0; v < vocab; ++v) {
      out[r * vocab + v] = std::exp(static_cast<double>(row[v]) - top);
      sum += out[r * vocab + v];
    }
    for (size_t v = 0; v < vocab; ++v)
      out[r * vocab + v] /= sum;
  }
  return out;
}

double max_abs_difference(const std::vector<double>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - static_cast<double>(b[i])));
  return worst;
}

TEST(LoraGguf, LlamaCppWithTheAdapterGivesSocleProbabilities) {
  Fixture f = load();
  const HfConfig& c = f.model->config();
  auto vocab = static_cast<size_t>(c.vocab_size);
  testing::TempDir dir;
  const std::string package = std::string(SOCLE_SOURCE_DIR) + "/node_modules/node-llama-cpp";
  ASSERT_TRUE(std::filesystem::exists(package))
      << package << " is missing: run scripts/install-deps (npm ci) first";
  std::string base_gguf = dir.file("base.gguf");
  Status st = llama_convert_to_gguf(testing::golden_dir("llama-lora") + "/base", base_gguf,
                                    DType::F32, testing::tokenizer_keys("llama-bpe", c.vocab_size));
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  std::string lora_gguf = dir.file("lora.gguf");
  ASSERT_TRUE(lora_write_gguf(*f.adapter, c, lora_gguf).is_ok());

  // socle: the Hugging Face base, with and without the adapter, every position.
  std::vector<float> with;
  std::vector<float> without;
  for (bool adapted : {true, false}) {
    KvPool pool = f.model->new_pool(16, 4);
    std::vector<int32_t> table(16);
    for (int32_t i = 0; i < 16; ++i)
      table[static_cast<size_t>(i)] = i;
    BatchSequence b;
    b.tokens = f.ids;
    b.blocks = table;
    b.all_logits = true;
    b.lora = adapted ? &*f.adapter : nullptr;
    ASSERT_TRUE(
        f.model->forward_batch({&b, 1}, pool, default_thread_pool(), adapted ? &with : &without)
            .is_ok());
  }
  std::vector<double> socle_with = softmax_rows(with, vocab);
  std::vector<double> socle_without = softmax_rows(without, vocab);

  auto run_oracle = [&](const std::string& lora, std::vector<float>* base_out,
                        std::vector<float>* lora_out) {
    std::string prompts = dir.file("prompts.json");
    boost::json::object p{{"n_vocab", c.vocab_size},
                          {"prompts", boost::json::array{boost::json::value_from(f.ids)}}};
    ASSERT_TRUE(write_file_atomic(prompts, boost::json::serialize(p)).is_ok());
    std::string cmd = "node '" + std::string(SOCLE_SOURCE_DIR) +
                      "/tests/unit/engine/lora/llamacpp_lora_oracle.mjs' '" + prompts + "' '" +
                      dir.path() + "' '" + base_gguf + "' '" + lora + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    for (auto [name, out] : {std::pair{"base", base_out}, std::pair{"lora", lora_out}}) {
      auto bytes = read_file(dir.file(std::string(name) + ".f32"));
      ASSERT_TRUE(bytes.is_ok());
      ASSERT_EQ(bytes->size(), f.ids.size() * vocab * sizeof(float)) << name;
      out->resize(f.ids.size() * vocab);
      std::memcpy(out->data(), bytes->data(), bytes->size());
    }
  };
  std::vector<float> cpp_base;
  std::vector<float> cpp_lora;
  run_oracle(lora_gguf, &cpp_base, &cpp_lora);
  ASSERT_FALSE(cpp_lora.empty());
  std::printf(
      "max |p_socle - p_llama.cpp|: base %.3g, with the adapter %.3g; adapter effect %.3g\n",
      max_abs_difference(socle_without, cpp_base), max_abs_difference(socle_with, cpp_lora),
      max_abs_difference(socle_without, cpp_lora));
  EXPECT_LT(max_abs_difference(socle_without, cpp_base), PROBABILITY_TOLERANCE)
      << "llama.cpp's base against socle's";
  EXPECT_LT(max_abs_difference(socle_with, cpp_lora), PROBABILITY_TOLERANCE)
      << "llama.cpp with the LoRA GGUF against socle with the PEFT adapter";
  EXPECT_GT(max_abs_difference(socle_without, cpp_lora), 10 * PROBABILITY_TOLERANCE)
      << "the adapter changes llama.cpp's probabilities";

  // The same adapter with q/k's B rows left in Hugging Face's order (llama.cpp's adapter on
  // permuted weights): the comparison must fail.
  auto unpermuted = GgufFile::open(lora_gguf);
  ASSERT_TRUE(unpermuted.is_ok());
  std::vector<GgufTensorData> tensors;
  for (const GgufTensor& t : unpermuted->tensors()) {
    std::string_view bytes(reinterpret_cast<const char*>(t.data), t.nbytes);
    for (int64_t layer = 0; layer < c.num_layers; ++layer) {
      for (LoraTarget target : {LoraTarget::Q_PROJ, LoraTarget::K_PROJ}) {
        if (t.name == lora_gguf_base_name(layer, target) + ".lora_b") {
          const LoraPair* pair = f.adapter->find(layer, target);
          bytes = {reinterpret_cast<const char*>(pair->b.data()), pair->b.size() * sizeof(float)};
        }
      }
    }
    tensors.push_back({t.name, t.type, t.dims, bytes});
  }
  std::vector<std::pair<std::string, GgufValue>> meta(unpermuted->metadata().begin(),
                                                      unpermuted->metadata().end());
  std::string wrong = dir.file("unpermuted.gguf");
  ASSERT_TRUE(gguf_write(wrong, meta, tensors).is_ok());
  run_oracle(wrong, &cpp_base, &cpp_lora);
  EXPECT_GT(max_abs_difference(socle_with, cpp_lora), PROBABILITY_TOLERANCE)
      << "unpermuted q/k rows must not pass";
}

}  // namespace
}  // namespace socle::engine
