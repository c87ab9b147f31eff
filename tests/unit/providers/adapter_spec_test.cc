// Base-plus-adapter models in [[models]] (base = a local chat model, adapter = a PEFT
// folder): what is read, each mistake refused naming the model and the field, and
// Registry::load_local_models putting the adapter in the catalog for every user, with the
// golden PEFT adapter on the golden base (../shared/golden/llama-lora).
#include <gtest/gtest.h>

#include <string>

#include "base/file.h"
#include "base/json.h"
#include "providers/model_spec.h"
#include "providers/registry.h"
#include "unit/engine/temp_dir.h"

namespace socle::providers {
namespace {

std::string golden(const std::string& name) {
  return std::string(SOCLE_GOLDEN_DIR) + "/" + name;
}

Result<std::vector<ModelSpec>> parse(const std::string& json_text) {
  auto v = json::parse(json_text);
  EXPECT_TRUE(v.is_ok()) << json_text;
  return parse_model_specs(v->as_array());
}

void expect_error(const std::string& json_text, const std::string& fragment) {
  auto r = parse(json_text);
  ASSERT_FALSE(r.is_ok()) << json_text;
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

// A local chat model on `base` with the tokenizer `tokenizer`, as a [[models]] entry.
std::string local_entry(const std::string& name, const std::string& base,
                        const std::string& tokenizer, const char* kind = "chat") {
  return R"({"name":")" + name + R"(","kind":")" + kind + R"(","path":")" + base +
         R"(","tokenizer":")" + tokenizer + R"(","kv_memory_mb":1,"threads":1})";
}

std::string adapter_entry(const std::string& name, const std::string& base,
                          const std::string& folder) {
  return R"({"name":")" + name + R"(","base":")" + base + R"(","adapter":")" + folder + R"("})";
}

// A WordPiece tokenizer of a few words: the golden models come without one, and the adapter
// path does not depend on the tokenizer.
std::string write_tokenizer(const engine::testing::TempDir& dir) {
  std::string path = dir.file("tokenizer.json");
  std::string json = R"({"version":"1.0","added_tokens":[],"normalizer":null,
    "pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,
    "model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##",
    "max_input_chars_per_word":100,"vocab":{"[UNK]":0,"le":1,"la":2,"les":3}}})";
  EXPECT_TRUE(write_file_atomic(path, json).is_ok());
  return path;
}

TEST(AdapterModelSpec, ReadsABasePlusAdapterModel) {
  std::string base = golden("llama-lora/base");
  std::string adapter = golden("llama-lora/adapter");
  auto r = parse("[" + local_entry("tiny", base, "/dev/null", "completion") + "," +
                 adapter_entry("tiny-lora", "tiny", adapter) + "]");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 2u);
  const ModelSpec& m = r->at(1);
  ASSERT_TRUE(m.adapter.has_value());
  EXPECT_EQ(m.name, "tiny-lora");
  EXPECT_EQ(m.adapter->base, "tiny");
  EXPECT_EQ(m.adapter->path, adapter);
  EXPECT_EQ(m.kind, ModelKind::COMPLETION) << "the base's kind";
  EXPECT_FALSE(m.local.has_value());
  EXPECT_TRUE(m.providers.empty());
}

TEST(AdapterModelSpec, RefusesMistakesByName) {
  std::string base = golden("llama-lora/base");
  std::string adapter = golden("llama-lora/adapter");
  std::string tiny = local_entry("tiny", base, "/dev/null");
  expect_error("[" + adapter_entry("x", "tiny", adapter) + "," + tiny + "]",
               "models 'x': base 'tiny' is not a model socle runs named earlier");
  expect_error(R"([{"name":"up","providers":[{"url":"http://127.0.0.1:1/v1"}]},)" +
                   adapter_entry("x", "up", adapter) + "]",
               "base 'up' is not a model socle runs");
  expect_error("[" + local_entry("emb", base, "/dev/null", "embedding") + "," +
                   adapter_entry("x", "emb", adapter) + "]",
               "base 'emb' is of kind embedding");
  expect_error("[" + tiny + "," + adapter_entry("x", "tiny", "/nonexistent/adapter") + "]",
               "models 'x': adapter '/nonexistent/adapter' is not a folder");
  expect_error("[" + tiny + R"(,{"name":"x","base":"tiny"}])", "models 'x'");
  expect_error(
      "[" + tiny + R"(,{"name":"x","base":"tiny","adapter":")" + adapter + R"(","threads":2}])",
      "models 'x': 'threads' does not apply to a base-plus-adapter model");
  expect_error("[" + tiny + "," + adapter_entry("tiny", "tiny", adapter) + "]",
               "'tiny' is used twice");
}

TEST(AdapterModelRegistry, LoadsTheAdapterForEveryUser) {
  engine::testing::TempDir dir;
  std::string tokenizer = write_tokenizer(dir);
  std::string adapter = golden("llama-lora/adapter");
  auto specs = parse("[" + local_entry("tiny", golden("llama-lora/base"), tokenizer, "completion") +
                     "," + adapter_entry("tiny-lora", "tiny", adapter) + "]");
  ASSERT_TRUE(specs.is_ok()) << specs.status().to_string();
  ManualClock clock(1'700'000'000);
  Registry registry(std::move(specs).value(), {}, clock);
  EXPECT_EQ(registry.find("tiny-lora"), nullptr) << "in the catalog, not among the models";
  Status st = registry.load_local_models();
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  auto m = registry.adapters().find("tiny-lora");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->base, "tiny");
  EXPECT_EQ(m->owner_user, 0) << "every user";
  EXPECT_EQ(m->source, adapter);
  EXPECT_EQ(m->created_at, 1'700'000'000);
  ASSERT_NE(m->adapter, nullptr);
  EXPECT_EQ(m->adapter->config().rank, 4);
  EXPECT_EQ(registry.models().size(), 1u);
}

TEST(AdapterModelRegistry, RefusesAnAdapterThatIsNotOneOrDoesNotFit) {
  engine::testing::TempDir dir;
  std::string tokenizer = write_tokenizer(dir);
  // A folder that holds no adapter_config.json.
  auto specs = parse("[" + local_entry("tiny", golden("llama-lora/base"), tokenizer, "completion") +
                     "," + adapter_entry("bad", "tiny", golden("llama-lora/base")) + "]");
  ASSERT_TRUE(specs.is_ok()) << specs.status().to_string();
  ManualClock clock(0);
  Registry not_peft(std::move(specs).value(), {}, clock);
  Status st = not_peft.load_local_models();
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("models 'bad': adapter: "), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("adapter_config.json"), std::string::npos) << st.message();

  // The golden adapter on another model's shapes (qwen3: heads of 32, not 16).
  specs = parse("[" + local_entry("other", golden("qwen3"), tokenizer, "completion") + "," +
                adapter_entry("misfit", "other", golden("llama-lora/adapter")) + "]");
  ASSERT_TRUE(specs.is_ok()) << specs.status().to_string();
  Registry misfit(std::move(specs).value(), {}, clock);
  st = misfit.load_local_models();
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("models 'misfit': adapter"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace socle::providers
