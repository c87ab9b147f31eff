// Training checkpoints: everything a run needs to go on as if never stopped. A checkpoint is
// a folder <root>/checkpoint-<step> holding the adapter in PEFT's format, the optimiser's
// moments (optimizer.safetensors: exp_avg.<tensor> and exp_avg_sq.<tensor>, float32) and the
// loop's position (trainer_state.json). It is written whole into a temporary folder, each
// file fsynced, then renamed into place and the root fsynced, so a crash leaves either the
// complete checkpoint or none.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "engine/format/hf_config.h"
#include "engine/lora/lora_adapter.h"
#include "train/adamw.h"

namespace socle::train {

// The loop's position. The data order is a function of the seed and the position alone
// (trainer.h), so these values are the whole random state.
struct TrainerState {
  int64_t step = 0;           // optimiser steps done
  int64_t data_position = 0;  // examples consumed (the next one is this modulo the data size)
  uint64_t seed = 0;
  int64_t examples = 0;  // the training set's size, checked on resume
  int64_t micro_batch = 1;
  int64_t accumulation = 1;
};

// Writes <root>/checkpoint-<state.step> (creating root if needed) and returns its path.
Result<std::string> checkpoint_write(const std::string& root, const engine::LoraAdapter& adapter,
                                     const AdamW& optimizer, const TrainerState& state);

// The complete checkpoint with the highest step under `root`; NOT_FOUND if there is none.
Result<std::string> checkpoint_latest(const std::string& root);

// Removes all but the `keep` complete checkpoints of highest step under `root`, oldest first.
// keep < 1 keeps everything.
Status checkpoint_prune(const std::string& root, int64_t keep);

// Reads a checkpoint folder written by checkpoint_write for a model with `model`'s shapes.
// INVALID_ARGUMENT naming the file and field at fault.
Status checkpoint_read(const std::string& dir, const engine::HfConfig& model,
                       engine::LoraAdapter* adapter, AdamW* optimizer, TrainerState* state);

}  // namespace socle::train
