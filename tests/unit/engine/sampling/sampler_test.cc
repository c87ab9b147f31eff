// The sampler against brute force: the kept set and the probabilities of each setting are
// recomputed here from their definitions, and a fixed-seed run of many draws must stay in
// that set and match those probabilities (a chi-square test; the seed is fixed, so the
// result is the same on every run).
#include "engine/sampling/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <vector>

namespace socle::engine::sampling {
namespace {

std::vector<float> random_logits(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.0F, 2.0F);
  std::vector<float> v(n);
  for (float& x : v)
    x = d(gen);
  return v;
}

// The distribution a setting should sample from, by its definition: probabilities of
// logits / T; sort by probability (ties by id); keep the top k; keep the smallest prefix
// reaching top_p of that mass; keep those at least min_p x the largest; renormalise.
std::map<int32_t, double> expected_distribution(const std::vector<float>& logits,
                                                const SamplingParams& p) {
  std::vector<std::pair<double, int32_t>> probs;
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    double e = std::exp(static_cast<double>(logits[i]) / p.temperature);
    probs.emplace_back(e, static_cast<int32_t>(i));
    sum += e;
  }
  for (auto& pr : probs)
    pr.first /= sum;
  std::stable_sort(probs.begin(), probs.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < probs.size()) {
    probs.resize(static_cast<size_t>(p.top_k));
  }
  double mass = 0;
  for (const auto& pr : probs)
    mass += pr.first;
  std::vector<std::pair<double, int32_t>> kept;
  double cumulative = 0;
  for (const auto& pr : probs) {
    kept.push_back(pr);
    cumulative += pr.first / mass;
    if (cumulative >= p.top_p) break;
  }
  double top = kept.front().first;
  std::erase_if(kept, [&](const auto& pr) { return pr.first < p.min_p * top; });
  double kept_mass = 0;
  for (const auto& pr : kept)
    kept_mass += pr.first;
  std::map<int32_t, double> out;
  for (const auto& pr : kept)
    out[pr.second] = pr.first / kept_mass;
  return out;
}

// Draws `n` tokens with the same logits and checks them against expected_distribution.
void check_distribution(const SamplingParams& p, const std::vector<float>& logits, int n) {
  std::map<int32_t, double> want = expected_distribution(logits, p);
  Sampler s(p, {});
  std::map<int32_t, int> seen;
  for (int i = 0; i < n; ++i) {
    Sample got = s.sample(logits);
    ASSERT_TRUE(want.contains(got.token)) << "token " << got.token << " is outside the kept set";
    ++seen[got.token];
  }
  double chi2 = 0;
  for (const auto& [token, prob] : want) {
    double expected = prob * n;
    double diff = seen[token] - expected;
    chi2 += diff * diff / expected;
  }
  // At most 20 kept tokens here: the 1e-6 upper quantile of chi-square with 19 degrees of
  // freedom is about 62.
  EXPECT_LT(chi2, 62.0) << "the draws do not follow the expected probabilities";
}

SamplingParams with_seed(uint64_t seed) {
  SamplingParams p;
  p.seed = seed;
  return p;
}

TEST(Sampler, TemperatureZeroTakesTheLargestLogitLowestIdOnTies) {
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    std::vector<float> logits = random_logits(300, seed);
    logits[17] = logits[250] = 9.0F;  // a tie above the rest
    SamplingParams p = with_seed(seed);
    p.temperature = 0;
    Sampler s(p, {});
    EXPECT_EQ(s.sample(logits).token, 17);
  }
}

// A NaN logit is never taken and has no probability; with nothing above -inf, token 0.
TEST(Sampler, TemperatureZeroIgnoresNaNLogits) {
  std::vector<float> logits = random_logits(301, 4);
  logits[0] = logits[40] = std::nanf("");
  logits[123] = 12.0F;
  SamplingParams p = with_seed(1);
  p.temperature = 0;
  Sampler s(p, {});
  Sample got = s.sample(logits);
  EXPECT_EQ(got.token, 123);
  double sum = 0;
  for (float v : logits) {
    if (!std::isnan(v)) sum += std::exp(static_cast<double>(v) - 12.0);
  }
  EXPECT_NEAR(got.logprob, -std::log(sum), 1e-5);
  std::vector<float> infinite = random_logits(40, 5);
  infinite[9] = std::numeric_limits<float>::infinity();
  Sampler u(p, {});
  Sample inf_sample = u.sample(infinite);
  EXPECT_EQ(inf_sample.token, 9);
  EXPECT_TRUE(std::isnan(inf_sample.logprob));  // no distribution: the exact formula's NaN
  std::vector<float> none(20, std::nanf(""));
  none[7] = -std::numeric_limits<float>::infinity();
  Sampler t(p, {});
  EXPECT_EQ(t.sample(none).token, 0);
}

// Over a vocabulary the size of a real one (and not a multiple of any vector width), the
// chosen token's log-probability is the log-softmax computed in double.
TEST(Sampler, LogprobOverALargeVocabularyIsTheLogSoftmax) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    std::vector<float> logits = random_logits(32003, seed);
    SamplingParams p = with_seed(seed);
    p.temperature = 0;
    Sampler s(p, {});
    Sample got = s.sample(logits);
    double max = *std::max_element(logits.begin(), logits.end());
    EXPECT_EQ(logits[static_cast<size_t>(got.token)], static_cast<float>(max));
    double sum = 0;
    for (float v : logits)
      sum += std::exp(static_cast<double>(v) - max);
    EXPECT_NEAR(got.logprob, -std::log(sum), 1e-5) << "seed " << seed;
  }
}

TEST(Sampler, PlainTemperatureFollowsTheSoftmax) {
  SamplingParams p = with_seed(7);
  p.temperature = 0.8;
  check_distribution(p, random_logits(12, 1), 60000);
}

TEST(Sampler, TopKTopPAndMinPKeepWhatTheirDefinitionsSay) {
  std::vector<float> logits = random_logits(40, 2);
  SamplingParams k = with_seed(11);
  k.top_k = 6;
  check_distribution(k, logits, 40000);
  SamplingParams tp = with_seed(12);
  tp.temperature = 1.3;
  tp.top_p = 0.7;
  check_distribution(tp, logits, 40000);
  SamplingParams mp = with_seed(13);
  mp.min_p = 0.1;
  check_distribution(mp, logits, 40000);
  SamplingParams all = with_seed(14);
  all.temperature = 0.6;
  all.top_k = 10;
  all.top_p = 0.9;
  all.min_p = 0.05;
  check_distribution(all, logits, 40000);
}

TEST(Sampler, SameSeedSameTokensOtherSeedOthers) {
  std::vector<float> flat(100, 0.0F);
  auto run = [&](uint64_t seed) {
    Sampler s(with_seed(seed), {});
    std::vector<int32_t> out(50);
    for (int32_t& t : out)
      t = s.sample(flat).token;
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
  Sampler unseeded(SamplingParams{}, {});
  Sampler replay(with_seed(unseeded.seed()), {});
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(unseeded.sample(flat).token, replay.sample(flat).token);
}

TEST(Sampler, LogitBiasBansAndForces) {
  std::vector<float> logits = {5.0F, 1.0F, 0.0F, -1.0F};
  SamplingParams ban = with_seed(1);
  ban.temperature = 0;
  ban.logit_bias = {{0, -100.0}};
  EXPECT_EQ(Sampler(ban, {}).sample(logits).token, 1);
  SamplingParams force = with_seed(1);
  force.logit_bias = {{3, 100.0}};
  Sampler s(force, {});
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(s.sample(logits).token, 3);
}

TEST(Sampler, PenaltiesFollowTheirFormulas) {
  // Greedy, so that each step shows which adjusted logit is largest.
  std::vector<float> logits = {1.0F, 0.9F, 0.7F, -0.5F};
  SamplingParams presence = with_seed(1);
  presence.temperature = 0;
  presence.presence_penalty = 0.15;  // token 0: 1.0 - 0.15 = 0.85 < 0.9 once generated
  Sampler ps(presence, {});
  EXPECT_EQ(ps.sample(logits).token, 0);
  EXPECT_EQ(ps.sample(logits).token, 1);  // 0.85 vs 0.9
  // The penalty is paid once however often: 0.85 against 0.9 - 0.15 and 0.7.
  EXPECT_EQ(ps.sample(logits).token, 0);
}

TEST(Sampler, FrequencyPenaltyCountsEachTime) {
  std::vector<float> logits = {1.0F, 0.75F};
  SamplingParams p = with_seed(1);
  p.temperature = 0;
  p.frequency_penalty = 0.1;  // token 0 after n times: 1.0 - 0.1 n
  Sampler s(p, {});
  std::vector<int32_t> got(5);
  for (int32_t& t : got)
    t = s.sample(logits).token;
  // 1.0 > .75, .9 > .75, .8 > .75, .7 < .75 -> 1, then .7 vs .75 - .1 = .65 -> 0
  EXPECT_EQ(got, (std::vector<int32_t>{0, 0, 0, 1, 0}));
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  // Token 0 is in the prompt: 1.0 / 1.25 = 0.8 < 0.9, so token 1 wins.
  std::vector<float> logits = {1.0F, 0.9F, -0.2F, -0.3F};
  SamplingParams p = with_seed(1);
  p.temperature = 0;
  p.repetition_penalty = 1.25;
  std::vector<int32_t> prompt = {0, 0, 3};
  EXPECT_EQ(Sampler(p, prompt).sample(logits).token, 1);
  // A negative logit in the prompt is multiplied: -0.2 becomes -0.25, below token 1's -0.24.
  std::vector<float> negative = {-0.2F, -0.24F};
  std::vector<int32_t> prompt0 = {0};
  EXPECT_EQ(Sampler(p, prompt0).sample(negative).token, 1);
}

TEST(Sampler, LogprobsAreTheModelsLogSoftmax) {
  std::vector<float> logits = random_logits(50, 3);
  SamplingParams p = with_seed(5);
  p.temperature = 0.5;
  p.top_k = 3;
  p.top_logprobs = 5;
  p.logit_bias = {{7, 3.0}};
  Sampler s(p, {});
  Sample got = s.sample(logits);
  double max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float v : logits)
    sum += std::exp(v - max);
  auto logprob = [&](int32_t t) { return logits[static_cast<size_t>(t)] - max - std::log(sum); };
  EXPECT_NEAR(got.logprob, logprob(got.token), 1e-5);
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });
  ASSERT_EQ(got.top.size(), size_t{5});
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(got.top[i].token, order[i]);
    EXPECT_NEAR(got.top[i].logprob, logprob(order[i]), 1e-5);
  }
}

TEST(Sampler, ValidateNamesTheFieldAndItsRange) {
  auto message = [](const SamplingParams& p) { return validate(p, 100).message(); };
  SamplingParams p;
  EXPECT_TRUE(validate(p, 100).is_ok());
  p.temperature = 2.5;
  EXPECT_NE(message(p).find("temperature"), std::string::npos);
  p = {};
  p.top_p = 0;
  EXPECT_NE(message(p).find("top_p"), std::string::npos);
  p = {};
  p.top_k = -1;
  EXPECT_NE(message(p).find("top_k"), std::string::npos);
  p = {};
  p.min_p = std::nan("");
  EXPECT_NE(message(p).find("min_p"), std::string::npos);
  p = {};
  p.presence_penalty = -3;
  EXPECT_NE(message(p).find("presence_penalty"), std::string::npos);
  p = {};
  p.frequency_penalty = 2.01;
  EXPECT_NE(message(p).find("frequency_penalty"), std::string::npos);
  p = {};
  p.repetition_penalty = 0;
  EXPECT_NE(message(p).find("repetition_penalty"), std::string::npos);
  p = {};
  p.top_logprobs = 21;
  EXPECT_NE(message(p).find("top_logprobs"), std::string::npos);
  p = {};
  p.logit_bias = {{100, 1.0}};
  EXPECT_NE(message(p).find("vocabulary (0 to 99)"), std::string::npos);
  p = {};
  p.logit_bias = {{5, -101.0}};
  EXPECT_NE(message(p).find("logit_bias of token 5"), std::string::npos);
}

}  // namespace
}  // namespace socle::engine::sampling
