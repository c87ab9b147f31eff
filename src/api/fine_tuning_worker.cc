#include "api/fine_tuning_worker.h"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "api/files.h"
#include "api/fine_tuning_prepare.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/log.h"
#include "base/version.h"
#include "engine/lora/lora_gguf.h"
#include "train/checkpoint.h"

namespace socle::api {
namespace {

using store::FineTuneStatus;

constexpr size_t HASH_CHUNK_BYTES = size_t{1} << 20;
const std::vector<FineTuneStatus> UNFINISHED = {FineTuneStatus::VALIDATING_FILES,
                                                FineTuneStatus::QUEUED, FineTuneStatus::RUNNING};

bool finished(FineTuneStatus s) {
  return s == FineTuneStatus::SUCCEEDED || s == FineTuneStatus::FAILED ||
         s == FineTuneStatus::CANCELLED;
}

// SHA-256 of a file read in chunks (model weights run to gigabytes), lowercase hex.
Result<std::string> sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot read " + path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return internal_error("cannot start a SHA-256 digest");
  }
  std::vector<char> buf(HASH_CHUNK_BYTES);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize got = in.gcount();
    if (got > 0 && EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(got)) != 1) {
      return internal_error("SHA-256 of " + path + " failed");
    }
  }
  if (in.bad()) return internal_error("reading " + path + " failed");
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md.data(), &len) != 1) {
    return internal_error("SHA-256 of " + path + " failed");
  }
  return to_hex(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

// Every file of the base model (a Hugging Face folder's regular files, by name, or the GGUF
// file) with its size and SHA-256: the weights as they were when the job trained on them.
Result<boost::json::array> model_files(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      if (entry.is_regular_file(ec)) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.emplace_back(path);
  }
  if (ec) return internal_error("cannot list " + path + ": " + ec.message());
  boost::json::array out;
  for (const fs::path& f : files) {
    SOCLE_ASSIGN_OR_RETURN(std::string digest, sha256_file(f.string()));
    out.push_back(boost::json::object{{"name", f.filename().string()},
                                      {"bytes", static_cast<int64_t>(fs::file_size(f, ec))},
                                      {"sha256", digest}});
  }
  return out;
}

boost::json::object data_file_json(const store::StoredFile& f, const train::PreparedData& d) {
  return {{"id", "file-" + std::to_string(f.id)},
          {"filename", f.filename},
          {"bytes", f.bytes},
          {"sha256", f.sha256},
          {"examples", static_cast<int64_t>(d.examples.size())},
          {"tokens", d.tokens},
          {"trained_tokens_per_epoch", d.trained_tokens}};
}

// What article 53 of the AI Act asks a model's modifier to document: the base model and the
// data (by hash), the method and its settings, the seed, the token counts, the compute.
Result<boost::json::object> provenance_json(const store::FineTuneJob& job,
                                            const FineTuneAnalysis& a) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::array files, model_files(a.model->settings().path));
  const train::FineTunePlan& p = a.plan;
  boost::json::object o{{"job", fine_tuning_job_id(job.id)},
                        {"base_model", boost::json::object{{"name", job.model},
                                                           {"path", a.model->settings().path},
                                                           {"files", std::move(files)}}},
                        {"training_file", data_file_json(a.training_file, a.training)},
                        {"validation_file", nullptr},
                        {"method", "supervised fine-tuning with LoRA (assistant tokens only)"},
                        {"hyperparameters", hyperparameters_json(p.hyperparameters)},
                        {"learning_rate", p.hyperparameters.learning_rate},
                        {"lora", lora_json(p.hyperparameters.lora)},
                        {"seed", job.seed},
                        {"steps", p.steps},
                        {"trained_tokens", p.trained_tokens},
                        {"estimated_compute_flops", p.estimated_flops},
                        {"software", std::string("socle ") + version_string()}};
  if (a.validation_file && a.validation) {
    o["validation_file"] = data_file_json(*a.validation_file, *a.validation);
  }
  return o;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

}  // namespace

std::string fine_tuning_job_id(store::Id id) {
  return "ftjob-" + std::to_string(id);
}

std::string fine_tuned_model_name(const store::FineTuneJob& job) {
  return "ft:" + job.model + ":" + job.suffix + ":" + fine_tuning_job_id(job.id);
}

namespace {

// The served model of succeeded `job` with `adapter`.
std::shared_ptr<providers::AdapterModel> adapter_model(const store::FineTuneJob& job,
                                                       engine::LoraAdapter adapter) {
  auto m = std::make_shared<providers::AdapterModel>();
  m->name = job.fine_tuned_model;
  m->base = job.model;
  m->owner_user = job.owner_id;
  m->owner_org = job.org_id;
  m->source = fine_tuning_job_id(job.id);
  m->created_at = job.finished_at.value_or(job.created_at);
  m->groups = job.shared_groups;
  m->adapter = std::make_shared<const engine::LoraAdapter>(std::move(adapter));
  return m;
}

}  // namespace

FineTuningWorker::FineTuningWorker(Services& services) : s_(services) {}

FineTuningWorker::~FineTuningWorker() {
  stop();
}

std::string FineTuningWorker::job_dir(store::Id job_id) const {
  return s_.config.data_dir + "/fine_tuning/" + fine_tuning_job_id(job_id);
}

Status FineTuningWorker::start() {
  SOCLE_RETURN_IF_ERROR(restore_models());
  SOCLE_ASSIGN_OR_RETURN(auto pending,
                         s_.store.fine_tuning().with_status(store::Actor::system(), UNFINISHED));
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
    for (const auto& job : pending)
      queue_.push_back(job.id);
  }
  for (int64_t i = 0; i < s_.config.fine_tuning_concurrent_jobs; ++i)
    threads_.emplace_back([this] { loop(); });
  if (!pending.empty()) {
    log::info("fine-tuning jobs resumed", {{"jobs", static_cast<uint64_t>(pending.size())}});
  }
  return Status::ok();
}

void FineTuningWorker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_)
    t.join();
  threads_.clear();
}

void FineTuningWorker::enqueue(store::Id job_id) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(job_id);
  }
  wake_.notify_one();
}

void FineTuningWorker::cancelled(store::Id job_id) {
  std::lock_guard lock(mu_);
  cancelled_.insert(job_id);
}

void FineTuningWorker::cancel_and_wait(store::Id job_id) {
  std::unique_lock lock(mu_);
  cancelled_.insert(job_id);
  std::erase(queue_, job_id);
  left_.wait(lock, [&] { return !active_.contains(job_id); });
}

bool FineTuningWorker::should_stop(store::Id job_id) {
  std::lock_guard lock(mu_);
  return stopping_ || cancelled_.contains(job_id);
}

void FineTuningWorker::loop() {
  for (;;) {
    store::Id id = 0;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      id = queue_.front();
      queue_.pop_front();
      active_.insert(id);
    }
    run(id);
    {
      std::lock_guard lock(mu_);
      active_.erase(id);
    }
    left_.notify_all();
  }
}

Result<std::string> FineTuningWorker::step_metrics_csv(store::Id job_id) {
  store::Actor sys = store::Actor::system();
  constexpr int64_t ALL = INT64_MAX;
  SOCLE_ASSIGN_OR_RETURN(auto events, s_.store.fine_tuning().events(sys, job_id, 0, ALL));
  SOCLE_ASSIGN_OR_RETURN(auto checkpoints, s_.store.fine_tuning().checkpoints(sys, job_id, 0, ALL));
  // Newest first: a step run again after a resume keeps its last values.
  std::map<int64_t, boost::json::object> steps;
  for (const store::FineTuneEvent& e : events) {
    Result<boost::json::object> data = json::parse_object(e.data);
    if (!data.is_ok() || !data->contains("step") || !data->contains("train_loss")) continue;
    const boost::json::value& step = data->at("step");
    if (step.is_int64()) steps.emplace(step.as_int64(), std::move(*data));
  }
  std::map<int64_t, double> valid;
  for (const store::FineTuneCheckpoint& c : checkpoints) {
    Result<boost::json::object> m = json::parse_object(c.metrics);
    if (m.is_ok() && m->contains("valid_loss") && m->at("valid_loss").is_double()) {
      valid.emplace(c.step, m->at("valid_loss").as_double());
    }
  }
  auto number = [](double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", x);
    return std::string(buf);
  };
  auto field = [&number](const boost::json::object& o, const char* key) -> std::string {
    const boost::json::value* v = o.if_contains(key);
    if (v == nullptr) return "";
    if (v->is_double()) return number(v->as_double());
    if (v->is_int64()) return std::to_string(v->as_int64());
    return "";
  };
  std::string csv = "step,train_loss,valid_loss,learning_rate,grad_norm,trained_tokens\n";
  for (const auto& [step, m] : steps) {
    auto v = valid.find(step);
    csv += std::to_string(step) + "," + field(m, "train_loss") + "," +
           (v == valid.end() ? "" : number(v->second)) + "," + field(m, "learning_rate") + "," +
           field(m, "grad_norm") + "," + field(m, "trained_tokens") + "\n";
  }
  return csv;
}

Status FineTuningWorker::restore_models() {
  SOCLE_ASSIGN_OR_RETURN(auto done, s_.store.fine_tuning().with_status(
                                        store::Actor::system(), {FineTuneStatus::SUCCEEDED}));
  for (const store::FineTuneJob& job : done) {
    if (job.model_deleted_at) continue;
    Result<const providers::LocalModel*> base = fine_tunable_model(s_.registry, job.model);
    if (!base.is_ok()) {
      log::warn("a fine-tuned model's base model is not served any more",
                {{"job", fine_tuning_job_id(job.id)}, {"base", job.model}});
      continue;
    }
    Result<engine::LoraAdapter> adapter =
        engine::LoraAdapter::load_peft(job.result_dir + "/adapter", (*base)->decoder()->config());
    if (!adapter.is_ok()) {
      log::error("a fine-tuned model's adapter cannot be loaded",
                 {{"job", fine_tuning_job_id(job.id)}, {"error", adapter.status().message()}});
      continue;
    }
    s_.registry.adapters().put(adapter_model(job, std::move(*adapter)));
  }
  return Status::ok();
}

void FineTuningWorker::event(store::Id job_id, const std::string& level, const std::string& message,
                             const std::string& data) {
  store::FineTuneEvent e;
  e.job_id = job_id;
  e.level = level;
  e.message = message;
  e.data = data;
  Status st = s_.store.fine_tuning().add_event(store::Actor::system(), e).status_or_ok();
  if (!st.is_ok()) log::warn("fine-tuning event not recorded", {{"error", st.message()}});
}

void FineTuningWorker::fail(store::FineTuneJob job, const std::string& code,
                            const std::string& message, const std::string& param) {
  boost::json::object error{{"code", code}, {"message", message}, {"param", nullptr}};
  if (!param.empty()) error["param"] = param;
  job.status = FineTuneStatus::FAILED;
  job.error = json::dump(error);
  job.finished_at = s_.clock.unix_seconds();
  // The state and its event in one transaction: a reader that sees the job failed sees why.
  store::FineTuneEvent e;
  e.job_id = job.id;
  e.level = "error";
  e.message = "The job failed: " + message;
  Status st = s_.store.transaction([&]() -> Status {
    SOCLE_RETURN_IF_ERROR(
        s_.store.fine_tuning().update(store::Actor::system(), job, UNFINISHED).status_or_ok());
    return s_.store.fine_tuning().add_event(store::Actor::system(), e).status_or_ok();
  });
  if (!st.is_ok()) {
    // FAILED_PRECONDITION: the job was cancelled meanwhile, and stays so.
    if (st.code() != StatusCode::FAILED_PRECONDITION) {
      log::error("a failed fine-tuning job could not be recorded", {{"error", st.message()}});
    }
    return;
  }
  log::info("fine-tuning job failed", {{"job", fine_tuning_job_id(job.id)}, {"code", code}});
}

void FineTuningWorker::run(store::Id job_id) {
  Result<store::FineTuneJob> job = s_.store.fine_tuning().get(store::Actor::system(), job_id);
  if (!job.is_ok()) {
    log::error("fine-tuning job unreadable",
               {{"job", fine_tuning_job_id(job_id)}, {"error", job.status().message()}});
    return;
  }
  if (finished(job->status)) return;
  Status st = train(*job);
  if (st.is_ok()) return;
  // A store that does not answer leaves the job as it is, to resume at the next start.
  if (st.code() == StatusCode::UNAVAILABLE) {
    log::error("fine-tuning job interrupted",
               {{"job", fine_tuning_job_id(job_id)}, {"error", st.message()}});
    return;
  }
  Result<store::FineTuneJob> now = s_.store.fine_tuning().get(store::Actor::system(), job_id);
  fail(now.is_ok() ? *now : *job, "internal_error", st.message(), "");
}

Status FineTuningWorker::train(store::FineTuneJob job) {
  const store::Actor sys = store::Actor::system();
  if (should_stop(job.id)) return Status::ok();
  FineTuneFailure failure;
  Result<FineTuneAnalysis> analysed =
      analyse_fine_tune(s_, store::Actor::user(job.owner_id, job.org_id), job, &failure);
  if (!analysed.is_ok()) {
    if (failure.code.empty()) return analysed.status();
    fail(job, failure.code, failure.message, failure.param);
    return Status::ok();
  }
  const FineTuneAnalysis& a = *analysed;
  const train::FineTunePlan& plan = a.plan;
  const std::string dir = job_dir(job.id);

  if (should_stop(job.id)) return Status::ok();
  // Hashing the weights reads every byte of them: once per job, kept on the job.
  if (job.provenance.empty()) {
    SOCLE_ASSIGN_OR_RETURN(boost::json::object prov, provenance_json(job, a));
    job.provenance = json::dump(prov);
  }
  job.hyperparameters = json::dump(hyperparameters_json(plan.hyperparameters));
  job.lora = json::dump(lora_json(plan.hyperparameters.lora));
  job.estimate = json::dump(estimate_json(a));
  job.result_dir = dir;
  bool validated_now = job.status == FineTuneStatus::VALIDATING_FILES;
  if (validated_now) job.status = FineTuneStatus::QUEUED;
  Result<store::FineTuneJob> queued = s_.store.fine_tuning().update(sys, job, UNFINISHED);
  if (!queued.is_ok()) {
    return queued.status().code() == StatusCode::FAILED_PRECONDITION ? Status::ok()
                                                                     : queued.status();
  }
  job = *queued;
  if (validated_now) {
    event(job.id, "info",
          "Files validated: " + std::to_string(plan.examples) + " examples, " +
              std::to_string(plan.tokens_per_epoch) + " tokens per epoch, " +
              std::to_string(plan.steps) + " steps planned");
  }
  if (should_stop(job.id)) return Status::ok();

  bool first_start = job.status != FineTuneStatus::RUNNING;
  job.status = FineTuneStatus::RUNNING;
  if (!job.started_at) job.started_at = s_.clock.unix_seconds();
  Result<store::FineTuneJob> running =
      s_.store.fine_tuning().update(sys, job, {FineTuneStatus::QUEUED, FineTuneStatus::RUNNING});
  if (!running.is_ok()) {
    return running.status().code() == StatusCode::FAILED_PRECONDITION ? Status::ok()
                                                                      : running.status();
  }
  job = *running;
  if (first_start) event(job.id, "info", "Fine-tuning job started");

  const engine::LlamaModel& model = *a.model->decoder();
  SOCLE_ASSIGN_OR_RETURN(engine::LoraAdapter init,
                         engine::LoraAdapter::init(model.config(), plan.hyperparameters.lora,
                                                   plan.hyperparameters.seed));
  train::TrainConfig config = plan.train;
  config.checkpoint_every = s_.config.fine_tuning_checkpoint_every;
  config.checkpoint_dir = dir + "/checkpoints";
  Result<train::Trainer> made =
      train::Trainer::create(model, std::move(init), a.training.examples, config);
  if (!made.is_ok()) {
    fail(job, "invalid_training_file", made.status().message(), "training_file");
    return Status::ok();
  }
  train::Trainer& trainer = *made;
  if (Result<std::string> latest = train::checkpoint_latest(config.checkpoint_dir);
      latest.is_ok()) {
    SOCLE_RETURN_IF_ERROR(trainer.resume(*latest));
    event(job.id, "info",
          "Resumed from the checkpoint at step " + std::to_string(trainer.steps_done()));
  }

  const int64_t total = config.steps;
  double last_loss = 0;
  std::optional<double> last_valid;
  while (!trainer.done()) {
    if (should_stop(job.id)) return Status::ok();
    Result<train::StepReport> r = trainer.step();
    if (!r.is_ok()) {
      fail(job, "training_error", r.status().message(), "");
      return Status::ok();
    }
    last_loss = r->loss;
    int64_t step = r->step + 1;
    boost::json::object metrics{{"step", step},
                                {"train_loss", r->loss},
                                {"total_steps", total},
                                {"learning_rate", r->lr},
                                {"grad_norm", r->grad_norm},
                                {"trained_tokens", r->trained_tokens}};
    event(job.id, "info",
          "Step " + std::to_string(step) + "/" + std::to_string(total) +
              ": training loss=" + number_text(r->loss),
          json::dump(metrics));
    bool checkpointed =
        step == total || (config.checkpoint_every > 0 && step % config.checkpoint_every == 0);
    if (!checkpointed) continue;
    boost::json::object ck_metrics{{"step", step}, {"train_loss", r->loss}};
    if (a.validation) {
      SOCLE_ASSIGN_OR_RETURN(double v, trainer.validation_loss(a.validation->examples));
      last_valid = v;
      ck_metrics["valid_loss"] = v;
      ck_metrics["full_valid_loss"] = v;
    }
    store::FineTuneCheckpoint ck;
    ck.job_id = job.id;
    ck.step = step;
    ck.metrics = json::dump(ck_metrics);
    ck.model_name = fine_tuned_model_name(job) + ":ckpt-step-" + std::to_string(step);
    ck.dir = config.checkpoint_dir + "/checkpoint-" + std::to_string(step);
    SOCLE_RETURN_IF_ERROR(s_.store.fine_tuning().add_checkpoint(sys, ck).status_or_ok());
  }

  // The adapter and its provenance, then the job's success and its model.
  const std::string adapter_dir = dir + "/adapter";
  SOCLE_RETURN_IF_ERROR(trainer.adapter().save_peft(adapter_dir, job.model));
  // The same adapter as llama.cpp loads it (llama-cli --lora) next to the base's GGUF file.
  SOCLE_RETURN_IF_ERROR(
      engine::lora_write_gguf(trainer.adapter(), model.config(), adapter_dir + "/adapter.gguf"));
  SOCLE_ASSIGN_OR_RETURN(boost::json::object prov, json::parse_object(job.provenance));
  boost::json::object final_metrics{{"train_loss", last_loss}};
  if (last_valid) final_metrics["valid_loss"] = *last_valid;
  prov["final_metrics"] = final_metrics;
  prov["adapter"] =
      "adapter_config.json and adapter_model.safetensors beside this file (PEFT), and "
      "adapter.gguf (llama.cpp's LoRA GGUF)";
  SOCLE_RETURN_IF_ERROR(write_file_atomic(adapter_dir + "/provenance.json", json::dump(prov)));

  // The step metrics as a CSV file of the owner's (OpenAI's result_files).
  SOCLE_ASSIGN_OR_RETURN(std::string csv, step_metrics_csv(job.id));
  SOCLE_ASSIGN_OR_RETURN(store::StoredFile results,
                         store_file_bytes(s_, store::Actor::user(job.owner_id, job.org_id),
                                          "step_metrics.csv", "fine-tune-results", csv));
  job.result_files = {results.id};

  job.status = FineTuneStatus::SUCCEEDED;
  job.fine_tuned_model = fine_tuned_model_name(job);
  job.trained_tokens = plan.trained_tokens;
  job.finished_at = s_.clock.unix_seconds();
  job.provenance = json::dump(prov);
  // The model is served before the job says it succeeded, and the job's last events are
  // written with its new state: a client that sees `succeeded` finds both.
  s_.registry.adapters().put(adapter_model(job, trainer.adapter()));
  bool cancelled_meanwhile = false;
  Status done = apply_audited(
      s_, sys,
      [&]() -> Status {
        Result<store::FineTuneJob> u =
            s_.store.fine_tuning().update(sys, job, {FineTuneStatus::RUNNING});
        if (!u.is_ok()) {
          cancelled_meanwhile = u.status().code() == StatusCode::FAILED_PRECONDITION;
          return u.status();
        }
        for (const std::string& message : {"New fine-tuned model created: " + job.fine_tuned_model,
                                           std::string("The job has successfully completed")}) {
          store::FineTuneEvent e;
          e.job_id = job.id;
          e.message = message;
          SOCLE_RETURN_IF_ERROR(s_.store.fine_tuning().add_event(sys, e).status_or_ok());
        }
        return Status::ok();
      },
      [&] {
        return tenancy::AuditEvent{"fine_tuning.model.create",
                                   "model",
                                   job.fine_tuned_model,
                                   {{"job", fine_tuning_job_id(job.id)},
                                    {"base", job.model},
                                    {"owner_user_id", job.owner_id},
                                    {"trained_tokens", job.trained_tokens}}};
      });
  if (!done.is_ok()) {
    s_.registry.adapters().remove(job.fine_tuned_model);
    return cancelled_meanwhile ? Status::ok() : done;
  }
  log::info("fine-tuning job succeeded",
            {{"job", fine_tuning_job_id(job.id)}, {"model", job.fine_tuned_model}});
  return Status::ok();
}

}  // namespace socle::api
