// The LoRA training loop (../shared/golden/llama-lora-train/ref.json spells it out):
// each optimiser step runs `accumulation` micro-batches of `micro_batch` examples, sums the
// next-token cross-entropy of every trained position over all of them, divides by the
// number of those positions in the step (not a mean of per-example means), clips the global
// L2 norm of the LoRA gradients, and takes an AdamW step at the schedule's rate. The
// examples are taken in order, cycling over the set; with `shuffle`, each pass (epoch) uses
// its own permutation drawn from the seed and the epoch number, so the order is a function
// of the seed and the position alone and a resumed run continues it exactly.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/kernels/thread_pool.h"
#include "engine/lora/lora_adapter.h"
#include "engine/models/llama.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/lr_schedule.h"

namespace socle::train {

// One tokenised example.
struct TrainExample {
  std::vector<int32_t> tokens;
  // (tokens.size()): the token to predict at each position, as transformers takes labels:
  // usually the tokens themselves, IGNORE_LABEL (-100) where nothing is learnt (prompt,
  // system and user turns). The loss at row t of the logits targets labels[t + 1].
  std::vector<int32_t> labels;
  // Empty, or (tokens.size()) weights of each label (0 or 1: the JSONL `weight` of the
  // assistant message the label belongs to); a label of weight 0 is not trained.
  std::vector<float> weights;
};

struct TrainConfig {
  int64_t steps = 1;         // optimiser steps in the run
  int64_t micro_batch = 1;   // examples per micro-batch
  int64_t accumulation = 1;  // micro-batches per optimiser step
  LrSchedule lr;             // lr.total_steps is set to `steps`
  AdamWConfig adamw;
  double max_grad_norm = 1.0;  // <= 0: no clipping
  bool shuffle = false;
  uint64_t seed = 0;
  // > 0: write a checkpoint under checkpoint_dir after every this many steps (and after the
  // last).
  int64_t checkpoint_every = 0;
  std::string checkpoint_dir;
  int64_t checkpoints_kept = 2;  // older checkpoints are removed; < 1 keeps them all
  // Threads of the step's matmuls: >= 1, a pool of that many owned by the trainer; 0, the
  // engine's default pool (SOCLE_THREADS, else one per hardware thread), shared with whatever
  // else uses it. Work is split by output rows or columns only, never inside a sum, so the
  // adapter is bitwise the same for any thread count.
  int threads = 0;
};

// What one optimiser step did.
struct StepReport {
  int64_t step = 0;  // 0-based
  double lr = 0;
  double loss = 0;       // the step's mean loss, before the update
  double grad_norm = 0;  // the global gradient norm, before clipping
  int64_t trained_tokens = 0;
  std::vector<int64_t> examples;  // indexes into the training set, in order
};

// The buffers of one example's pass (trainer.cc), kept from example to example.
struct ExampleBuffers;

class Trainer {
 public:
  Trainer(Trainer&&) noexcept;
  Trainer& operator=(Trainer&&) noexcept;
  ~Trainer();

  // Checks every example (lengths, ids in the vocabulary, labels in the vocabulary or
  // IGNORE_LABEL, at least one trained position) and the configuration. INVALID_ARGUMENT
  // names the example and the field. `model` must outlive the trainer.
  static Result<Trainer> create(const engine::LlamaModel& model, engine::LoraAdapter adapter,
                                std::vector<TrainExample> data, TrainConfig config);

  // One optimiser step (and its checkpoint when one is due). FAILED_PRECONDITION, with the
  // adapter left as it was, if the loss or the gradient is not finite.
  Result<StepReport> step();
  // Steps until config.steps are done; the reports of the steps run.
  Result<std::vector<StepReport>> run();

  // Restores the state of the checkpoint folder `dir` (written by this configuration).
  // INVALID_ARGUMENT if it was written for another data set or batch shape.
  Status resume(const std::string& dir);

  // Sum of the loss of every trained position of `examples` over their number: the
  // held-out loss, with no update. INVALID_ARGUMENT for an invalid example.
  Result<double> validation_loss(std::span<const TrainExample> examples) const;

  int64_t steps_done() const { return state_.step; }
  bool done() const { return state_.step >= config_.steps; }
  const engine::LoraAdapter& adapter() const { return adapter_; }
  const TrainerState& state() const { return state_; }

  // The index into the training set of the example at data position `pos`.
  int64_t example_at(int64_t pos) const;

 private:
  Trainer(const engine::LlamaModel& model, engine::LoraAdapter adapter,
          std::vector<TrainExample> data, TrainConfig config);

  engine::ThreadPool& pool() const;

  const engine::LlamaModel* model_;
  // Null when config_.threads is 0 (the engine's default pool).
  std::unique_ptr<engine::ThreadPool> pool_;
  // Activations, logits and their gradient, reused by every example: allocating them afresh
  // (hundreds of MB for a 100M-parameter model) cost more in page faults and zeroing than
  // the copies they hold. Scratch only, so validation_loss (const) uses them too.
  std::unique_ptr<ExampleBuffers> buffers_;
  engine::LoraAdapter adapter_;
  engine::LoraAdapter grads_;
  AdamW optimizer_;
  std::vector<TrainExample> data_;
  TrainConfig config_;
  TrainerState state_;
};

// INVALID_ARGUMENT unless `example` fits a model with `config` (param names it as
// "<what>[index]").
Status check_example(const TrainExample& example, const engine::HfConfig& config,
                     const std::string& what, int64_t index);

}  // namespace socle::train
