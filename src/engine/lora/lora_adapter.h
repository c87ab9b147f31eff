// A LoRA adapter for a llama-family decoder: for each adapted projection W (out, in) of each
// layer, y = W x + scaling * B (A x), with A (rank, in) and B (out, rank) in float32 and
// scaling = alpha / rank (alpha / sqrt(rank) with rsLoRA). Loaded from and saved to PEFT's
// format: a folder holding adapter_config.json and adapter_model.safetensors, tensors named
// base_model.model.model.layers.<i>.<self_attn|mlp>.<target>.lora_<A|B>.weight.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/format/hf_config.h"

namespace socle::engine {

// The projections of a llama decoder block that LoRA can adapt, named as PEFT names them.
enum class LoraTarget { Q_PROJ, K_PROJ, V_PROJ, O_PROJ, GATE_PROJ, UP_PROJ, DOWN_PROJ };
inline constexpr size_t LORA_TARGET_COUNT = 7;
inline constexpr std::array<LoraTarget, LORA_TARGET_COUNT> LORA_ALL_TARGETS = {
    LoraTarget::Q_PROJ,    LoraTarget::K_PROJ,  LoraTarget::V_PROJ,   LoraTarget::O_PROJ,
    LoraTarget::GATE_PROJ, LoraTarget::UP_PROJ, LoraTarget::DOWN_PROJ};

// "q_proj", ..., "down_proj".
const char* lora_target_name(LoraTarget target);
std::optional<LoraTarget> lora_target_from_name(std::string_view name);

// The projection's (in, out) sizes in a model with `config`.
struct LoraShape {
  int64_t in = 0;
  int64_t out = 0;
};
LoraShape lora_target_shape(const HfConfig& config, LoraTarget target);

struct LoraConfig {
  int64_t rank = 8;
  double alpha = 16;
  std::vector<LoraTarget> targets;  // each at most once
  bool use_rslora = false;          // scaling alpha / sqrt(rank) instead of alpha / rank

  double scaling() const;
};

// One adapted projection.
struct LoraPair {
  std::vector<float> a;  // (rank, in)
  std::vector<float> b;  // (out, rank)
};

class LoraAdapter {
 public:
  // A new adapter as PEFT initialises one: each A drawn from kaiming_uniform(a = sqrt(5)),
  // that is uniform on [-1/sqrt(in), 1/sqrt(in)), from a generator seeded with `seed` (the
  // draws are socle's, not PyTorch's); each B zero, so the adapted model starts as the base.
  // INVALID_ARGUMENT for a rank below 1 or above a target's smaller side, no targets, or a
  // target named twice.
  static Result<LoraAdapter> init(const HfConfig& model, LoraConfig config, uint64_t seed);

  // An adapter of the same shapes with every value zero: gradients, optimiser moments.
  LoraAdapter zeros_like() const;

  // Reads `dir`/adapter_config.json and `dir`/adapter_model.safetensors for a model with
  // `model`'s shapes. INVALID_ARGUMENT naming the file and the field or tensor at fault for
  // anything this trainer cannot apply exactly (DoRA, per-module rank or alpha patterns,
  // biases, a subset of layers, unknown targets or tensors, wrong shapes or types).
  static Result<LoraAdapter> load_peft(const std::string& dir, const HfConfig& model);

  // Writes both files into `dir` (created if needed), each atomically. The tensors are
  // written in float32 in a fixed order (layer, then target as in LoraTarget, A before B),
  // so the same adapter always gives the same bytes.
  Status save_peft(const std::string& dir, const std::string& base_model_name = {}) const;

  const LoraConfig& config() const { return config_; }
  double scaling() const { return config_.scaling(); }
  int64_t num_layers() const { return num_layers_; }
  LoraShape shape(LoraTarget target) const { return shapes_[static_cast<size_t>(target)]; }

  // The pair adapting `target` in `layer`, nullptr if that target is not adapted.
  LoraPair* find(int64_t layer, LoraTarget target);
  const LoraPair* find(int64_t layer, LoraTarget target) const;

  // Every tensor, in the file order above (layer, target, A then B): what the optimiser
  // steps and the checkpoints hold.
  std::vector<std::span<float>> tensors();
  std::vector<std::span<const float>> tensors() const;

  // The names of tensors(), in the same order.
  std::vector<std::string> tensor_names() const;

  // PEFT's name of a tensor: base_model.model.model.layers.<layer>.<module>.<target>.lora_A.weight
  static std::string tensor_name(int64_t layer, LoraTarget target, bool is_b);

 private:
  LoraAdapter() = default;
  void allocate(const HfConfig& model);
  // The index of (layer, target) in pairs_, -1 if not adapted.
  int64_t pair_index(int64_t layer, LoraTarget target) const;

  LoraConfig config_;
  int64_t num_layers_ = 0;
  std::array<LoraShape, LORA_TARGET_COUNT> shapes_{};
  std::array<int64_t, LORA_TARGET_COUNT> slot_{};  // index within a layer's pairs, -1 if none
  std::vector<LoraPair> pairs_;                    // (num_layers, targets.size())
};

}  // namespace socle::engine
