// Picks each next token of a sequence from the model's logits, with OpenAI's and the common
// open-source sampling parameters. One Sampler per sequence: it keeps the sequence's random
// generator and the counts of the tokens it generated (for the penalties), so that its
// choices depend on its own seed and history alone, whatever else is in the batch.
//
// Order of the steps, each skipped at its neutral value:
//   1. logit_bias is added to the logits (OpenAI: -100 bans a token, 100 forces it);
//   2. repetition_penalty (Hugging Face's): for every token of the prompt or the output, a
//      positive logit is divided by it and a negative one multiplied;
//   3. frequency_penalty × (times the token was generated) + presence_penalty × (1 if it
//      was) is subtracted (OpenAI's formula; output tokens only);
//   4. temperature 0 takes the largest logit (the lowest id among equals); otherwise the
//      logits are divided by the temperature and turned into probabilities, then
//   5. top_k keeps the k most probable tokens, top_p the smallest set of the most probable
//      whose probabilities reach top_p, min_p those at least min_p × the largest; the kept
//      probabilities are renormalised and one token is drawn.
// Ties in probability are ordered by id, so the kept set is always the same.
// With a JsonConstraint, the tokens it does not allow are masked out (their logits set to
// -inf) after step 3, so that no bias or penalty brings them back.
//
// Log-probabilities (the chosen token's and the top ones) are those of the model's own
// distribution, the log-softmax of the raw logits, before any of the steps above (as vLLM
// reports them by default): they say how likely the model found a token, not how the
// sampling settings changed it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/sampling/json_constraint.h"
#include "engine/sampling/rng.h"

namespace socle::engine::sampling {

struct SamplingParams {
  double temperature = 1.0;                            // [0, 2]; 0 is greedy
  double top_p = 1.0;                                  // (0, 1]
  int32_t top_k = 0;                                   // 0 (off) or >= 1
  double min_p = 0.0;                                  // [0, 1]
  double presence_penalty = 0.0;                       // [-2, 2]
  double frequency_penalty = 0.0;                      // [-2, 2]
  double repetition_penalty = 1.0;                     // (0, 2]; 1 is off
  std::optional<uint64_t> seed;                        // none: a random seed
  std::vector<std::pair<int32_t, double>> logit_bias;  // token id -> [-100, 100]
  int32_t top_logprobs = 0;                            // how many to report, [0, 20]
};

// The largest top_logprobs accepted, OpenAI's limit.
inline constexpr int32_t MAX_TOP_LOGPROBS = 20;

// INVALID_ARGUMENT naming the field and its accepted range when a value is out of range
// (or not finite), or a logit_bias token is not in [0, vocab_size).
Status validate(const SamplingParams& params, int64_t vocab_size);

struct TokenLogprob {
  int32_t token;
  float logprob;
};

struct Sample {
  int32_t token;
  float logprob;                  // of `token` under the model's distribution
  std::vector<TokenLogprob> top;  // params.top_logprobs most likely, most likely first
};

class Sampler {
 public:
  // `params` must pass validate(); `prompt` is the sequence's prompt (for the repetition
  // penalty). Without a seed, one is drawn from the operating system. `json`, if given,
  // constrains the tokens drawn (json_constraint.h).
  Sampler(SamplingParams params, std::span<const int32_t> prompt,
          std::unique_ptr<JsonConstraint> json = nullptr);

  // Chooses the next token from `logits` (one per vocabulary entry) and records it as
  // generated. The same seed, history and logits give the same token.
  Sample sample(std::span<const float> logits);

  // The seed in use (the one drawn when none was given), so that a caller can report it.
  uint64_t seed() const { return seed_; }

 private:
  void apply_penalties(std::vector<float>& z) const;
  int32_t draw(const std::vector<float>& z);

  SamplingParams params_;
  uint64_t seed_;
  Rng rng_;
  std::unordered_map<int32_t, int32_t> generated_;   // token -> times generated
  std::vector<int32_t> prompt_tokens_;               // distinct, sorted
  std::vector<std::pair<double, int32_t>> scratch_;  // (scaled logit, token), reused
  std::vector<float> z_;  // the logits with penalties, reused (a fresh 128 KiB copy per token
                          // went through mmap and page faults)
  std::unique_ptr<JsonConstraint> json_;
  std::vector<uint8_t> allowed_;  // json_'s mask, reused
};

// log-softmax of `logits` at `token`, and the `n` largest (ties by lowest id): max and sum in
// double, each exponential in float.
float log_softmax_at(std::span<const float> logits, int32_t token);
std::vector<TokenLogprob> top_log_softmax(std::span<const float> logits, int32_t n);

}  // namespace socle::engine::sampling
