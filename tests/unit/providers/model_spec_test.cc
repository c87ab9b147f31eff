// [[models]] entries for socle's own engine (a path instead of providers): what is read, and
// each mistake refused with a message naming the model and the field.
#include "providers/model_spec.h"

#include <gtest/gtest.h>

#include "base/json.h"

namespace socle::providers {
namespace {

Result<std::vector<ModelSpec>> parse(const std::string& json_text) {
  auto v = json::parse(json_text);
  EXPECT_TRUE(v.is_ok());
  return parse_model_specs(v->as_array());
}

std::string golden_llama() {
  return std::string(SOCLE_GOLDEN_DIR) + "/llama3";
}

void expect_error(const std::string& json_text, const std::string& fragment) {
  auto r = parse(json_text);
  ASSERT_FALSE(r.is_ok()) << json_text;
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(LocalModelSpec, ReadsEveryField) {
  auto r = parse(
      R"([{"name":"tiny","kind":"chat","path":")" + golden_llama() +
      R"(","context_length":512,"kv_memory_mb":64,"kv_type":"f16","threads":2,"max_sequences":8,
                    "max_batch_tokens":128,"block_tokens":32,"quantize":"q4_k",
                    "sampling":{"temperature":0.5,"top_p":0.9,"top_k":40,"min_p":0.05,
                                "repetition_penalty":1.1}}])");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const ModelSpec& m = r->at(0);
  ASSERT_TRUE(m.local.has_value());
  EXPECT_TRUE(m.providers.empty());
  EXPECT_EQ(m.local->path, golden_llama());
  EXPECT_EQ(m.context_length, 512);
  EXPECT_EQ(m.local->kv_memory_mb, 64);
  EXPECT_EQ(m.local->kv_type, engine::DType::F16);
  EXPECT_EQ(m.local->threads, 2);
  EXPECT_EQ(m.local->max_sequences, 8);
  EXPECT_EQ(m.local->max_batch_tokens, 128);
  EXPECT_EQ(m.local->block_tokens, 32);
  EXPECT_EQ(m.local->quantize, engine::DType::Q4_K);
  EXPECT_DOUBLE_EQ(m.local->sampling.temperature, 0.5);
  EXPECT_DOUBLE_EQ(m.local->sampling.top_p, 0.9);
  EXPECT_EQ(m.local->sampling.top_k, 40);
  EXPECT_DOUBLE_EQ(m.local->sampling.min_p, 0.05);
  EXPECT_DOUBLE_EQ(m.local->sampling.repetition_penalty, 1.1);
}

TEST(LocalModelSpec, RefusesMistakesByName) {
  std::string path = golden_llama();
  expect_error(R"([{"name":"a","path":"/nonexistent/model"}])", "does not exist");
  expect_error(
      R"([{"name":"a","path":")" + path + R"(","providers":[{"url":"http://127.0.0.1:1/v1"}]}])",
      "not both");
  expect_error(R"([{"name":"a","kind":"ocr","path":")" + path + R"("}])", "not ocr");
  expect_error(R"([{"name":"a","providers":[{"url":"http://127.0.0.1:1/v1"}],"threads":2}])",
               "for models with a path");
  expect_error(R"([{"name":"a","path":")" + path + R"(","sampling":{"temperature":5}}])",
               "temperature");
  expect_error(R"([{"name":"a","path":")" + path + R"(","sampling":{"seed":5}}])", "seed");
  expect_error(R"([{"name":"a","path":")" + path + R"(","max_sequences":64,"max_batch_tokens":8}])",
               "max_batch_tokens");
  expect_error(R"([{"name":"a","path":")" + path + R"(","kv_memory_mb":0}])", "kv_memory_mb");
  expect_error(R"([{"name":"a","kind":"embedding","path":")" + path +
                   R"(","chat_template":"/tmp/x.jinja"}])",
               "chat models only");
  expect_error(R"([{"name":"a"}])", "or a path");
  expect_error(R"([{"name":"a","path":")" + path + R"(","quantize":"q3_k"}])", "not q8_0");
  expect_error(R"([{"name":"a","kind":"embedding","path":")" + path + R"(","quantize":"q8_0"}])",
               "llama family");
  expect_error(R"([{"name":"a","path":")" + path + R"(","kv_type":"bf16"}])", "not f32 or f16");
  expect_error(R"([{"name":"a","kind":"rerank","path":")" + path + R"(","kv_type":"f16"}])",
               "llama family");
  expect_error(R"([{"name":"a","providers":[{"url":"http://127.0.0.1:1/v1"}],"kv_type":"f16"}])",
               "for models with a path");
}

}  // namespace
}  // namespace socle::providers
