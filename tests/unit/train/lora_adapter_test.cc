// The LoRA adapter: PEFT's files as peft wrote them (../shared/golden), save -> load bitwise,
// peft's initialisation, and malformed files refused with errors that name the file and field.
#include "engine/lora/lora_adapter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "base/file.h"
#include "engine/format/hf_config.h"
#include "engine/format/safetensors.h"
#include "engine/format/safetensors_writer.h"
#include "unit/engine/golden.h"
#include "unit/engine/temp_dir.h"

namespace socle::train {
namespace {

using engine::testing::golden_dir;
using engine::testing::TempDir;

engine::HfConfig golden_config() {
  auto c = engine::hf_config_read(golden_dir("llama-lora") + "/base");
  EXPECT_TRUE(c.is_ok());
  return std::move(c).value();
}

std::string golden_adapter() {
  return golden_dir("llama-lora") + "/adapter";
}

// Copies the golden adapter into `dir`, with `config` replacing adapter_config.json when
// not empty.
void copy_golden(const std::string& dir, const std::string& config = {}) {
  std::filesystem::copy_file(golden_adapter() + "/adapter_model.safetensors",
                             dir + "/adapter_model.safetensors");
  if (config.empty()) {
    std::filesystem::copy_file(golden_adapter() + "/adapter_config.json",
                               dir + "/adapter_config.json");
  } else {
    ASSERT_TRUE(write_file_atomic(dir + "/adapter_config.json", config).is_ok());
  }
}

std::string minimal_config(const std::string& extra = {}) {
  return R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "k_proj",
      "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])" +
         extra + "}";
}

// The load error for the golden tensors under `config`.
std::string config_error(const std::string& config) {
  TempDir dir;
  copy_golden(dir.path(), config);
  auto a = engine::LoraAdapter::load_peft(dir.path(), golden_config());
  EXPECT_FALSE(a.is_ok()) << config;
  return a.is_ok() ? "" : a.status().message();
}

TEST(LoraAdapter, LoadsPeftsFilesExactly) {
  auto a = engine::LoraAdapter::load_peft(golden_adapter(), golden_config());
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  auto file = engine::SafetensorsFile::open(golden_adapter() + "/adapter_model.safetensors");
  ASSERT_TRUE(file.is_ok());
  std::vector<std::string> names = a->tensor_names();
  std::vector<std::span<const float>> tensors = std::as_const(*a).tensors();
  ASSERT_EQ(names.size(), file->tensors().size());
  for (size_t k = 0; k < names.size(); ++k) {
    const engine::TensorView* t = file->find(names[k]);
    ASSERT_NE(t, nullptr) << names[k];
    ASSERT_EQ(t->nbytes, tensors[k].size() * sizeof(float));
    EXPECT_EQ(std::memcmp(t->data, tensors[k].data(), t->nbytes), 0) << names[k];
  }
}

TEST(LoraAdapter, SaveWritesPeftsNamesAndShapes) {
  auto a = engine::LoraAdapter::load_peft(golden_adapter(), golden_config());
  ASSERT_TRUE(a.is_ok());
  TempDir dir;
  ASSERT_TRUE(a->save_peft(dir.path(), "tiny-llama").is_ok());
  auto ours = engine::SafetensorsFile::open(dir.file("adapter_model.safetensors"));
  auto peft = engine::SafetensorsFile::open(golden_adapter() + "/adapter_model.safetensors");
  ASSERT_TRUE(ours.is_ok() && peft.is_ok());
  std::set<std::string> our_names;
  for (const engine::TensorView& t : ours->tensors()) {
    our_names.insert(t.name);
    const engine::TensorView* p = peft->find(t.name);
    ASSERT_NE(p, nullptr) << t.name;
    EXPECT_EQ(t.shape, p->shape) << t.name;
    EXPECT_EQ(t.dtype, p->dtype) << t.name;
  }
  EXPECT_EQ(our_names.size(), peft->tensors().size());
  EXPECT_EQ(ours->metadata().at("format"), "pt");
  auto config = read_file(dir.file("adapter_config.json"));
  ASSERT_TRUE(config.is_ok());
  EXPECT_NE(config->find("\"peft_type\":\"LORA\""), std::string::npos) << *config;
  EXPECT_NE(config->find("\"base_model_name_or_path\":\"tiny-llama\""), std::string::npos);
}

TEST(LoraAdapter, SaveLoadRoundTripIsBitwise) {
  engine::LoraConfig config;
  config.rank = 3;
  config.alpha = 5.5;
  config.targets = {engine::LoraTarget::V_PROJ, engine::LoraTarget::Q_PROJ,
                    engine::LoraTarget::DOWN_PROJ};
  auto a = engine::LoraAdapter::init(golden_config(), config, 42);
  ASSERT_TRUE(a.is_ok());
  // Give B values too, including ones a decimal format would round.
  float x = 0.1f;
  for (std::span<float> t : a->tensors()) {
    for (float& v : t) {
      if (v == 0.0f) v = (x = std::nextafter(x * 1.37f, 1.0f));
    }
  }
  TempDir dir;
  ASSERT_TRUE(a->save_peft(dir.file("one")).is_ok());
  auto b = engine::LoraAdapter::load_peft(dir.file("one"), golden_config());
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(b->config().rank, 3);
  EXPECT_EQ(b->config().alpha, 5.5);
  EXPECT_EQ(b->config().targets, config.targets);
  std::vector<std::span<const float>> ta = std::as_const(*a).tensors();
  std::vector<std::span<const float>> tb = std::as_const(*b).tensors();
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t k = 0; k < ta.size(); ++k) {
    ASSERT_EQ(ta[k].size(), tb[k].size());
    EXPECT_EQ(std::memcmp(ta[k].data(), tb[k].data(), ta[k].size_bytes()), 0);
  }
  ASSERT_TRUE(b->save_peft(dir.file("two")).is_ok());
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors"}) {
    EXPECT_EQ(*read_file(dir.file("one") + "/" + f), *read_file(dir.file("two") + "/" + f)) << f;
  }
}

TEST(LoraAdapter, InitialisesAsPeft) {
  engine::LoraConfig config;
  config.rank = 8;
  config.alpha = 16;
  config.targets = {engine::LoraTarget::Q_PROJ, engine::LoraTarget::DOWN_PROJ};
  engine::HfConfig model = golden_config();
  auto a = engine::LoraAdapter::init(model, config, 7);
  auto again = engine::LoraAdapter::init(model, config, 7);
  auto other = engine::LoraAdapter::init(model, config, 8);
  ASSERT_TRUE(a.is_ok() && again.is_ok() && other.is_ok());
  EXPECT_EQ(a->scaling(), 2.0);
  for (int64_t l = 0; l < model.num_layers; ++l) {
    for (engine::LoraTarget t : config.targets) {
      const engine::LoraPair* p = a->find(l, t);
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(a->find(l, engine::LoraTarget::K_PROJ), nullptr);
      for (float v : p->b)
        EXPECT_EQ(v, 0.0f);
      // kaiming_uniform(a = sqrt(5)) is U(-1/sqrt(in), 1/sqrt(in)): every value inside, and
      // the sample's variance near bound^2 / 3.
      double bound = 1.0 / std::sqrt(static_cast<double>(a->shape(t).in));
      double ss = 0;
      for (float v : p->a) {
        EXPECT_LE(std::fabs(v), bound);
        ss += static_cast<double>(v) * v;
      }
      double var = ss / static_cast<double>(p->a.size());
      EXPECT_NEAR(var / (bound * bound / 3), 1.0, 0.25) << engine::lora_target_name(t);
      EXPECT_EQ(p->a, again->find(l, t)->a);
      EXPECT_NE(p->a, other->find(l, t)->a);
    }
  }
  config.targets.push_back(engine::LoraTarget::Q_PROJ);
  auto twice = engine::LoraAdapter::init(model, config, 7);
  ASSERT_FALSE(twice.is_ok());
  EXPECT_NE(twice.status().message().find("q_proj is named twice"), std::string::npos);
  config.targets.clear();
  EXPECT_FALSE(engine::LoraAdapter::init(model, config, 7).is_ok());
  config.targets = {engine::LoraTarget::K_PROJ};
  config.rank = 33;  // k_proj is (32, 64)
  auto too_big = engine::LoraAdapter::init(model, config, 7);
  ASSERT_FALSE(too_big.is_ok());
  EXPECT_NE(too_big.status().message().find("k_proj's smaller side (32)"), std::string::npos)
      << too_big.status().message();
}

TEST(LoraAdapter, RejectsBadConfigsNamingTheField) {
  // The minimal config itself loads.
  {
    TempDir dir;
    copy_golden(dir.path(), minimal_config());
    auto ok = engine::LoraAdapter::load_peft(dir.path(), golden_config());
    EXPECT_TRUE(ok.is_ok()) << ok.status().to_string();
  }
  struct Case {
    std::string config;
    std::string field;
  };
  std::vector<Case> cases = {
      {"not json", "adapter_config.json"},
      {"[1, 2]", "not a JSON object"},
      {R"({"peft_type": "PREFIX_TUNING", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]})",
       "\"peft_type\""},
      {R"({"peft_type": "LORA", "r": 0, "lora_alpha": 8, "target_modules": ["q_proj"]})", "\"r\""},
      {R"({"peft_type": "LORA", "r": 4000000000, "lora_alpha": 8, "target_modules": ["q_proj"]})",
       "exceeds q_proj's smaller side"},
      {R"({"peft_type": "LORA", "r": 4, "lora_alpha": "8", "target_modules": ["q_proj"]})",
       "\"lora_alpha\""},
      {R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8})", "\"target_modules\" is missing"},
      {R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ".*proj"})",
       "\"target_modules\" names \".*proj\""},
      {R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["lm_head"]})",
       "\"target_modules\" names \"lm_head\""},
      {minimal_config(R"(, "use_dora": true)"), "\"use_dora\""},
      {minimal_config(R"(, "rank_pattern": {"q_proj": 8})"), "\"rank_pattern\""},
      {minimal_config(R"(, "layers_to_transform": [0])"), "\"layers_to_transform\""},
      {minimal_config(R"(, "bias": "all")"), "\"bias\""},
      {minimal_config(R"(, "fan_in_fan_out": true)"), "\"fan_in_fan_out\""},
  };
  for (const Case& c : cases) {
    std::string message = config_error(c.config);
    EXPECT_NE(message.find("adapter_config.json"), std::string::npos) << message;
    EXPECT_NE(message.find(c.field), std::string::npos) << c.config << " -> " << message;
  }
  // A config whose rank disagrees with the tensors: the tensor and both shapes are named.
  std::string message = config_error(
      R"({"peft_type": "LORA", "r": 8, "lora_alpha": 8, "target_modules": ["q_proj", "k_proj",
      "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]})");
  EXPECT_NE(message.find("adapter_model.safetensors: tensor base_model.model.model.layers."),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("expected [8, "), std::string::npos) << message;
  // Fewer targets than the file holds: the stranger is named.
  message = config_error(
      R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]})");
  EXPECT_NE(message.find("not in target_modules"), std::string::npos) << message;
}

// Writes an adapter file holding the golden tensors, with `edit` applied to the list.
void write_tensors(const std::string& dir,
                   const std::function<void(std::vector<engine::TensorData>*)>& edit) {
  auto file = engine::SafetensorsFile::open(golden_adapter() + "/adapter_model.safetensors");
  ASSERT_TRUE(file.is_ok());
  std::vector<engine::TensorData> data;
  for (const engine::TensorView& t : file->tensors()) {
    data.push_back({t.name, t.dtype, t.shape,
                    std::string_view(reinterpret_cast<const char*>(t.data), t.nbytes)});
  }
  edit(&data);
  ASSERT_TRUE(engine::safetensors_write(dir + "/adapter_model.safetensors", data).is_ok());
  std::filesystem::copy_file(golden_adapter() + "/adapter_config.json",
                             dir + "/adapter_config.json");
}

std::string tensor_error(const std::function<void(std::vector<engine::TensorData>*)>& edit) {
  TempDir dir;
  write_tensors(dir.path(), edit);
  auto a = engine::LoraAdapter::load_peft(dir.path(), golden_config());
  EXPECT_FALSE(a.is_ok());
  return a.is_ok() ? "" : a.status().message();
}

TEST(LoraAdapter, RejectsBadTensorsNamingThem) {
  const std::string q0 = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
  std::string message = tensor_error([&](auto* data) {
    std::erase_if(*data, [&](const engine::TensorData& t) { return t.name == q0; });
  });
  EXPECT_NE(message.find(q0 + " is missing"), std::string::npos) << message;

  static const std::vector<char> EXTRA(4 * 64 * 4, 0);
  message = tensor_error([&](auto* data) {
    data->push_back({"base_model.model.model.embed_tokens.lora_embedding_A",
                     engine::DType::F32,
                     {4, 64},
                     std::string_view(EXTRA.data(), EXTRA.size())});
  });
  EXPECT_NE(message.find("lora_embedding_A is not a LoRA A or B weight"), std::string::npos)
      << message;

  message = tensor_error([&](auto* data) {
    data->push_back({"base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight",
                     engine::DType::F32,
                     {4, 64},
                     std::string_view(EXTRA.data(), EXTRA.size())});
  });
  EXPECT_NE(message.find("layer 7, beyond the model's 3"), std::string::npos) << message;

  message = tensor_error([&](auto* data) {
    for (engine::TensorData& t : *data) {
      if (t.name == q0) t.dtype = engine::DType::I32;
    }
  });
  EXPECT_NE(message.find(q0 + " is I32"), std::string::npos) << message;

  // A truncated file: the reader's error names it.
  TempDir dir;
  copy_golden(dir.path());
  std::filesystem::resize_file(dir.file("adapter_model.safetensors"), 1000);
  auto a = engine::LoraAdapter::load_peft(dir.path(), golden_config());
  ASSERT_FALSE(a.is_ok());
  EXPECT_NE(a.status().message().find("adapter_model.safetensors"), std::string::npos)
      << a.status().message();
  // No config file at all.
  std::filesystem::remove(dir.file("adapter_config.json"));
  a = engine::LoraAdapter::load_peft(dir.path(), golden_config());
  ASSERT_FALSE(a.is_ok());
  EXPECT_NE(a.status().message().find("adapter_config.json"), std::string::npos)
      << a.status().message();
}

}  // namespace
}  // namespace socle::train
