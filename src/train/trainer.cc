#include "train/trainer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "engine/sampling/rng.h"
#include "train/cross_entropy.h"
#include "train/grad_clip.h"
#include "train/lora_backward.h"
#include "train/lora_forward.h"

namespace socle::train {
namespace {

// Mixes the epoch into the seed so that each pass draws its own permutation.
constexpr uint64_t EPOCH_MIX = 0x9E3779B97F4A7C15ULL;

std::vector<float> next_token_weights(const std::vector<float>& weights) {
  if (weights.empty()) return {};
  std::vector<float> out(weights.size(), 0.0f);
  for (size_t t = 0; t + 1 < weights.size(); ++t)
    out[t] = weights[t + 1];
  return out;
}

// The loss of one example: forward, cross-entropy, and (when grads is not null) the
// backward with d loss / d logits scaled by grad_scale.
Result<double> run_example(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                           const TrainExample& ex, double grad_scale, engine::LoraAdapter* grads) {
  LoraActivations acts;
  std::vector<float> logits;
  SOCLE_RETURN_IF_ERROR(lora_forward(model, adapter, ex.tokens, &acts, &logits));
  std::vector<int32_t> targets = next_token_targets(ex.labels);
  std::vector<float> weights = next_token_weights(ex.weights);
  const int64_t vocab = model.config().vocab_size;
  if (grads == nullptr) {
    return cross_entropy<float>(nullptr, logits.data(), targets, weights, vocab, 0.0);
  }
  std::vector<float> dlogits(logits.size());
  double loss =
      cross_entropy<float>(dlogits.data(), logits.data(), targets, weights, vocab, grad_scale);
  lora_backward(model, adapter, acts, dlogits.data(), grads);
  return loss;
}

std::string shortest(float value) {
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%g", static_cast<double>(value));
  return text.data();
}

int64_t example_trained(const TrainExample& ex) {
  return trained_positions(next_token_targets(ex.labels), next_token_weights(ex.weights));
}

}  // namespace

Status check_example(const TrainExample& ex, const engine::HfConfig& c, const std::string& what,
                     int64_t index) {
  std::string where = what + "[" + std::to_string(index) + "]";
  if (ex.tokens.empty()) return invalid_argument(where + " has no tokens", where);
  if (ex.labels.size() != ex.tokens.size()) {
    return invalid_argument(where + " has " + std::to_string(ex.labels.size()) + " labels for " +
                                std::to_string(ex.tokens.size()) + " tokens",
                            where);
  }
  if (!ex.weights.empty() && ex.weights.size() != ex.tokens.size()) {
    return invalid_argument(where + " has " + std::to_string(ex.weights.size()) + " weights for " +
                                std::to_string(ex.tokens.size()) + " tokens",
                            where);
  }
  for (size_t t = 0; t < ex.tokens.size(); ++t) {
    if (ex.tokens[t] < 0 || ex.tokens[t] >= c.vocab_size) {
      return invalid_argument(where + ": token " + std::to_string(t) + " is " +
                                  std::to_string(ex.tokens[t]) + ", outside the vocabulary of " +
                                  std::to_string(c.vocab_size),
                              where);
    }
    int32_t l = ex.labels[t];
    if (l != IGNORE_LABEL && (l < 0 || l >= c.vocab_size)) {
      return invalid_argument(where + ": label " + std::to_string(t) + " is " + std::to_string(l) +
                                  "; labels are token ids or -100",
                              where);
    }
    if (!ex.weights.empty() && ex.weights[t] != 0.0f && ex.weights[t] != 1.0f) {
      return invalid_argument(where + ": the weight at position " + std::to_string(t) + " is " +
                                  shortest(ex.weights[t]) + "; weights are 0 or 1",
                              where);
    }
  }
  if (example_trained(ex) == 0) {
    return invalid_argument(where + " has no trained position (every label after the first is " +
                                "-100 or of weight 0)",
                            where);
  }
  return Status::ok();
}

Trainer::Trainer(const engine::LlamaModel& model, engine::LoraAdapter adapter,
                 std::vector<TrainExample> data, TrainConfig config)
    : model_(&model),
      adapter_(std::move(adapter)),
      grads_(adapter_.zeros_like()),
      optimizer_(config.adamw),
      data_(std::move(data)),
      config_(std::move(config)) {
  state_.seed = config_.seed;
  state_.examples = static_cast<int64_t>(data_.size());
  state_.micro_batch = config_.micro_batch;
  state_.accumulation = config_.accumulation;
}

Result<Trainer> Trainer::create(const engine::LlamaModel& model, engine::LoraAdapter adapter,
                                std::vector<TrainExample> data, TrainConfig config) {
  if (config.steps < 1) return invalid_argument("train for at least one step", "steps");
  if (config.micro_batch < 1) {
    return invalid_argument("the micro-batch needs at least one example", "micro_batch");
  }
  if (config.accumulation < 1) {
    return invalid_argument("accumulate at least one micro-batch", "accumulation");
  }
  if (!(config.lr.peak > 0) || !std::isfinite(config.lr.peak)) {
    return invalid_argument("the learning rate must be positive", "learning_rate");
  }
  if (!(config.lr.floor_ratio >= 0 && config.lr.floor_ratio <= 1)) {
    return invalid_argument("the learning rate's floor is a fraction of its peak, in [0, 1]",
                            "floor_ratio");
  }
  const AdamWConfig& a = config.adamw;
  if (!(a.beta1 >= 0 && a.beta1 < 1 && a.beta2 >= 0 && a.beta2 < 1)) {
    return invalid_argument("AdamW's betas must be in [0, 1)", "betas");
  }
  if (!(a.eps > 0) || !(a.weight_decay >= 0) || !std::isfinite(a.eps) ||
      !std::isfinite(a.weight_decay)) {
    return invalid_argument("AdamW's eps must be positive and its weight decay not negative",
                            "weight_decay");
  }
  if (!std::isfinite(config.max_grad_norm)) {
    return invalid_argument("the gradient clipping norm must be finite", "max_grad_norm");
  }
  if (config.lr.warmup_steps < 0) {
    return invalid_argument("warm-up steps cannot be negative", "warmup_steps");
  }
  if (config.checkpoint_every > 0 && config.checkpoint_dir.empty()) {
    return invalid_argument("checkpoints need a folder", "checkpoint_dir");
  }
  if (data.empty()) return invalid_argument("the training set is empty", "training_file");
  SOCLE_RETURN_IF_ERROR(lora_check_fits(model, adapter));
  for (size_t i = 0; i < data.size(); ++i)
    SOCLE_RETURN_IF_ERROR(
        check_example(data[i], model.config(), "training_file", static_cast<int64_t>(i)));
  config.lr.total_steps = config.steps;
  return Trainer(model, std::move(adapter), std::move(data), std::move(config));
}

int64_t Trainer::example_at(int64_t pos) const {
  const auto n = static_cast<int64_t>(data_.size());
  const int64_t epoch = pos / n;
  const int64_t offset = pos % n;
  if (!config_.shuffle) return offset;
  // Fisher-Yates from a generator seeded by (seed, epoch): recomputed per call, which costs
  // O(n) for a set of a few thousand examples against a training step's billions of flops.
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  engine::sampling::Rng rng(config_.seed ^ (static_cast<uint64_t>(epoch + 1) * EPOCH_MIX));
  for (int64_t i = n - 1; i > 0; --i) {
    auto j = static_cast<int64_t>(rng.next() % static_cast<uint64_t>(i + 1));
    std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  }
  return perm[static_cast<size_t>(offset)];
}

Result<StepReport> Trainer::step() {
  if (done()) return Status(StatusCode::FAILED_PRECONDITION, "the run has taken all its steps");
  StepReport report;
  report.step = state_.step;
  const int64_t count = config_.micro_batch * config_.accumulation;
  for (int64_t i = 0; i < count; ++i) {
    report.examples.push_back(example_at(state_.data_position + i));
    report.trained_tokens += example_trained(data_[static_cast<size_t>(report.examples.back())]);
  }
  for (std::span<float> g : grads_.tensors())
    std::fill(g.begin(), g.end(), 0.0f);
  // Each example's d loss / d logits is divided by the step's trained positions, so the
  // accumulated gradient is that of the step's mean loss.
  const double scale = 1.0 / static_cast<double>(report.trained_tokens);
  double loss_sum = 0;
  for (int64_t index : report.examples) {
    SOCLE_ASSIGN_OR_RETURN(
        double loss,
        run_example(*model_, adapter_, data_[static_cast<size_t>(index)], scale, &grads_));
    loss_sum += loss;
  }
  report.loss = loss_sum * scale;
  std::vector<std::span<float>> grads = grads_.tensors();
  if (config_.max_grad_norm > 0) {
    report.grad_norm = clip_grad_norm(grads, config_.max_grad_norm);
  } else {
    report.grad_norm = global_grad_norm(std::as_const(grads_).tensors());
  }
  if (!std::isfinite(report.loss) || !std::isfinite(report.grad_norm)) {
    // Before the update: the adapter and the optimiser keep the last finite state.
    return Status(StatusCode::FAILED_PRECONDITION,
                  "training diverged at step " + std::to_string(state_.step) + " (loss " +
                      shortest(static_cast<float>(report.loss)) + ", gradient norm " +
                      shortest(static_cast<float>(report.grad_norm)) +
                      "); lower the learning rate or resume from an earlier checkpoint");
  }
  report.lr = lr_at(config_.lr, state_.step);
  std::vector<std::span<const float>> const_grads = std::as_const(grads_).tensors();
  optimizer_.step(adapter_.tensors(), const_grads, report.lr);
  state_.step += 1;
  state_.data_position += count;
  if (config_.checkpoint_every > 0 &&
      (state_.step % config_.checkpoint_every == 0 || state_.step == config_.steps)) {
    auto written = checkpoint_write(config_.checkpoint_dir, adapter_, optimizer_, state_);
    if (!written.is_ok()) return written.status();
    SOCLE_RETURN_IF_ERROR(checkpoint_prune(config_.checkpoint_dir, config_.checkpoints_kept));
  }
  return report;
}

Result<std::vector<StepReport>> Trainer::run() {
  std::vector<StepReport> reports;
  while (!done()) {
    SOCLE_ASSIGN_OR_RETURN(StepReport r, step());
    reports.push_back(std::move(r));
  }
  return reports;
}

Status Trainer::resume(const std::string& dir) {
  engine::LoraAdapter adapter = adapter_;
  AdamW optimizer(config_.adamw);
  TrainerState state;
  SOCLE_RETURN_IF_ERROR(checkpoint_read(dir, model_->config(), &adapter, &optimizer, &state));
  auto mismatch = [&](const char* what, int64_t got, int64_t want) {
    return invalid_argument(dir + " was written for " + what + " " + std::to_string(got) +
                            ", this run has " + std::to_string(want));
  };
  if (state.examples != state_.examples)
    return mismatch("examples", state.examples, state_.examples);
  if (state.micro_batch != state_.micro_batch) {
    return mismatch("micro_batch", state.micro_batch, state_.micro_batch);
  }
  if (state.accumulation != state_.accumulation) {
    return mismatch("accumulation", state.accumulation, state_.accumulation);
  }
  if (state.seed != state_.seed) return invalid_argument(dir + " was written for another seed");
  if (state.step > config_.steps) return mismatch("steps", state.step, config_.steps);
  if (adapter.config().rank != adapter_.config().rank ||
      adapter.config().targets != adapter_.config().targets) {
    return invalid_argument(dir + " holds an adapter of another rank or other targets");
  }
  adapter_ = std::move(adapter);
  optimizer_ = std::move(optimizer);
  state_ = state;
  return Status::ok();
}

Result<double> Trainer::validation_loss(std::span<const TrainExample> examples) const {
  double loss = 0;
  int64_t tokens = 0;
  for (size_t i = 0; i < examples.size(); ++i) {
    SOCLE_RETURN_IF_ERROR(
        check_example(examples[i], model_->config(), "validation_file", static_cast<int64_t>(i)));
    SOCLE_ASSIGN_OR_RETURN(double l, run_example(*model_, adapter_, examples[i], 0.0, nullptr));
    loss += l;
    tokens += example_trained(examples[i]);
  }
  if (tokens == 0) return invalid_argument("the validation set is empty", "validation_file");
  return loss / static_cast<double>(tokens);
}

}  // namespace socle::train
