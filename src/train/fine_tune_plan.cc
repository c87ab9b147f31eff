#include "train/fine_tune_plan.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace socle::train {
namespace {

// OpenAI's documented ranges for a job's hyper-parameters.
constexpr int64_t MAX_EPOCHS = 50;
constexpr int64_t MAX_BATCH_SIZE = 256;
constexpr double MAX_LEARNING_RATE_MULTIPLIER = 10;
constexpr int64_t MAX_LORA_RANK = 256;

// n_epochs "auto", as OpenAI's chat data-preparation cookbook computes it: 3 epochs, more for
// a small file (so that about 100 examples are seen, at most 25 epochs), fewer for a large
// one (about 25,000 examples seen, at least 1 epoch).
constexpr int64_t TARGET_EPOCHS = 3;
constexpr int64_t MIN_TARGET_EXAMPLES = 100;
constexpr int64_t MAX_TARGET_EXAMPLES = 25000;
constexpr int64_t MIN_AUTO_EPOCHS = 1;
constexpr int64_t MAX_AUTO_EPOCHS = 25;

// batch_size "auto", as OpenAI's fine-tunes API documented it: about 0.2% of the training
// examples (one batch per 500 examples, rounded up), at most 256.
constexpr int64_t EXAMPLES_PER_AUTO_BATCH_UNIT = 500;

// learning_rate_multiplier "auto": OpenAI documented 0.05, 0.1 or 0.2 "depending on final
// batch_size" (larger rates for larger batches) without the thresholds; socle's are these.
constexpr int64_t MEDIUM_BATCH = 8;
constexpr int64_t LARGE_BATCH = 64;
constexpr double SMALL_BATCH_MULTIPLIER = 0.05;
constexpr double MEDIUM_BATCH_MULTIPLIER = 0.1;
constexpr double LARGE_BATCH_MULTIPLIER = 0.2;
// The rate the multiplier scales, for LoRA. OpenAI scales the model's pre-training rate;
// socle picks the base so that the auto multipliers give 1e-4, 2e-4 and 4e-4: the rates the
// QLoRA paper trained LoRA adapters with (2e-4 up to 13B parameters, 1e-4 above), and the
// order the LoRA paper used.
constexpr double LORA_BASE_LEARNING_RATE = 2e-3;

// Warm-up over the first 3% of the steps (rounded down), then cosine decay to 10% of the peak.
constexpr double WARMUP_FRACTION = 0.03;
constexpr double LR_FLOOR_RATIO = 0.1;
constexpr double MAX_GRAD_NORM = 1.0;

// LoRA defaults: rank 8, alpha twice the rank (16), every linear projection of the block (the
// QLoRA paper found adapting all of them is what matches full fine-tuning).
constexpr int64_t DEFAULT_LORA_RANK = 8;
constexpr double DEFAULT_LORA_ALPHA_PER_RANK = 2;

// A micro-batch's activations stay within this; the batch is split into micro-batches
// (gradient accumulation) to fit.
constexpr int64_t MICRO_BATCH_MEMORY_BYTES = int64_t{2} << 30;
constexpr int64_t FLOAT_BYTES = 4;
// The adapter, its gradient and AdamW's two moments: four float32 copies of each parameter.
constexpr int64_t ADAPTER_COPIES = 4;

Status bad(const std::string& param, const std::string& message) {
  return invalid_argument(param + " " + message, param);
}

int64_t auto_epochs(int64_t examples) {
  if (examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES) {
    return std::min(MAX_AUTO_EPOCHS, (MIN_TARGET_EXAMPLES + examples - 1) / examples);
  }
  if (examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES) {
    return std::max(MIN_AUTO_EPOCHS, MAX_TARGET_EXAMPLES / examples);
  }
  return TARGET_EPOCHS;
}

int64_t auto_batch_size(int64_t examples) {
  return std::clamp((examples + EXAMPLES_PER_AUTO_BATCH_UNIT - 1) / EXAMPLES_PER_AUTO_BATCH_UNIT,
                    int64_t{1}, MAX_BATCH_SIZE);
}

double auto_multiplier(int64_t batch_size) {
  if (batch_size >= LARGE_BATCH) return LARGE_BATCH_MULTIPLIER;
  if (batch_size >= MEDIUM_BATCH) return MEDIUM_BATCH_MULTIPLIER;
  return SMALL_BATCH_MULTIPLIER;
}

// The smaller side of the smallest adapted projection: the largest rank it can take.
int64_t max_rank(const engine::HfConfig& model, const std::vector<engine::LoraTarget>& targets) {
  int64_t r = MAX_LORA_RANK;
  for (engine::LoraTarget t : targets) {
    engine::LoraShape s = engine::lora_target_shape(model, t);
    r = std::min({r, s.in, s.out});
  }
  return r;
}

Result<engine::LoraConfig> resolve_lora(const engine::HfConfig& model,
                                        const HyperparameterRequest& request) {
  engine::LoraConfig lora;
  if (request.lora_targets.empty()) {
    lora.targets.assign(engine::LORA_ALL_TARGETS.begin(), engine::LORA_ALL_TARGETS.end());
  } else {
    for (size_t i = 0; i < request.lora_targets.size(); ++i) {
      engine::LoraTarget t = request.lora_targets[i];
      if (std::find(lora.targets.begin(), lora.targets.end(), t) != lora.targets.end()) {
        return bad("lora.target_modules",
                   std::string("names ") + engine::lora_target_name(t) + " twice");
      }
      lora.targets.push_back(t);
    }
  }
  int64_t largest = max_rank(model, lora.targets);
  if (request.lora_rank) {
    int64_t r = *request.lora_rank;
    if (r < 1 || r > MAX_LORA_RANK) {
      return bad("lora.rank", "is " + std::to_string(r) + "; it must be between 1 and " +
                                  std::to_string(MAX_LORA_RANK));
    }
    if (r > largest) {
      return bad("lora.rank", "is " + std::to_string(r) + ", more than the smaller side (" +
                                  std::to_string(largest) +
                                  ") of an adapted projection of this model; use at most " +
                                  std::to_string(largest));
    }
    lora.rank = r;
  } else {
    lora.rank = std::min(DEFAULT_LORA_RANK, largest);
  }
  if (request.lora_alpha) {
    double a = *request.lora_alpha;
    if (!std::isfinite(a) || a <= 0) {
      return bad("lora.alpha", "must be a number greater than 0");
    }
    lora.alpha = a;
  } else {
    lora.alpha = DEFAULT_LORA_ALPHA_PER_RANK * static_cast<double>(lora.rank);
  }
  return lora;
}

}  // namespace

int64_t fine_tune_lora_parameters(const engine::HfConfig& model, const engine::LoraConfig& lora) {
  int64_t per_layer = 0;
  for (engine::LoraTarget t : lora.targets) {
    engine::LoraShape s = engine::lora_target_shape(model, t);
    per_layer += lora.rank * (s.in + s.out);
  }
  return per_layer * model.num_layers;
}

int64_t fine_tune_matmul_parameters(const engine::HfConfig& model) {
  int64_t per_layer = 0;
  for (engine::LoraTarget t : engine::LORA_ALL_TARGETS) {
    engine::LoraShape s = engine::lora_target_shape(model, t);
    per_layer += s.in * s.out;
  }
  return per_layer * model.num_layers + model.hidden_size * model.vocab_size;
}

int64_t fine_tune_activation_bytes(const engine::HfConfig& model, const engine::LoraConfig& lora,
                                   int64_t tokens) {
  int64_t h = model.hidden_size;
  int64_t q = model.num_heads * model.head_dim;
  int64_t kv = model.num_kv_heads * model.head_dim;
  int64_t inter = model.intermediate_size;
  // LoraLayerActivations: x_in, h_attn, x_mid, h_ffn (hidden); q, att (q_dim); k, v (kv_dim);
  // gate, up, act (intermediate); q_raw, k_raw with a per-head norm; A x per adapted target.
  int64_t per_layer =
      4 * h + 2 * q + 2 * kv + 3 * inter + static_cast<int64_t>(lora.targets.size()) * lora.rank;
  if (model.qk_norm) per_layer += q + kv;
  // x_final, h_final; the rope table (cos and sin, head_dim / 2 each); the logits and their
  // gradient; the backward's gradients in flight (the residual stream's and its input's, the
  // feed-forward's two).
  int64_t per_token = per_layer * model.num_layers + 2 * h + model.head_dim + 2 * model.vocab_size +
                      2 * h + 2 * inter;
  return per_token * tokens * FLOAT_BYTES;
}

Result<FineTunePlan> plan_fine_tune(const engine::HfConfig& model,
                                    const HyperparameterRequest& request, int64_t examples,
                                    int64_t tokens_per_epoch, int64_t max_example_tokens,
                                    double flops_per_second) {
  if (!engine::model_family_is_decoder(model.family) ||
      model.head != engine::ModelHead::CAUSAL_LM) {
    return bad("model", "is not a llama-family language model; only those can be fine-tuned");
  }
  if (examples < 1 || tokens_per_epoch < examples || max_example_tokens < 1 ||
      max_example_tokens > tokens_per_epoch) {
    return bad("training_file", "holds no usable example (" + std::to_string(examples) +
                                    " examples, " + std::to_string(tokens_per_epoch) + " tokens)");
  }
  FineTunePlan plan;
  ResolvedHyperparameters& hp = plan.hyperparameters;
  if (request.n_epochs) {
    int64_t e = *request.n_epochs;
    if (e < 1 || e > MAX_EPOCHS) {
      return bad(
          "hyperparameters.n_epochs",
          "is " + std::to_string(e) + "; it must be between 1 and " + std::to_string(MAX_EPOCHS));
    }
    hp.n_epochs = e;
  } else {
    hp.n_epochs = auto_epochs(examples);
  }
  if (request.batch_size) {
    int64_t b = *request.batch_size;
    if (b < 1 || b > MAX_BATCH_SIZE) {
      return bad("hyperparameters.batch_size", "is " + std::to_string(b) +
                                                   "; it must be between 1 and " +
                                                   std::to_string(MAX_BATCH_SIZE));
    }
    if (b > examples) {
      return bad("hyperparameters.batch_size",
                 "is " + std::to_string(b) + ", more than the " + std::to_string(examples) +
                     " examples of the training file; use at most " + std::to_string(examples));
    }
    hp.batch_size = b;
  } else {
    hp.batch_size = std::min(auto_batch_size(examples), examples);
  }
  if (request.learning_rate_multiplier) {
    double m = *request.learning_rate_multiplier;
    if (!std::isfinite(m) || m <= 0 || m > MAX_LEARNING_RATE_MULTIPLIER) {
      return bad("hyperparameters.learning_rate_multiplier",
                 "must be greater than 0 and at most " +
                     std::to_string(static_cast<int>(MAX_LEARNING_RATE_MULTIPLIER)));
    }
    hp.learning_rate_multiplier = m;
  } else {
    hp.learning_rate_multiplier = auto_multiplier(hp.batch_size);
  }
  hp.learning_rate = hp.learning_rate_multiplier * LORA_BASE_LEARNING_RATE;
  SOCLE_ASSIGN_OR_RETURN(hp.lora, resolve_lora(model, request));
  hp.seed = request.seed.value_or(0);

  plan.examples = examples;
  plan.tokens_per_epoch = tokens_per_epoch;
  plan.trained_tokens = tokens_per_epoch * hp.n_epochs;
  plan.steps = (examples * hp.n_epochs + hp.batch_size - 1) / hp.batch_size;

  // The largest micro-batch that divides the batch and keeps the longest example's
  // activations, that many times over, within the budget.
  int64_t per_example = fine_tune_activation_bytes(model, hp.lora, max_example_tokens);
  int64_t micro = 1;
  for (int64_t d = hp.batch_size; d >= 1; --d) {
    if (hp.batch_size % d == 0 && d * per_example <= MICRO_BATCH_MEMORY_BYTES) {
      micro = d;
      break;
    }
  }

  TrainConfig& t = plan.train;
  t.steps = plan.steps;
  t.micro_batch = micro;
  t.accumulation = hp.batch_size / micro;
  t.lr.peak = hp.learning_rate;
  t.lr.floor_ratio = LR_FLOOR_RATIO;
  t.lr.warmup_steps =
      static_cast<int64_t>(std::floor(static_cast<double>(plan.steps) * WARMUP_FRACTION));
  t.lr.total_steps = plan.steps;
  t.max_grad_norm = MAX_GRAD_NORM;
  t.shuffle = true;
  t.seed = hp.seed;

  // Forward 2 N T through the frozen projections and lm_head plus 2 P T through the adapters;
  // backward the same again for the gradients of the activations, and 2 P T for those of A
  // and B (none for the frozen weights): 4 N T + 6 P T. Attention's scores are left out.
  auto n = static_cast<double>(fine_tune_matmul_parameters(model));
  auto p = static_cast<double>(fine_tune_lora_parameters(model, hp.lora));
  auto tokens = static_cast<double>(plan.trained_tokens);
  plan.estimated_flops = 4 * n * tokens + 6 * p * tokens;
  plan.estimated_seconds = flops_per_second > 0 ? plan.estimated_flops / flops_per_second : 0;
  plan.estimated_memory_bytes =
      ADAPTER_COPIES * FLOAT_BYTES * fine_tune_lora_parameters(model, hp.lora) +
      micro * per_example;
  return plan;
}

}  // namespace socle::train
