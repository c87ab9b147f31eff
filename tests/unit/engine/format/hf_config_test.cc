#include "engine/format/hf_config.h"

#include <gtest/gtest.h>

#include "unit/engine/golden.h"

namespace socle::engine {
namespace {

HfConfig read_golden(const std::string& model) {
  auto config = hf_config_read(testing::golden_dir(model));
  EXPECT_TRUE(config.is_ok()) << config.status().to_string();
  return config.is_ok() ? *config : HfConfig{};
}

TEST(HfConfig, ReadsLlama3WithRopeParameters) {
  HfConfig c = read_golden("llama3");
  EXPECT_EQ(c.family, ModelFamily::LLAMA);
  EXPECT_EQ(c.head, ModelHead::CAUSAL_LM);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 160);
  EXPECT_EQ(c.num_layers, 3);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.rope.type, RopeType::LLAMA3);
  EXPECT_DOUBLE_EQ(c.rope.theta, 500000.0);
  EXPECT_DOUBLE_EQ(c.rope.factor, 8.0);
  EXPECT_DOUBLE_EQ(c.rope.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope.original_max_position_embeddings, 8192);
}

TEST(HfConfig, ReadsQwen2AndQwen3) {
  HfConfig q2 = read_golden("qwen2");
  EXPECT_EQ(q2.family, ModelFamily::QWEN2);
  EXPECT_TRUE(q2.attention_bias);
  EXPECT_FALSE(q2.attention_out_bias);
  EXPECT_TRUE(q2.tie_word_embeddings);
  EXPECT_EQ(q2.rope.type, RopeType::DEFAULT);
  EXPECT_DOUBLE_EQ(q2.rope.theta, 1e6);
  EXPECT_EQ(q2.sliding_window, 0);

  HfConfig q3 = read_golden("qwen3");
  EXPECT_EQ(q3.family, ModelFamily::QWEN3);
  EXPECT_EQ(q3.head_dim, 32);  // explicit, not hidden_size / num_heads
  EXPECT_TRUE(q3.qk_norm);
  EXPECT_FALSE(q3.attention_bias);
  EXPECT_TRUE(q3.tie_word_embeddings);
}

TEST(HfConfig, ReadsEncoders) {
  HfConfig bert = read_golden("bert");
  EXPECT_EQ(bert.family, ModelFamily::BERT);
  EXPECT_EQ(bert.head, ModelHead::ENCODER);
  EXPECT_EQ(bert.head_dim, 16);
  EXPECT_EQ(bert.activation, Activation::GELU);
  EXPECT_DOUBLE_EQ(bert.norm_eps, 1e-12);
  EXPECT_EQ(bert.type_vocab_size, 2);
  EXPECT_EQ(bert.pad_token_id, 0);
  EXPECT_EQ(bert.max_position_embeddings, 128);

  HfConfig xlmr = read_golden("xlm-roberta");
  EXPECT_EQ(xlmr.family, ModelFamily::XLM_ROBERTA);
  EXPECT_EQ(xlmr.pad_token_id, 1);
  EXPECT_EQ(xlmr.type_vocab_size, 1);

  HfConfig reranker = read_golden("bert-reranker");
  EXPECT_EQ(reranker.head, ModelHead::BERT_CLASSIFIER);
  EXPECT_EQ(reranker.num_labels, 1);
}

// The shape of meta-llama/Llama-3.1-8B's config: top-level rope_theta and rope_scaling.
TEST(HfConfig, ReadsTopLevelRopeKeys) {
  auto c = hf_config_parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128256,
    "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": false,
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"}})");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->head_dim, 128);
  EXPECT_EQ(c->rope.type, RopeType::LLAMA3);
  EXPECT_DOUBLE_EQ(c->rope.theta, 500000.0);
  EXPECT_DOUBLE_EQ(c->rope.factor, 8.0);
}

TEST(HfConfig, ReadsMistralAndLegacyLinearScaling) {
  auto c = hf_config_parse(R"({
    "model_type": "mistral", "vocab_size": 32000, "hidden_size": 4096,
    "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
    "num_key_value_heads": 8, "max_position_embeddings": 32768, "rope_theta": 1000000.0,
    "sliding_window": null, "rope_scaling": {"type": "linear", "factor": 2.0}})");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->family, ModelFamily::MISTRAL);
  EXPECT_EQ(c->sliding_window, 0);
  EXPECT_EQ(c->rope.type, RopeType::LINEAR);
  EXPECT_DOUBLE_EQ(c->rope.factor, 2.0);
  EXPECT_DOUBLE_EQ(c->rope.theta, 1e6);
  EXPECT_DOUBLE_EQ(c->norm_eps, 1e-6);
}

struct BadConfig {
  const char* what;
  const char* json;
  const char* error;
};

TEST(HfConfig, RejectsWhatItCannotRun) {
  const BadConfig cases[] = {
      {"not JSON", "{", "config.json"},
      {"no model_type", R"({"vocab_size": 8})", "\"model_type\" is missing"},
      {"unknown model_type", R"({"model_type": "gpt2"})", "\"model_type\" is \"gpt2\""},
      {"missing size",
       R"({"model_type": "llama", "vocab_size": 8, "intermediate_size": 8,
           "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 8})",
       "\"hidden_size\" is missing"},
      {"kv heads do not divide",
       R"({"model_type": "llama", "vocab_size": 8, "hidden_size": 8, "intermediate_size": 8,
           "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 3,
           "max_position_embeddings": 8})",
       "must divide num_attention_heads"},
      {"yarn", R"({"model_type": "qwen2", "vocab_size": 8, "hidden_size": 8,
           "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
           "max_position_embeddings": 8, "rope_scaling": {"type": "yarn", "factor": 4.0}})",
       "\"rope_type\" is \"yarn\""},
      {"llama3 without its factors",
       R"({"model_type": "llama", "vocab_size": 8, "hidden_size": 8, "intermediate_size": 8,
           "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 8,
           "rope_parameters": {"rope_type": "llama3", "factor": 8.0, "rope_theta": 5e5}})",
       "needs low_freq_factor"},
      {"string size", R"({"model_type": "llama", "vocab_size": "8"})",
       "\"vocab_size\" must be an integer"},
      {"unknown activation",
       R"({"model_type": "bert", "vocab_size": 8, "hidden_size": 8, "intermediate_size": 8,
           "num_hidden_layers": 1, "num_attention_heads": 2, "hidden_act": "relu"})",
       "\"hidden_act\" is \"relu\""},
      {"qwen sliding window",
       R"({"model_type": "qwen2", "vocab_size": 8, "hidden_size": 8, "intermediate_size": 8,
           "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 8,
           "use_sliding_window": true, "sliding_window": 4})",
       "\"use_sliding_window\" is true"},
      {"absurd size", R"({"model_type": "llama", "vocab_size": 9223372036854775807})",
       "\"vocab_size\" is 9223372036854775807, over the limit"},
      {"unknown head", R"({"model_type": "bert", "architectures": ["BertForTokenClassification"]})",
       "BertForTokenClassification"},
  };
  for (const BadConfig& c : cases) {
    SCOPED_TRACE(c.what);
    auto config = hf_config_parse(c.json);
    ASSERT_FALSE(config.is_ok());
    EXPECT_EQ(config.status().code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(config.status().message().find(c.error), std::string::npos)
        << config.status().message();
  }
}

}  // namespace
}  // namespace socle::engine
