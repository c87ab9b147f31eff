// Tokenizer throughput: encodes the strings of a corpus (tests/unit/engine/tokenizer/
// corpus.json), pass after pass until a given number of megabytes have gone through, and
// prints one JSON line: load time, bytes, tokens, seconds, tokens/s and MB/s. bench/tokenizer/
// run puts it beside @lenml/tokenizers (lenml.mjs) on the same corpus and compares their ids.
//
//   tokenizer_bench --tokenizer PATH --corpus corpus.json [--megabytes 8] [--ids OUT.json]
//                   [--cold]
//
// PATH is anything Tokenizer::load takes (tokenizer.json, a GGUF file, a model folder). One
// unmeasured pass warms the caches first; --ids writes the ids of one pass (without special
// tokens, as a JSON array per string) for the comparison. --cold empties the tokenizer's
// word cache before each string, so that every string is tokenized from scratch.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>

#include "base/file.h"
#include "base/json.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

using socle::engine::tokenizer::Tokenizer;
using Clock = std::chrono::steady_clock;

constexpr double BYTES_PER_MB = 1e6;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int fail(const std::string& what) {
  std::fprintf(stderr, "tokenizer_bench: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tokenizer throughput on a corpus"};
  std::string tokenizer_path;
  std::string corpus_path;
  std::string ids_path;
  double megabytes = 8;
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json, GGUF file or folder")->required();
  app.add_option("--corpus", corpus_path, "a JSON file with a \"strings\" array")->required();
  app.add_option("--megabytes", megabytes, "how much text to encode (MB, 10^6 bytes)");
  app.add_option("--ids", ids_path, "write the ids of one pass here (JSON)");
  bool cold = false;
  app.add_flag("--cold", cold, "empty the word cache before each string");
  CLI11_PARSE(app, argc, argv);

  auto corpus_text = socle::read_file(corpus_path);
  if (!corpus_text.is_ok()) return fail(corpus_text.status().message());
  auto corpus = socle::json::parse(*corpus_text);
  if (!corpus.is_ok() || !corpus->is_object() || !corpus->as_object().contains("strings")) {
    return fail(corpus_path + " has no \"strings\" array");
  }
  std::vector<std::string> strings;
  size_t pass_bytes = 0;
  for (const auto& s : corpus->as_object().at("strings").as_array()) {
    strings.emplace_back(s.as_string());
    pass_bytes += strings.back().size();
  }
  if (pass_bytes == 0) return fail("the corpus is empty");

  Clock::time_point load_start = Clock::now();
  auto tok = Tokenizer::load(tokenizer_path);
  if (!tok.is_ok()) return fail(tok.status().message());
  double load_s = seconds_since(load_start);

  boost::json::array first_pass;
  for (const auto& s : strings) {
    auto ids = tok->encode(s, false);
    if (!ids.is_ok()) return fail(ids.status().message());
    boost::json::array row;
    for (int32_t id : *ids)
      row.emplace_back(id);
    first_pass.push_back(std::move(row));
  }
  if (!ids_path.empty()) {
    socle::Status written = socle::write_file_atomic(ids_path, boost::json::serialize(first_pass));
    if (!written.is_ok()) return fail(written.message());
  }

  const auto passes =
      static_cast<size_t>(megabytes * BYTES_PER_MB / static_cast<double>(pass_bytes)) + 1;
  size_t tokens = 0;
  Clock::time_point start = Clock::now();
  for (size_t p = 0; p < passes; ++p) {
    for (const auto& s : strings) {
      if (cold) tok->clear_cache();
      auto ids = tok->encode(s, false);
      if (!ids.is_ok()) return fail(ids.status().message());
      tokens += ids->size();
    }
  }
  double seconds = seconds_since(start);
  double bytes = static_cast<double>(passes * pass_bytes);
  std::printf(
      "{\"implementation\":\"%s\",\"load_ms\":%.1f,\"passes\":%zu,\"bytes\":%.0f,"
      "\"tokens\":%zu,\"seconds\":%.4f,\"tokens_per_s\":%.0f,\"mb_per_s\":%.3f}\n",
      cold ? "socle (cache emptied per string)" : "socle", load_s * 1e3, passes, bytes, tokens,
      seconds, static_cast<double>(tokens) / seconds, bytes / BYTES_PER_MB / seconds);
  return 0;
}
