// socle tokenize | detokenize | template | tokenizer-gguf: the engine's tokenizer and chat
// templates from the command line, on the files models ship (tokenizer.json and
// tokenizer_config.json, a GGUF file, or the folder holding them), and the GGUF writer.
#include <CLI/CLI.hpp>
#include <boost/json/array.hpp>
#include <cstdio>
#include <filesystem>

#include "base/file.h"
#include "base/json.h"
#include "cli/commands.h"
#include "engine/format/gguf.h"
#include "engine/template/chat_template.h"
#include "engine/tokenizer/gguf_vocab.h"
#include "engine/tokenizer/tokenizer.h"

namespace socle::cli {
namespace {

struct TokenizeFlags {
  std::string tokenizer;
  std::string text;
  std::string file;
  std::string ids;
  bool special = false;
  bool no_clean_up = false;
  std::string config;
  std::string messages;
  std::string tools;
  bool no_generation_prompt = false;
  std::string out;
  std::string architecture;
  std::string name;
};

int fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "socle %s: %s\n", what.c_str(), s.message().c_str());
  return s.code() == StatusCode::INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILURE_RUNTIME;
}

int run_tokenize(const TokenizeFlags& f) {
  if (f.text.empty() == f.file.empty()) {
    return fail("tokenize", invalid_argument("give exactly one of --text and --file"));
  }
  std::string text = f.text;
  if (!f.file.empty()) {
    Result<std::string> read = read_file(f.file);
    if (!read.is_ok()) return fail("tokenize", read.status());
    text = std::move(read).value();
  }
  auto tok = engine::tokenizer::Tokenizer::load(f.tokenizer);
  if (!tok.is_ok()) return fail("tokenize", tok.status());
  auto ids = tok->encode(text, f.special);
  if (!ids.is_ok()) return fail("tokenize", ids.status());
  boost::json::array out;
  for (int32_t id : *ids)
    out.emplace_back(id);
  std::printf("%s\n", json::dump(out).c_str());
  return EXIT_OK;
}

int run_detokenize(const TokenizeFlags& f) {
  Result<boost::json::value> parsed = json::parse(f.ids);
  if (!parsed.is_ok() || !parsed->is_array()) {
    return fail("detokenize", invalid_argument("--ids must be a JSON array of integers"));
  }
  std::vector<int32_t> ids;
  for (const auto& v : parsed->as_array()) {
    if (!v.is_int64() || v.as_int64() < 0 || v.as_int64() > INT32_MAX) {
      return fail("detokenize", invalid_argument("--ids must be a JSON array of token ids"));
    }
    ids.push_back(static_cast<int32_t>(v.as_int64()));
  }
  auto tok = engine::tokenizer::Tokenizer::load(f.tokenizer);
  if (!tok.is_ok()) return fail("detokenize", tok.status());
  for (int32_t id : ids) {
    if (static_cast<size_t>(id) >= tok->vocab_size()) {
      return fail("detokenize", invalid_argument("token id " + std::to_string(id) +
                                                 " is outside the vocabulary of " +
                                                 std::to_string(tok->vocab_size())));
    }
  }
  engine::tokenizer::DecodeOptions options;
  options.skip_special_tokens = !f.special;
  if (f.no_clean_up) options.clean_up_tokenization_spaces = false;
  std::string text = tok->decode(ids, options);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return EXIT_OK;
}

Result<boost::json::value> read_json_file(const std::string& path, const char* what) {
  SOCLE_ASSIGN_OR_RETURN(std::string text, read_file(path));
  Result<boost::json::value> v = json::parse(text);
  if (!v.is_ok())
    return invalid_argument(std::string(what) + " " + path + ": " + v.status().message());
  if (!v->is_array())
    return invalid_argument(std::string(what) + " " + path + " must be a JSON array");
  return v;
}

// tokenizer_config.json's text, from that file, the folder holding it, or a GGUF file (whose
// tokenizer.chat_template and special token ids say the same).
Result<std::string> tokenizer_config_text(const std::string& path) {
  std::string config_path = path;
  if (std::filesystem::is_directory(config_path)) {
    config_path = (std::filesystem::path(config_path) / "tokenizer_config.json").string();
  }
  if (std::filesystem::path(config_path).extension() != ".gguf") return read_file(config_path);
  SOCLE_ASSIGN_OR_RETURN(engine::GgufFile gguf, engine::GgufFile::open(config_path));
  SOCLE_ASSIGN_OR_RETURN(boost::json::object config,
                         engine::tokenizer::gguf_tokenizer_config(gguf));
  return json::dump(config);
}

int run_template(const TokenizeFlags& f) {
  Result<std::string> config = tokenizer_config_text(f.config);
  if (!config.is_ok()) return fail("template", config.status());
  auto tmpl = engine::jinja::ChatTemplate::from_tokenizer_config(*config);
  if (!tmpl.is_ok()) return fail("template", tmpl.status());
  engine::jinja::ChatInput input;
  Result<boost::json::value> messages = read_json_file(f.messages, "--messages");
  if (!messages.is_ok()) return fail("template", messages.status());
  input.messages = std::move(messages).value();
  if (!f.tools.empty()) {
    Result<boost::json::value> tools = read_json_file(f.tools, "--tools");
    if (!tools.is_ok()) return fail("template", tools.status());
    input.tools = std::move(tools).value();
  }
  input.add_generation_prompt = !f.no_generation_prompt;
  input.bos_token = tmpl->bos_token();
  input.eos_token = tmpl->eos_token();
  Result<std::string> text = tmpl->render(input);
  if (!text.is_ok()) return fail("template", text.status());
  std::fwrite(text->data(), 1, text->size(), stdout);
  return EXIT_OK;
}

int run_tokenizer_gguf(const TokenizeFlags& f) {
  auto keys = engine::tokenizer::gguf_tokenizer_metadata_from_path(f.tokenizer);
  if (!keys.is_ok()) return fail("tokenizer-gguf", keys.status());
  std::string name = f.name;
  if (name.empty()) name = std::filesystem::path(f.out).stem().string();
  Status written = engine::tokenizer::gguf_write_tokenizer(f.out, *keys, f.architecture, name);
  if (!written.is_ok()) return fail("tokenizer-gguf", written);
  return EXIT_OK;
}

}  // namespace

void add_tokenizer_commands(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<TokenizeFlags>();
  const char* path_help =
      "tokenizer.json, a GGUF file, or the model folder holding one (tokenizer.json first, "
      "else its only .gguf file)";

  CLI::App* tok = app.add_subcommand("tokenize", "Print the token ids of a text as a JSON array");
  tok->add_option("--tokenizer", f->tokenizer, path_help)->required();
  tok->add_option("--text", f->text, "the text");
  tok->add_option("--file", f->file, "a file holding the text");
  tok->add_flag("--special", f->special, "add the special tokens (BOS...) the post-processor adds");
  tok->callback([f, exit_code] { *exit_code = run_tokenize(*f); });

  CLI::App* detok = app.add_subcommand("detokenize", "Print the text of token ids");
  detok->add_option("--tokenizer", f->tokenizer, path_help)->required();
  detok->add_option("--ids", f->ids, "a JSON array of ids, e.g. [128000,9906]")->required();
  detok->add_flag("--special", f->special, "keep special tokens in the text");
  detok->add_flag("--no-clean-up", f->no_clean_up,
                  "keep the spaces before punctuation (transformers 5's default; the tokenizer's "
                  "clean_up_tokenization_spaces, true when unset, applies otherwise)");
  detok->callback([f, exit_code] { *exit_code = run_detokenize(*f); });

  CLI::App* tmpl = app.add_subcommand("template", "Render a conversation with a chat template");
  tmpl->add_option("--tokenizer-config", f->config,
                   "tokenizer_config.json, the model folder holding it, or a GGUF file")
      ->required();
  tmpl->add_option("--messages", f->messages, "a JSON file: an array of messages")->required();
  tmpl->add_option("--tools", f->tools, "a JSON file: an array of tool definitions");
  tmpl->add_flag("--no-generation-prompt", f->no_generation_prompt,
                 "do not end with the assistant's turn header");
  tmpl->callback([f, exit_code] { *exit_code = run_template(*f); });

  CLI::App* gguf = app.add_subcommand(
      "tokenizer-gguf", "Write a Hugging Face tokenizer as a vocabulary-only GGUF file");
  gguf->add_option("--tokenizer", f->tokenizer, "tokenizer.json, or the model folder holding it")
      ->required();
  gguf->add_option("--out", f->out, "the GGUF file to write")->required();
  gguf->add_option("--architecture", f->architecture,
                   "general.architecture (llama.cpp needs one it knows to load the file)")
      ->default_val("llama");
  gguf->add_option("--name", f->name, "general.name (default: the file name without .gguf)");
  gguf->callback([f, exit_code] { *exit_code = run_tokenizer_gguf(*f); });
}

}  // namespace socle::cli
