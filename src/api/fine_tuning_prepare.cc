#include "api/fine_tuning_prepare.h"

#include <boost/json/array.hpp>

#include "base/file.h"
#include "base/json.h"
#include "train/jsonl_validation.h"

namespace socle::api {
namespace {

constexpr int64_t BYTES_PER_MIB = int64_t{1} << 20;

std::optional<int64_t> int_or_auto(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64()) return std::nullopt;
  return v->as_int64();
}

std::optional<double> number_or_auto(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

std::string file_public_id(store::Id id) {
  return "file-" + std::to_string(id);
}

// The job's failure for the first problems of a file's validation.
FineTuneFailure data_failure(const train::ValidationReport& r, const char* param) {
  constexpr size_t SHOWN = 3;
  FineTuneFailure f;
  f.param = param;
  f.code = r.errors.empty() ? "invalid_file" : r.errors.front().code;
  f.message = "the " + std::string(param) + " is not valid for this model (" +
              std::to_string(r.error_count) + (r.error_count == 1 ? " problem" : " problems") +
              "): ";
  for (size_t i = 0; i < r.errors.size() && i < SHOWN; ++i) {
    const train::DataError& e = r.errors[i];
    if (i > 0) f.message += "; ";
    f.message += (e.line > 0 ? "line " + std::to_string(e.line) + ": " : std::string()) + e.code +
                 ": " + e.message;
  }
  return f;
}

// Reads, validates and prepares one file of the job as `actor`.
Result<train::PreparedData> prepare_file(const Services& s, const store::Actor& actor, store::Id id,
                                         const char* param, const providers::LocalModel& model,
                                         store::StoredFile* file, FineTuneFailure* failure) {
  auto fail = [&](std::string code, std::string message) -> Status {
    *failure = {std::move(code), std::move(message), param};
    return invalid_argument(failure->message, param);
  };
  Result<store::StoredFile> f = s.store.files().get(actor, id);
  if (!f.is_ok()) {
    if (f.status().code() != StatusCode::NOT_FOUND) return f.status();
    return fail("invalid_" + std::string(param),
                "the " + std::string(param) + " " + file_public_id(id) + " no longer exists");
  }
  *file = *f;
  Result<std::string> bytes = read_file(file_bytes_path(s.config, f->sha256));
  if (!bytes.is_ok()) return bytes.status();

  train::ChatFormat format{&model.tokenizer(), model.chat_template(), model.bos_token(),
                           model.eos_token()};
  train::ValidationOptions options;
  options.context_tokens = model.context_length();
  options.count_tokens = [&format](const boost::json::object& example) {
    return train::count_chat_example_tokens(example, format);
  };
  train::ValidationReport report = train::validate_chat_jsonl(*bytes, options);
  if (!report.ok()) {
    *failure = data_failure(report, param);
    return invalid_argument(failure->message, param);
  }
  Result<train::PreparedData> data =
      train::prepare_chat_examples(*bytes, format, model.context_length());
  if (!data.is_ok()) return fail("invalid_" + std::string(param), data.status().message());
  return data;
}

}  // namespace

std::string file_bytes_path(const Config& config, const std::string& sha256_hex) {
  return config.data_dir + "/files/" + sha256_hex;
}

Result<const providers::LocalModel*> fine_tunable_model(const providers::Registry& registry,
                                                        const std::string& name) {
  const providers::Model* m = registry.find(name);
  if (m != nullptr && m->spec().kind == providers::ModelKind::CHAT && m->local() != nullptr &&
      m->local()->decoder() != nullptr && m->local()->chat_template() != nullptr) {
    return static_cast<const providers::LocalModel*>(m->local());
  }
  std::string can;
  for (const auto& model : registry.models()) {
    if (model->spec().kind == providers::ModelKind::CHAT && model->local() != nullptr &&
        model->local()->decoder() != nullptr) {
      can += (can.empty() ? "" : ", ") + model->spec().name;
    }
  }
  return invalid_argument("'" + name +
                              "' is not a chat model that socle runs itself; fine-tuning needs "
                              "one of: " +
                              (can.empty() ? std::string("(none configured)") : can),
                          "model");
}

train::HyperparameterRequest hyperparameter_request(const store::FineTuneJob& job) {
  train::HyperparameterRequest r;
  Result<boost::json::object> requested = json::parse_object(job.requested);
  if (requested.is_ok()) {
    r.n_epochs = int_or_auto(*requested, "n_epochs");
    r.batch_size = int_or_auto(*requested, "batch_size");
    r.learning_rate_multiplier = number_or_auto(*requested, "learning_rate_multiplier");
  }
  Result<boost::json::object> lora = json::parse_object(job.lora);
  if (lora.is_ok()) {
    r.lora_rank = int_or_auto(*lora, "rank");
    r.lora_alpha = number_or_auto(*lora, "alpha");
    if (const boost::json::value* t = lora->if_contains("target_modules"); t && t->is_array()) {
      for (const auto& name : t->as_array()) {
        if (!name.is_string()) continue;
        if (auto target = engine::lora_target_from_name(name.as_string())) {
          r.lora_targets.push_back(*target);
        }
      }
    }
  }
  r.seed = static_cast<uint64_t>(job.seed);
  return r;
}

Result<FineTuneAnalysis> analyse_fine_tune(const Services& s, const store::Actor& actor,
                                           const store::FineTuneJob& job,
                                           FineTuneFailure* failure) {
  FineTuneAnalysis a;
  Result<const providers::LocalModel*> model = fine_tunable_model(s.registry, job.model);
  if (!model.is_ok()) {
    *failure = {"invalid_model", model.status().message(), "model"};
    return model.status();
  }
  a.model = *model;
  SOCLE_ASSIGN_OR_RETURN(a.training, prepare_file(s, actor, job.training_file, "training_file",
                                                  *a.model, &a.training_file, failure));
  if (job.validation_file != 0) {
    store::StoredFile vf;
    SOCLE_ASSIGN_OR_RETURN(
        train::PreparedData v,
        prepare_file(s, actor, job.validation_file, "validation_file", *a.model, &vf, failure));
    a.validation = std::move(v);
    a.validation_file = vf;
  }
  Result<train::FineTunePlan> plan =
      train::plan_fine_tune(a.model->decoder()->config(), hyperparameter_request(job),
                            static_cast<int64_t>(a.training.examples.size()), a.training.tokens,
                            a.training.max_tokens, s.config.fine_tuning_flops_per_second);
  if (!plan.is_ok()) {
    *failure = {"invalid_hyperparameters", plan.status().message(), plan.status().param()};
    return plan.status();
  }
  a.plan = std::move(*plan);
  int64_t budget = s.config.fine_tuning_memory_mb * BYTES_PER_MIB;
  if (a.plan.estimated_memory_bytes > budget) {
    *failure = {"exceeds_memory_budget",
                "the job needs about " +
                    std::to_string(a.plan.estimated_memory_bytes / BYTES_PER_MIB) +
                    " MiB beyond the model's weights; fine_tuning.memory_mb allows " +
                    std::to_string(s.config.fine_tuning_memory_mb) +
                    " MiB (use a smaller batch_size or LoRA rank, shorter examples, or ask the "
                    "operator to raise the budget)",
                ""};
    return Status{StatusCode::RESOURCE_EXHAUSTED, failure->message};
  }
  return a;
}

boost::json::object hyperparameters_json(const train::ResolvedHyperparameters& h) {
  return {{"n_epochs", h.n_epochs},
          {"batch_size", h.batch_size},
          {"learning_rate_multiplier", h.learning_rate_multiplier}};
}

boost::json::object lora_json(const engine::LoraConfig& lora) {
  boost::json::array targets;
  for (engine::LoraTarget t : lora.targets)
    targets.emplace_back(engine::lora_target_name(t));
  return {{"rank", lora.rank}, {"alpha", lora.alpha}, {"target_modules", std::move(targets)}};
}

boost::json::object estimate_json(const FineTuneAnalysis& a) {
  const train::FineTunePlan& p = a.plan;
  boost::json::object o{{"examples", p.examples},
                        {"tokens_per_epoch", p.tokens_per_epoch},
                        {"trained_tokens", p.trained_tokens},
                        {"steps", p.steps},
                        {"estimated_flops", p.estimated_flops},
                        {"estimated_seconds", p.estimated_seconds},
                        {"estimated_memory_bytes", p.estimated_memory_bytes}};
  if (a.validation) o["validation_examples"] = static_cast<int64_t>(a.validation->examples.size());
  return o;
}

}  // namespace socle::api
