#include "train/trainer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "engine/kernels/matmul.h"
#include "engine/sampling/rng.h"
#include "train/cross_entropy.h"
#include "train/grad_clip.h"
#include "train/grad_linear.h"
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

// cross_entropy over the rows of `logits`, rows split over `pool`: each row's term is
// computed alone and the terms are summed in row order afterwards, which is the order
// cross_entropy itself sums them in, so the loss is the same bits for any thread count.
double cross_entropy_rows(float* dlogits, const float* logits, std::span<const int32_t> targets,
                          std::span<const float> weights, int64_t vocab, double grad_scale,
                          engine::ThreadPool& pool) {
  std::vector<double> terms(targets.size());
  pool.parallel_for(static_cast<int64_t>(targets.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const auto i = static_cast<size_t>(t);
      terms[i] = cross_entropy<float>(dlogits == nullptr ? nullptr : dlogits + t * vocab,
                                      logits + t * vocab, targets.subspan(i, 1),
                                      weights.empty() ? weights : weights.subspan(i, 1), vocab,
                                      grad_scale);
    }
  });
  double total = 0;
  for (double term : terms)
    total += term;
  return total;
}

}  // namespace

struct ExampleBuffers {
  LoraActivations acts;
  std::vector<float> h_rows;   // (rows, hidden): the output head's input at trained rows
  std::vector<float> logits;   // (rows, vocab)
  std::vector<float> dlogits;  // (rows, vocab)
  std::vector<float> dh_rows;  // (rows, hidden)
  std::vector<float> dh;       // (n, hidden): d loss / d the head's input, zero at other rows
};

namespace {

// The loss of one example: forward, cross-entropy, and (when grads is not null) the
// backward with d loss / d logits scaled by grad_scale. The output head (a quarter of a
// 100M-parameter model's work, more with larger vocabularies) runs on the trained rows
// alone: the others add nothing to the loss and their gradient is zero. The engine's matmul
// computes each row alone and the sums skip untrained rows anyway, so the loss and the
// gradients are the bits that the head over every row gives.
Result<double> run_example(const engine::LlamaModel& model, const engine::LoraAdapter& adapter,
                           const TrainExample& ex, double grad_scale, engine::LoraAdapter* grads,
                           engine::ThreadPool& pool, ExampleBuffers* buffers) {
  LoraActivations& acts = buffers->acts;
  SOCLE_RETURN_IF_ERROR(lora_forward_hidden(model, adapter, ex.tokens, &acts, pool));
  std::vector<int32_t> targets = next_token_targets(ex.labels);
  std::vector<float> weights = next_token_weights(ex.weights);
  const int64_t vocab = model.config().vocab_size;
  const int64_t dim = model.config().hidden_size;
  const auto d = static_cast<size_t>(dim);
  std::vector<int64_t> rows;
  for (size_t t = 0; t < targets.size(); ++t) {
    if (targets[t] != IGNORE_LABEL && (weights.empty() || weights[t] != 0.0f))
      rows.push_back(static_cast<int64_t>(t));
  }
  const auto m = static_cast<int64_t>(rows.size());
  std::vector<int32_t> row_targets(rows.size());
  std::vector<float> row_weights(weights.empty() ? 0 : rows.size());
  buffers->h_rows.resize(static_cast<size_t>(m * dim));
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto t = static_cast<size_t>(rows[r]);
    row_targets[r] = targets[t];
    if (!weights.empty()) row_weights[r] = weights[t];
    std::copy_n(&acts.h_final[t * d], d, &buffers->h_rows[r * d]);
  }
  std::vector<float>& logits = buffers->logits;
  logits.resize(static_cast<size_t>(m * vocab));
  engine::matmul(logits.data(), buffers->h_rows.data(), model.lm_head(), nullptr, m,
                 engine::kernel_path_active(), pool);
  if (grads == nullptr) {
    return cross_entropy_rows(nullptr, logits.data(), row_targets, row_weights, vocab, 0.0, pool);
  }
  std::vector<float>& dlogits = buffers->dlogits;
  dlogits.resize(logits.size());
  double loss = cross_entropy_rows(dlogits.data(), logits.data(), row_targets, row_weights, vocab,
                                   grad_scale, pool);
  buffers->dh_rows.assign(static_cast<size_t>(m * dim), 0.0f);
  frozen_linear_input_grad(buffers->dh_rows.data(), dlogits.data(), model.lm_head(), m, pool);
  buffers->dh.assign(static_cast<size_t>(acts.n * dim), 0.0f);
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy_n(&buffers->dh_rows[r * d], d, &buffers->dh[static_cast<size_t>(rows[r]) * d]);
  }
  lora_backward_from_hidden(model, adapter, acts, buffers->dh.data(), grads, pool);
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
      pool_(config.threads > 0 ? std::make_unique<engine::ThreadPool>(config.threads) : nullptr),
      buffers_(std::make_unique<ExampleBuffers>()),
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
  if (config.threads < 0) {
    return invalid_argument("threads is a count (0: the engine's default pool)", "threads");
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

Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;
Trainer::~Trainer() = default;

engine::ThreadPool& Trainer::pool() const {
  return pool_ != nullptr ? *pool_ : engine::default_thread_pool();
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
    SOCLE_ASSIGN_OR_RETURN(double loss,
                           run_example(*model_, adapter_, data_[static_cast<size_t>(index)], scale,
                                       &grads_, pool(), buffers_.get()));
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
    SOCLE_ASSIGN_OR_RETURN(double l, run_example(*model_, adapter_, examples[i], 0.0, nullptr,
                                                 pool(), buffers_.get()));
    loss += l;
    tokens += example_trained(examples[i]);
  }
  if (tokens == 0) return invalid_argument("the validation set is empty", "validation_file");
  return loss / static_cast<double>(tokens);
}

}  // namespace socle::train
