// Serving LoRA adapters: whether an adapter fits a model, a stable identity for it (what the
// prefix cache salts its blocks with), and the batched update y += scaling * B (A x) that
// LlamaModel::forward_batch applies to each sequence's rows after a base projection.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "engine/format/hf_config.h"
#include "engine/kernels/kernel_path.h"
#include "engine/kernels/thread_pool.h"
#include "engine/lora/lora_adapter.h"

namespace socle::engine {

// INVALID_ARGUMENT, saying which count or projection differs, unless `adapter` was made for
// a model of `model`'s shapes (layer count and each adapted projection's (in, out)).
Status lora_fits(const HfConfig& model, const LoraAdapter& adapter);

// A 64-bit identity of the adapter's content: the first 8 bytes of a SHA-256 over its
// configuration (rank, alpha, rsLoRA, targets, layers) and every tensor's bytes. Equal
// adapters get equal identities; different ones differ but with probability 2^-64. Never 0
// (0 stands for "no adapter"). Reads every value: compute it once per adapter.
uint64_t lora_identity(const LoraAdapter& adapter);

// The rows of a batch that one adapter applies to.
struct LoraRows {
  const LoraAdapter* adapter = nullptr;
  std::vector<int64_t> rows;  // ascending
};

// Groups a batch's rows by adapter: `row_adapter` holds each row's adapter (nullptr for the
// base model). Groups come in order of their first row.
std::vector<LoraRows> lora_group_rows(std::span<const LoraAdapter* const> row_adapter);

// For every group whose adapter adapts (`layer`, `target`), and every row r of it:
//   y[r] += scaling * B (A x[r])
// x: (rows of the batch, target's in), y: (rows of the batch, target's out).
// Each row's update depends on that row alone and sums in a fixed order (matmul's
// contract), so it is bitwise the same whatever else is in the batch.
void lora_add(float* y, const float* x, std::span<const LoraRows> groups, int64_t layer,
              LoraTarget target, KernelPath path, ThreadPool& threads);

}  // namespace socle::engine
