// socle model lora-gguf: writes a PEFT LoRA adapter (a folder with adapter_config.json and
// adapter_model.safetensors, as socle's fine-tuning jobs and peft save them) as the GGUF
// adapter file llama.cpp loads beside the base model's GGUF (engine/lora/lora_gguf.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/model_common.h"
#include "engine/format/gguf.h"
#include "engine/lora/lora_adapter.h"
#include "engine/lora/lora_gguf.h"
#include "engine/models/llama_gguf.h"

namespace socle::cli::model_cli {
namespace {

struct LoraGgufFlags {
  std::string model;
  std::string adapter;
  std::string to;
};

// The base's shapes, from its GGUF file or its Hugging Face folder.
Result<engine::HfConfig> base_config(const std::string& path) {
  if (!is_gguf_path(path)) return engine::hf_config_read(path);
  SOCLE_ASSIGN_OR_RETURN(engine::GgufFile file, engine::GgufFile::open(path));
  return engine::llama_config_from_gguf(file);
}

int run_lora_gguf(const LoraGgufFlags& f) {
  constexpr const char* CMD = "lora-gguf";
  Status ok = check_model_path(f.model);
  if (!ok.is_ok()) return fail(CMD, ok);
  Result<engine::HfConfig> config = base_config(f.model);
  if (!config.is_ok()) return fail(CMD, config.status());
  Result<engine::LoraAdapter> adapter = engine::LoraAdapter::load_peft(f.adapter, *config);
  if (!adapter.is_ok()) return fail(CMD, adapter.status());
  ok = engine::lora_write_gguf(*adapter, *config, f.to);
  if (!ok.is_ok()) return fail(CMD, ok);
  std::printf("wrote %s: a LoRA adapter of rank %lld on %zu projections per layer, for %s\n",
              f.to.c_str(), static_cast<long long>(adapter->config().rank),
              adapter->config().targets.size(), f.model.c_str());
  return EXIT_OK;
}

}  // namespace

void add_lora_commands(CLI::App& model, int* exit_code) {
  auto f = std::make_shared<LoraGgufFlags>();
  CLI::App* cmd = model.add_subcommand(
      "lora-gguf", "Write a PEFT LoRA adapter as a GGUF adapter file for llama.cpp (--lora)");
  cmd->add_option("--model", f->model, "the base model: a GGUF file or a Hugging Face folder")
      ->required();
  cmd->add_option("--adapter", f->adapter,
                  "the PEFT adapter folder (adapter_config.json, adapter_model.safetensors)")
      ->required();
  cmd->add_option("--to", f->to, "the GGUF file to write")->required();
  cmd->callback([f, exit_code] { *exit_code = run_lora_gguf(*f); });
}

}  // namespace socle::cli::model_cli
