#include "gguf_cases.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string_view>

#include "npm_oracle.h"

namespace socle::engine::tokenizer {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view SCORES_SUFFIX = "-scores";

// A folder for the files, removed when the test binary exits.
class CaseDir {
 public:
  CaseDir()
      : path_(fs::temp_directory_path() / ("socle-gguf-cases-" + std::to_string(::getpid()))) {
    fs::create_directories(path_);
  }
  ~CaseDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  CaseDir(const CaseDir&) = delete;
  CaseDir& operator=(const CaseDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// Every GGUF test needs the files: without them there is nothing to run.
[[noreturn]] void die(const std::string& name, const Status& status) {
  std::fprintf(stderr, "GGUF test case %s: %s\n", name.c_str(), status.to_string().c_str());
  std::abort();
}

struct Loaded {
  GgufCase c;
  std::unique_ptr<Tokenizer> owned;
};

}  // namespace

std::string gguf_case_source(const std::string& name) {
  if (std::find(GGUF_GOLDEN_CASES.begin(), GGUF_GOLDEN_CASES.end(), name) !=
      GGUF_GOLDEN_CASES.end()) {
    return std::string(SOCLE_GOLDEN_DIR) + "/tokenizers/" + name;
  }
  return npm_tokenizer_dir(name);
}

const GgufCase& gguf_case(const std::string& name) {
  static CaseDir dir;
  static std::map<std::string, Loaded> cases;
  auto it = cases.find(name);
  if (it != cases.end()) return it->second.c;
  Loaded loaded;
  bool scores = name.ends_with(SCORES_SUFFIX);
  if (scores) {
    loaded.c.keys = gguf_case(name.substr(0, name.size() - SCORES_SUFFIX.size())).keys;
    std::erase_if(loaded.c.keys,
                  [](const auto& kv) { return kv.first == "tokenizer.ggml.merges"; });
  } else {
    auto keys = gguf_tokenizer_metadata_from_path(gguf_case_source(name));
    if (!keys.is_ok()) die(name, keys.status());
    loaded.c.keys = std::move(keys).value();
  }
  loaded.c.path = dir.file(name + ".gguf");
  Status written = gguf_write_tokenizer(loaded.c.path, loaded.c.keys, "llama", name);
  if (!written.is_ok()) die(name, written);
  auto tok = Tokenizer::load(loaded.c.path);
  if (!tok.is_ok()) die(name, tok.status());
  loaded.owned = std::make_unique<Tokenizer>(std::move(tok).value());
  loaded.c.tokenizer = loaded.owned.get();
  return cases.emplace(name, std::move(loaded)).first->second.c;
}

}  // namespace socle::engine::tokenizer
