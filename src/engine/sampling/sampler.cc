#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "base/check.h"
#include "base/random.h"
#include "engine/kernels/activation.h"
#include "engine/kernels/kernel_path.h"

namespace socle::engine::sampling {
namespace {

constexpr double MAX_TEMPERATURE = 2.0;
constexpr double MAX_PENALTY = 2.0;
constexpr double MAX_LOGIT_BIAS = 100.0;
constexpr double MAX_REPETITION_PENALTY = 2.0;

Status out_of_range(const std::string& field, double value, const std::string& range) {
  return invalid_argument(field + " is " + std::to_string(value) + "; it must be " + range, field);
}

// Larger first; equal values by lower token id, so that every order is total.
bool before(const std::pair<double, int32_t>& a, const std::pair<double, int32_t>& b) {
  if (a.first != b.first) return a.first > b.first;
  return a.second < b.second;
}

double finite_or_lowest(float v) {
  return std::isnan(v) ? -std::numeric_limits<double>::infinity() : static_cast<double>(v);
}

// The largest value, NaN ignored (-inf when there is none), from eight running maxima that
// the CPU keeps side by side rather than one chain of comparisons.
float max_of(std::span<const float> v) {
  constexpr size_t WAYS = 8;
  float m[WAYS];
  std::fill_n(m, WAYS, -std::numeric_limits<float>::infinity());
  size_t i = 0;
  for (; i + WAYS <= v.size(); i += WAYS) {
#pragma GCC unroll 8
    for (size_t k = 0; k < WAYS; ++k)
      m[k] = v[i + k] > m[k] ? v[i + k] : m[k];
  }
  for (; i < v.size(); ++i)
    m[0] = v[i] > m[0] ? v[i] : m[0];
  return *std::max_element(m, m + WAYS);
}

// max and log(sum(exp(x - max))) of the logits: log_softmax(x)_i = x_i - max - log_sum.
struct LogSoftmax {
  double max = -std::numeric_limits<double>::infinity();
  double log_sum = 0;
  explicit LogSoftmax(std::span<const float> logits) {
    max = max_of(logits);
    // An infinite maximum (a +inf logit, or none above -inf) leaves no distribution: NaN
    // log-probabilities, as the exact formula gives, on every kernel path.
    if (!std::isfinite(max)) {
      log_sum = std::numeric_limits<double>::quiet_NaN();
      return;
    }
    // Each term's exponential in float on the kernel path's exp (within 1.2e-7 of the exact
    // value, activation.h; a NaN logit's -inf gives 0), summed in double in four running
    // sums combined in a fixed order. Every sampled token pays this over the whole
    // vocabulary: over 32,000 logits it took 169 to 190 us one value at a time with the C
    // library's exp. (x - max in float: the rounded difference, which the double difference
    // rounded to float matched but for values far apart, whose exp is 0 either way.)
    thread_local std::vector<float> terms;
    terms.resize(logits.size());
    auto m = static_cast<float>(max);
    for (size_t i = 0; i < logits.size(); ++i) {
      float v = logits[i];
      terms[i] = std::isnan(v) ? -std::numeric_limits<float>::infinity() : v - m;
    }
    exp_values(terms.data(), static_cast<int64_t>(terms.size()), kernel_path_active());
    double sums[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= terms.size(); i += 4) {
#pragma GCC unroll 4
      for (size_t k = 0; k < 4; ++k)
        sums[k] += terms[i + k];
    }
    for (; i < terms.size(); ++i)
      sums[0] += terms[i];
    log_sum = std::log((sums[0] + sums[1]) + (sums[2] + sums[3]));
  }
  float at(float v) const {
    return static_cast<float>(finite_or_lowest(v) - max - log_sum);
  }
};

std::vector<TokenLogprob> top_of(std::span<const float> logits, const LogSoftmax& ls, int32_t n) {
  std::vector<std::pair<double, int32_t>> all;
  all.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    all.emplace_back(finite_or_lowest(logits[i]), static_cast<int32_t>(i));
  auto k = std::min(static_cast<size_t>(std::max(n, 0)), all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), before);
  std::vector<TokenLogprob> out;
  out.reserve(k);
  for (size_t i = 0; i < k; ++i)
    out.push_back({all[i].second, ls.at(logits[static_cast<size_t>(all[i].second)])});
  return out;
}

}  // namespace

Status validate(const SamplingParams& p, int64_t vocab_size) {
  auto bad = [](double v, double lo, double hi) { return !std::isfinite(v) || v < lo || v > hi; };
  if (bad(p.temperature, 0, MAX_TEMPERATURE)) {
    return out_of_range("temperature", p.temperature, "between 0 and 2");
  }
  if (!std::isfinite(p.top_p) || p.top_p <= 0 || p.top_p > 1) {
    return out_of_range("top_p", p.top_p, "greater than 0 and at most 1");
  }
  if (p.top_k < 0) return out_of_range("top_k", p.top_k, "0 (off) or a positive integer");
  if (bad(p.min_p, 0, 1)) return out_of_range("min_p", p.min_p, "between 0 and 1");
  if (bad(p.presence_penalty, -MAX_PENALTY, MAX_PENALTY)) {
    return out_of_range("presence_penalty", p.presence_penalty, "between -2 and 2");
  }
  if (bad(p.frequency_penalty, -MAX_PENALTY, MAX_PENALTY)) {
    return out_of_range("frequency_penalty", p.frequency_penalty, "between -2 and 2");
  }
  if (!std::isfinite(p.repetition_penalty) || p.repetition_penalty <= 0 ||
      p.repetition_penalty > MAX_REPETITION_PENALTY) {
    return out_of_range("repetition_penalty", p.repetition_penalty,
                        "greater than 0 and at most 2 (1 is off)");
  }
  if (p.top_logprobs < 0 || p.top_logprobs > MAX_TOP_LOGPROBS) {
    return out_of_range("top_logprobs", p.top_logprobs, "between 0 and 20");
  }
  for (const auto& [token, bias] : p.logit_bias) {
    if (token < 0 || token >= vocab_size) {
      return invalid_argument("logit_bias names token " + std::to_string(token) +
                                  ", which is not in this model's vocabulary (0 to " +
                                  std::to_string(vocab_size - 1) + ")",
                              "logit_bias");
    }
    if (bad(bias, -MAX_LOGIT_BIAS, MAX_LOGIT_BIAS)) {
      return invalid_argument("logit_bias of token " + std::to_string(token) + " is " +
                                  std::to_string(bias) + "; it must be between -100 and 100",
                              "logit_bias");
    }
  }
  return Status::ok();
}

float log_softmax_at(std::span<const float> logits, int32_t token) {
  SOCLE_CHECK(token >= 0 && static_cast<size_t>(token) < logits.size(), "token in vocabulary");
  return LogSoftmax(logits).at(logits[static_cast<size_t>(token)]);
}

std::vector<TokenLogprob> top_log_softmax(std::span<const float> logits, int32_t n) {
  return top_of(logits, LogSoftmax(logits), n);
}

Sampler::Sampler(SamplingParams params, std::span<const int32_t> prompt,
                 std::unique_ptr<JsonConstraint> json)
    : params_(std::move(params)),
      seed_([&] {
        if (params_.seed) return *params_.seed;
        std::string bytes = secure_random_bytes(sizeof(uint64_t));
        uint64_t s = 0;
        std::memcpy(&s, bytes.data(), sizeof s);
        return s;
      }()),
      rng_(seed_),
      json_(std::move(json)) {
  if (params_.repetition_penalty != 1.0) {
    prompt_tokens_.assign(prompt.begin(), prompt.end());
    std::sort(prompt_tokens_.begin(), prompt_tokens_.end());
    prompt_tokens_.erase(std::unique(prompt_tokens_.begin(), prompt_tokens_.end()),
                         prompt_tokens_.end());
  }
}

void Sampler::apply_penalties(std::vector<float>& z) const {
  for (const auto& [token, bias] : params_.logit_bias)
    z[static_cast<size_t>(token)] += static_cast<float>(bias);
  if (params_.repetition_penalty != 1.0) {
    auto rp = static_cast<float>(params_.repetition_penalty);
    auto penalise = [&](int32_t token) {
      if (token < 0 || static_cast<size_t>(token) >= z.size()) return;
      float& v = z[static_cast<size_t>(token)];
      v = v > 0 ? v / rp : v * rp;
    };
    for (int32_t t : prompt_tokens_)
      penalise(t);
    for (const auto& [t, count] : generated_) {
      if (!std::binary_search(prompt_tokens_.begin(), prompt_tokens_.end(), t)) penalise(t);
    }
  }
  if (params_.presence_penalty != 0 || params_.frequency_penalty != 0) {
    for (const auto& [t, count] : generated_) {
      z[static_cast<size_t>(t)] -=
          static_cast<float>(params_.frequency_penalty * count + params_.presence_penalty);
    }
  }
}

int32_t Sampler::draw(const std::vector<float>& z) {
  if (params_.temperature == 0 || params_.top_k == 1) {
    // The largest logit, the lowest id on ties; 0 when none is above -inf.
    float best = max_of(z);
    if (best == -std::numeric_limits<float>::infinity()) return 0;
    return static_cast<int32_t>(std::find(z.begin(), z.end(), best) - z.begin());
  }
  auto& c = scratch_;
  c.clear();
  c.reserve(z.size());
  for (size_t i = 0; i < z.size(); ++i)
    c.emplace_back(finite_or_lowest(z[i]) / params_.temperature, static_cast<int32_t>(i));
  bool truncating = params_.top_p < 1 || params_.min_p > 0;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < c.size()) {
    auto k = static_cast<std::ptrdiff_t>(params_.top_k);
    std::nth_element(c.begin(), c.begin() + k - 1, c.end(), before);
    c.resize(static_cast<size_t>(k));
    std::sort(c.begin(), c.end(), before);
  } else if (truncating) {
    std::sort(c.begin(), c.end(), before);
  }
  double max = -std::numeric_limits<double>::infinity();
  for (const auto& [v, t] : c)
    max = std::max(max, v);
  double sum = 0;
  for (auto& [v, t] : c) {
    v = std::exp(v - max);  // unnormalised probability, 1 for the most likely
    sum += v;
  }
  size_t kept = c.size();
  if (params_.top_p < 1) {
    double cumulative = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      cumulative += c[i].first;
      if (cumulative >= params_.top_p * sum) {
        kept = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0) {
    // Sorted: the kept ones are a prefix; the most likely has probability 1 / sum here.
    size_t n = 0;
    while (n < kept && c[n].first >= params_.min_p)
      ++n;
    kept = std::max<size_t>(n, 1);
  }
  double kept_sum = 0;
  for (size_t i = 0; i < kept; ++i)
    kept_sum += c[i].first;
  double u = rng_.uniform() * kept_sum;
  double cumulative = 0;
  for (size_t i = 0; i < kept; ++i) {
    cumulative += c[i].first;
    if (u < cumulative) return c[i].second;
  }
  // Rounding left u at the end: the last token with a probability (never a masked one).
  for (size_t i = kept; i-- > 0;) {
    if (c[i].first > 0) return c[i].second;
  }
  return c[kept - 1].second;
}

Sample Sampler::sample(std::span<const float> logits) {
  SOCLE_CHECK(!logits.empty(), "a vocabulary has tokens");
  z_.assign(logits.begin(), logits.end());
  apply_penalties(z_);
  if (json_) {
    allowed_.resize(z_.size());
    json_->allowed(allowed_);
    for (size_t i = 0; i < z_.size(); ++i) {
      if (allowed_[i] == 0) z_[i] = -std::numeric_limits<float>::infinity();
    }
  }
  int32_t token = draw(z_);
  if (json_) json_->accept(token);
  ++generated_[token];
  LogSoftmax ls(logits);
  Sample s{token, ls.at(logits[static_cast<size_t>(token)]), {}};
  if (params_.top_logprobs > 0) s.top = top_of(logits, ls, params_.top_logprobs);
  return s;
}

}  // namespace socle::engine::sampling
