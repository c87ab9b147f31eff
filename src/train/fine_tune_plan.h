// A fine-tuning job's hyper-parameters, resolved from what the request gave ("auto" where it
// gave nothing, as OpenAI's API allows) and the data, into the trainer's configuration, with
// an estimate of the work before it starts (Mistral's dry_run: tokens, steps, time).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/status.h"
#include "engine/format/hf_config.h"
#include "engine/lora/lora_adapter.h"
#include "train/trainer.h"

namespace socle::train {

// What a job's request asked for; nullopt is "auto".
struct HyperparameterRequest {
  std::optional<int64_t> n_epochs;
  std::optional<int64_t> batch_size;
  std::optional<double> learning_rate_multiplier;
  std::optional<int64_t> lora_rank;
  std::optional<double> lora_alpha;
  std::vector<engine::LoraTarget> lora_targets;  // empty: auto
  std::optional<uint64_t> seed;
};

struct ResolvedHyperparameters {
  int64_t n_epochs = 0;
  int64_t batch_size = 0;
  double learning_rate_multiplier = 0;
  double learning_rate = 0;  // the AdamW rate the multiplier gives
  engine::LoraConfig lora;
  uint64_t seed = 0;
};

struct FineTunePlan {
  ResolvedHyperparameters hyperparameters;
  TrainConfig train;                   // steps, micro_batch, accumulation, lr schedule, seed...
  int64_t examples = 0;                // training examples
  int64_t tokens_per_epoch = 0;        // all tokens of the training set
  int64_t trained_tokens = 0;          // tokens_per_epoch * n_epochs: the billed tokens
  int64_t steps = 0;                   // optimiser steps
  double estimated_flops = 0;          // forward + backward over the run
  double estimated_seconds = 0;        // at `flops_per_second`
  int64_t estimated_memory_bytes = 0;  // weights are shared; activations, adapter, optimiser
};

// INVALID_ARGUMENT naming the field ("hyperparameters.n_epochs", "lora.rank", ...) for a value
// out of range. `flops_per_second` is this node's measured or configured training speed.
Result<FineTunePlan> plan_fine_tune(const engine::HfConfig& model,
                                    const HyperparameterRequest& request, int64_t examples,
                                    int64_t tokens_per_epoch, int64_t max_example_tokens,
                                    double flops_per_second);

// The pieces of the estimate, for the API's dry run and the tests.
// A and B's parameters over every layer: sum over targets of rank * (in + out), times layers.
int64_t fine_tune_lora_parameters(const engine::HfConfig& model, const engine::LoraConfig& lora);
// The frozen weights a token is multiplied by: the seven projections of every layer and
// lm_head (the embedding is a lookup).
int64_t fine_tune_matmul_parameters(const engine::HfConfig& model);
// Bytes of float32 that training one example of `tokens` tokens holds at once: what
// LoraActivations keeps, the logits and their gradient, and the backward's gradients in flight.
int64_t fine_tune_activation_bytes(const engine::HfConfig& model, const engine::LoraConfig& lora,
                                   int64_t tokens);

}  // namespace socle::train
