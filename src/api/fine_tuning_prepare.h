// What a fine-tuning job's request and files give before any training: the base model checked
// (a chat model socle runs itself), the files read and validated against that model's chat
// template, tokenizer and context (train/jsonl_validation.h, train/fine_tune_data.h), and the
// plan with its estimate (train/fine_tune_plan.h). Shared by the worker, which does this in
// the job's validating_files state, and by `dry_run`, which answers with it at once.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "api/services.h"
#include "providers/local_model.h"
#include "store/records.h"
#include "train/fine_tune_data.h"
#include "train/fine_tune_plan.h"

namespace socle::api {

// Why a job failed, as OpenAI's job `error` object.
struct FineTuneFailure {
  std::string code;  // "example_too_long", "invalid_training_file", "exceeds_memory_budget", ...
  std::string message;
  std::string param;  // "training_file", "validation_file", "model", "" for none
};

struct FineTuneAnalysis {
  const providers::LocalModel* model = nullptr;
  store::StoredFile training_file;
  std::optional<store::StoredFile> validation_file;
  train::PreparedData training;
  std::optional<train::PreparedData> validation;
  train::FineTunePlan plan;
};

// The local chat model `name` that jobs can train on; INVALID_ARGUMENT naming `model` (and
// the models that can) otherwise.
Result<const providers::LocalModel*> fine_tunable_model(const providers::Registry& registry,
                                                        const std::string& name);

// What the job's stored request asked for (its `requested` and `lora` JSON and its seed).
train::HyperparameterRequest hyperparameter_request(const store::FineTuneJob& job);

// Reads the job's files as `actor`, validates them for its model, prepares the examples and
// plans the run. On failure, *failure says why in OpenAI's terms (the first problem's code and
// line) and the Status carries the same message.
Result<FineTuneAnalysis> analyse_fine_tune(const Services& services, const store::Actor& actor,
                                           const store::FineTuneJob& job, FineTuneFailure* failure);

// The API's views of a plan: the resolved hyper-parameters (OpenAI's names), socle's LoRA
// settings, and the estimate (tokens, steps, seconds, memory, FLOPs).
boost::json::object hyperparameters_json(const train::ResolvedHyperparameters& h);
boost::json::object lora_json(const engine::LoraConfig& lora);
boost::json::object estimate_json(const FineTuneAnalysis& analysis);

// Where an uploaded file's bytes are (api/files.cc writes them there).
std::string file_bytes_path(const Config& config, const std::string& sha256_hex);

}  // namespace socle::api
