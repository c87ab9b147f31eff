#include "engine/lora/lora_gguf.h"

#include <cmath>
#include <cstring>
#include <deque>
#include <utility>
#include <vector>

#include "engine/format/gguf.h"
#include "engine/lora/lora_apply.h"
#include "engine/models/llama_gguf.h"

namespace socle::engine {
namespace {

const char* gguf_target_name(LoraTarget target) {
  switch (target) {
    case LoraTarget::Q_PROJ:
      return "attn_q";
    case LoraTarget::K_PROJ:
      return "attn_k";
    case LoraTarget::V_PROJ:
      return "attn_v";
    case LoraTarget::O_PROJ:
      return "attn_output";
    case LoraTarget::GATE_PROJ:
      return "ffn_gate";
    case LoraTarget::UP_PROJ:
      return "ffn_up";
    case LoraTarget::DOWN_PROJ:
      return "ffn_down";
  }
  return "";
}

std::string_view bytes_of(const std::vector<float>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)};
}

}  // namespace

std::string lora_gguf_base_name(int64_t layer, LoraTarget target) {
  return "blk." + std::to_string(layer) + "." + gguf_target_name(target) + ".weight";
}

Status lora_write_gguf(const LoraAdapter& adapter, const HfConfig& base, const std::string& path) {
  if (!model_family_is_decoder(base.family)) {
    return invalid_argument(std::string("the base is a ") + model_family_name(base.family) +
                            " model; LoRA GGUF files are written for llama-family decoders");
  }
  SOCLE_RETURN_IF_ERROR(lora_fits(base, adapter));
  std::string arch = llama_gguf_arch(base.family);
  bool permute = arch == "llama";
  const LoraConfig& c = adapter.config();
  auto rank = static_cast<double>(c.rank);
  // llama.cpp multiplies by alpha / rank: rsLoRA's alpha / sqrt(rank) needs alpha * sqrt(rank).
  double alpha = c.use_rslora ? c.alpha * std::sqrt(rank) : c.alpha;
  std::vector<std::pair<std::string, GgufValue>> meta = {
      {"general.architecture", GgufValue::str(arch)},
      {"general.type", GgufValue::str("adapter")},
      {"adapter.type", GgufValue::str("lora")},
      {"adapter.lora.alpha", GgufValue::f32(static_cast<float>(alpha))},
  };
  std::deque<std::vector<float>> permuted;  // the B matrices of q and k in llama's row order
  std::vector<GgufTensorData> tensors;
  for (int64_t layer = 0; layer < adapter.num_layers(); ++layer) {
    for (LoraTarget t : LORA_ALL_TARGETS) {
      const LoraPair* pair = adapter.find(layer, t);
      if (pair == nullptr) continue;
      LoraShape s = adapter.shape(t);
      std::string name = lora_gguf_base_name(layer, t);
      tensors.push_back({name + ".lora_a", DType::F32, {s.in, c.rank}, bytes_of(pair->a)});
      const std::vector<float>* b = &pair->b;
      if (permute && (t == LoraTarget::Q_PROJ || t == LoraTarget::K_PROJ)) {
        int64_t heads = t == LoraTarget::Q_PROJ ? base.num_heads : base.num_kv_heads;
        permuted.push_back(pair->b);
        llama_gguf_permute_qk(permuted.back(), heads, s.out, c.rank);
        b = &permuted.back();
      }
      tensors.push_back({name + ".lora_b", DType::F32, {c.rank, s.out}, bytes_of(*b)});
    }
  }
  return gguf_write(path, meta, tensors);
}

}  // namespace socle::engine
