// Fine-tuning jobs (OpenAI's /v1/fine_tuning/jobs), trained by the node's FineTuningWorker:
//   POST /v1/fine_tuning/jobs                     create (or, with dry_run, only estimate)
//   GET  /v1/fine_tuning/jobs                     ?after= &limit=, newest first
//   GET  /v1/fine_tuning/jobs/{id}
//   POST /v1/fine_tuning/jobs/{id}/cancel
//   GET  /v1/fine_tuning/jobs/{id}/events         ?after= &limit=, newest first
//   GET  /v1/fine_tuning/jobs/{id}/checkpoints    ?after= &limit=, newest first
// Objects in OpenAI's shapes plus socle's additive fields (estimate, provenance, lora). A job
// is its creator's: another user's answers exactly as a missing one (404). The files are
// checked at creation only for who owns them; their content is checked by the worker in the
// job's validating_files state (a bad file fails the job with OpenAI's error object), or at
// once with dry_run.
#include <algorithm>
#include <boost/json/array.hpp>
#include <cmath>
#include <filesystem>

#include "api/auth.h"
#include "api/files.h"
#include "api/fine_tuning_prepare.h"
#include "api/fine_tuning_worker.h"
#include "api/params.h"
#include "base/json.h"
#include "base/random.h"
#include "tenancy/audit.h"
#include "tenancy/permissions.h"

namespace socle::api {
namespace {

using store::FineTuneStatus;
using store::Id;

constexpr std::string_view JOB_PREFIX = "ftjob-";
constexpr std::string_view EVENT_PREFIX = "ftevent-";
constexpr std::string_view CHECKPOINT_PREFIX = "ftckpt-";
constexpr size_t MAX_SUFFIX_CHARS = 64;
constexpr int64_t DEFAULT_JOBS_LIMIT = 20;  // OpenAI's defaults
constexpr int64_t DEFAULT_EVENTS_LIMIT = 20;
constexpr int64_t DEFAULT_CHECKPOINTS_LIMIT = 10;
constexpr int64_t MAX_LIMIT = 1000;
// Ranges a request may ask for; fine_tune_plan.h checks the resolved values again.
constexpr int64_t MAX_EPOCHS = 50;
constexpr int64_t MAX_BATCH_SIZE = 256;
constexpr double MAX_LR_MULTIPLIER = 10;
constexpr int64_t MAX_LORA_RANK = 256;
constexpr int64_t MAX_SEED = 2147483647;  // OpenAI's seeds are 32-bit

const char* status_name(FineTuneStatus s) {
  switch (s) {
    case FineTuneStatus::VALIDATING_FILES:
      return "validating_files";
    case FineTuneStatus::QUEUED:
      return "queued";
    case FineTuneStatus::RUNNING:
      return "running";
    case FineTuneStatus::SUCCEEDED:
      return "succeeded";
    case FineTuneStatus::FAILED:
      return "failed";
    case FineTuneStatus::CANCELLED:
      return "cancelled";
  }
  return "failed";
}

// "<prefix>12" -> 12; NOT_FOUND (as for a missing object) for anything else.
Result<Id> parse_public_id(std::string_view text, std::string_view prefix, const char* what) {
  if (text.substr(0, prefix.size()) != prefix) {
    return not_found("no " + std::string(what) + " '" + std::string(text) + "' (ids look like " +
                     std::string(prefix) + "12)");
  }
  return path_id(text.substr(prefix.size()), what);
}

std::string public_id(std::string_view prefix, Id id) {
  return std::string(prefix) + std::to_string(id);
}

boost::json::value json_or_null(const std::string& text) {
  if (text.empty()) return nullptr;
  Result<boost::json::value> v = json::parse(text);
  return v.is_ok() ? *v : boost::json::value(nullptr);
}

boost::json::value opt_int(const std::optional<int64_t>& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

boost::json::object job_json(const store::FineTuneJob& j) {
  // Before the plan resolves them, the hyper-parameters are shown as asked ("auto" kept).
  boost::json::value hp = json_or_null(j.hyperparameters.empty() ? j.requested : j.hyperparameters);
  if (hp.is_null()) hp = boost::json::object{};
  boost::json::array result_files;
  for (store::Id f : j.result_files)
    result_files.emplace_back(file_public_id(f));
  boost::json::value estimate = json_or_null(j.estimate);
  boost::json::value estimated_finish = nullptr;
  if ((j.status == FineTuneStatus::RUNNING || j.status == FineTuneStatus::QUEUED) &&
      estimate.is_object()) {
    const boost::json::value* sec = estimate.as_object().if_contains("estimated_seconds");
    if (sec != nullptr && sec->is_number()) {
      estimated_finish =
          j.started_at.value_or(j.created_at) + std::llround(sec->to_number<double>());
    }
  }
  boost::json::object o{
      {"id", public_id(JOB_PREFIX, j.id)},
      {"object", "fine_tuning.job"},
      {"created_at", j.created_at},
      {"finished_at", opt_int(j.finished_at)},
      {"model", j.model},
      {"fine_tuned_model", nullptr},
      {"organization_id", "org-" + std::to_string(j.org_id)},
      {"status", status_name(j.status)},
      {"hyperparameters", hp},
      {"method", boost::json::object{{"type", j.method},
                                     {j.method, boost::json::object{{"hyperparameters", hp}}}}},
      {"training_file", "file-" + std::to_string(j.training_file)},
      {"validation_file", nullptr},
      {"result_files", std::move(result_files)},
      {"trained_tokens", nullptr},
      {"error", json_or_null(j.error)},
      {"seed", j.seed},
      {"estimated_finish", estimated_finish},
      {"integrations", nullptr},
      {"user_provided_suffix", nullptr},
      {"metadata", nullptr},
      {"started_at", opt_int(j.started_at)},
      {"estimate", estimate},
      {"provenance", json_or_null(j.provenance)},
      {"lora", json_or_null(j.lora)},
      {"fine_tuned_model_deleted_at", opt_int(j.model_deleted_at)}};
  if (!j.fine_tuned_model.empty()) o["fine_tuned_model"] = j.fine_tuned_model;
  if (j.validation_file != 0) o["validation_file"] = "file-" + std::to_string(j.validation_file);
  if (j.status == FineTuneStatus::SUCCEEDED) o["trained_tokens"] = j.trained_tokens;
  if (!j.suffix.empty()) o["user_provided_suffix"] = j.suffix;
  return o;
}

boost::json::object event_json(const store::FineTuneEvent& e) {
  boost::json::value data = json_or_null(e.data);
  return {{"id", public_id(EVENT_PREFIX, e.id)},
          {"object", "fine_tuning.job.event"},
          {"created_at", e.created_at},
          {"level", e.level},
          {"message", e.message},
          {"data", data.is_null() ? boost::json::value(boost::json::object{}) : data},
          {"type", data.is_null() ? "message" : "metrics"}};
}

boost::json::object checkpoint_json(const store::FineTuneCheckpoint& k) {
  boost::json::value metrics = json_or_null(k.metrics);
  return {{"id", public_id(CHECKPOINT_PREFIX, k.id)},
          {"object", "fine_tuning.job.checkpoint"},
          {"created_at", k.created_at},
          {"fine_tuned_model_checkpoint", k.model_name},
          {"step_number", k.step},
          {"metrics", metrics.is_null() ? boost::json::value(boost::json::object{}) : metrics},
          {"fine_tuning_job_id", public_id(JOB_PREFIX, k.job_id)}};
}

// --- the request ------------------------------------------------------------------------

// An integer, "auto" or absent (nullopt) in [min, max]; kept as the JSON the job stores.
Result<boost::json::value> int_or_auto_field(const boost::json::object& o, const char* key,
                                             const std::string& where, int64_t min, int64_t max) {
  const boost::json::value* v = json::present(o, key);
  std::string param = where + key;
  if (v == nullptr || (v->is_string() && v->as_string() == "auto"))
    return boost::json::value("auto");
  if (!v->is_int64() || v->as_int64() < min || v->as_int64() > max) {
    return invalid_argument("'" + param + "' must be \"auto\" or an integer from " +
                                std::to_string(min) + " to " + std::to_string(max),
                            param);
  }
  return *v;
}

Result<boost::json::value> number_or_auto_field(const boost::json::object& o, const char* key,
                                                const std::string& where, double max) {
  const boost::json::value* v = json::present(o, key);
  std::string param = where + key;
  if (v == nullptr || (v->is_string() && v->as_string() == "auto"))
    return boost::json::value("auto");
  if (!v->is_number() || v->to_number<double>() <= 0 || v->to_number<double>() > max) {
    return invalid_argument("'" + param + "' must be \"auto\" or a number above 0 and at most " +
                                std::to_string(static_cast<int64_t>(max)),
                            param);
  }
  return boost::json::value(v->to_number<double>());
}

// {n_epochs, batch_size, learning_rate_multiplier}, each "auto" unless given.
Result<boost::json::object> hyperparameters_field(const boost::json::value* v,
                                                  const std::string& where) {
  boost::json::object empty;
  if (v != nullptr && !v->is_null() && !v->is_object()) {
    return invalid_argument("'" + where.substr(0, where.size() - 1) + "' must be an object",
                            where.substr(0, where.size() - 1));
  }
  const boost::json::object& o = v != nullptr && v->is_object() ? v->as_object() : empty;
  SOCLE_RETURN_IF_ERROR(
      json::check_keys(o, {"n_epochs", "batch_size", "learning_rate_multiplier"}));
  boost::json::object out;
  SOCLE_ASSIGN_OR_RETURN(out["n_epochs"], int_or_auto_field(o, "n_epochs", where, 1, MAX_EPOCHS));
  SOCLE_ASSIGN_OR_RETURN(out["batch_size"],
                         int_or_auto_field(o, "batch_size", where, 1, MAX_BATCH_SIZE));
  SOCLE_ASSIGN_OR_RETURN(
      out["learning_rate_multiplier"],
      number_or_auto_field(o, "learning_rate_multiplier", where, MAX_LR_MULTIPLIER));
  return out;
}

// The hyper-parameters of `method` ({type: "supervised", supervised: {hyperparameters}}) or
// of the legacy top-level `hyperparameters`, not both.
Result<boost::json::object> requested_hyperparameters(const boost::json::object& body) {
  const boost::json::value* method = json::present(body, "method");
  const boost::json::value* legacy = json::present(body, "hyperparameters");
  if (method == nullptr) return hyperparameters_field(legacy, "hyperparameters.");
  if (legacy != nullptr) {
    return invalid_argument(
        "give the hyper-parameters in 'method.supervised.hyperparameters' or in the older "
        "'hyperparameters', not both",
        "hyperparameters");
  }
  if (!method->is_object()) return invalid_argument("'method' must be an object", "method");
  const boost::json::object& m = method->as_object();
  SOCLE_RETURN_IF_ERROR(json::check_keys(m, {"type", "supervised"}));
  std::optional<std::string> type;
  SOCLE_RETURN_IF_ERROR(json::get_string(m, "type", true, &type));
  if (*type != "supervised") {
    return invalid_argument(
        "'method.type' must be \"supervised\": socle trains LoRA adapters "
        "on examples; \"" +
            *type + "\" is not supported",
        "method.type");
  }
  const boost::json::value* sup = json::present(m, "supervised");
  if (sup == nullptr) return hyperparameters_field(nullptr, "method.supervised.hyperparameters.");
  if (!sup->is_object()) {
    return invalid_argument("'method.supervised' must be an object", "method.supervised");
  }
  SOCLE_RETURN_IF_ERROR(json::check_keys(sup->as_object(), {"hyperparameters"}));
  return hyperparameters_field(json::present(sup->as_object(), "hyperparameters"),
                               "method.supervised.hyperparameters.");
}

// socle's LoRA settings: {rank, alpha, target_modules}, each "auto" unless given.
Result<boost::json::object> lora_field(const boost::json::object& body) {
  const boost::json::value* v = json::present(body, "lora");
  boost::json::object empty;
  if (v != nullptr && !v->is_object()) return invalid_argument("'lora' must be an object", "lora");
  const boost::json::object& o = v != nullptr ? v->as_object() : empty;
  SOCLE_RETURN_IF_ERROR(json::check_keys(o, {"rank", "alpha", "target_modules"}));
  boost::json::object out;
  SOCLE_ASSIGN_OR_RETURN(out["rank"], int_or_auto_field(o, "rank", "lora.", 1, MAX_LORA_RANK));
  SOCLE_ASSIGN_OR_RETURN(out["alpha"], number_or_auto_field(o, "alpha", "lora.", 1e6));
  const boost::json::value* t = json::present(o, "target_modules");
  if (t == nullptr || (t->is_string() && t->as_string() == "auto")) {
    out["target_modules"] = "auto";
    return out;
  }
  std::string names;
  for (engine::LoraTarget target : engine::LORA_ALL_TARGETS)
    names += std::string(names.empty() ? "" : ", ") + engine::lora_target_name(target);
  std::string shape =
      "'lora.target_modules' must be \"auto\" or a non-empty list of distinct "
      "names among " +
      names;
  if (!t->is_array() || t->as_array().empty()) {
    return invalid_argument(shape, "lora.target_modules");
  }
  boost::json::array targets;
  for (const auto& name : t->as_array()) {
    if (!name.is_string() || !engine::lora_target_from_name(name.as_string()) ||
        std::find(targets.begin(), targets.end(), name) != targets.end()) {
      return invalid_argument(shape, "lora.target_modules");
    }
    targets.push_back(name);
  }
  out["target_modules"] = std::move(targets);
  return out;
}

// A file named by the request: the caller's own, uploaded for fine-tuning. Another user's
// file answers as a missing one.
Result<Id> data_file_field(Services& s, const tenancy::Principal& p,
                           const boost::json::object& body, const char* key, bool required) {
  std::optional<std::string> text;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, key, required, &text));
  if (!text) return Id{0};
  Result<Id> id = parse_public_id(*text, "file-", "file");
  Result<store::StoredFile> f =
      id.is_ok() ? s.store.files().get(self(p), *id) : Result<store::StoredFile>(id.status());
  if (!f.is_ok()) {
    if (f.status().code() != StatusCode::NOT_FOUND) return f.status();
    return invalid_argument("'" + std::string(key) + "': you have no file '" + *text +
                                "' (upload it with POST /v1/files, purpose \"fine-tune\")",
                            key);
  }
  if (f->purpose != "fine-tune") {
    return invalid_argument("'" + std::string(key) + "': file '" + *text + "' has purpose '" +
                                f->purpose + "', not \"fine-tune\"",
                            key);
  }
  return f->id;
}

Result<std::string> suffix_field(const boost::json::object& body) {
  std::optional<std::string> suffix;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "suffix", false, &suffix));
  if (!suffix) return std::string();
  bool ok =
      suffix->size() <= MAX_SUFFIX_CHARS && std::all_of(suffix->begin(), suffix->end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
      });
  if (!ok) {
    return invalid_argument("'suffix' must be at most 64 characters among a-z, A-Z, 0-9, - and _",
                            "suffix");
  }
  return *suffix;
}

Result<http::Response> create_job(Services& s, const http::Request& req,
                                  const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(
      body, {"model", "training_file", "validation_file", "suffix", "seed", "method",
             "hyperparameters", "lora", "dry_run", "integrations", "metadata"}));
  if (const boost::json::value* i = json::present(body, "integrations");
      i != nullptr && !(i->is_array() && i->as_array().empty())) {
    return invalid_argument(
        "socle supports no fine-tuning integrations (such as wandb); leave "
        "'integrations' out",
        "integrations");
  }
  if (const boost::json::value* m = json::present(body, "metadata");
      m != nullptr && !(m->is_object() && m->as_object().empty())) {
    return invalid_argument("socle keeps no metadata on fine-tuning jobs; leave 'metadata' out",
                            "metadata");
  }
  std::optional<std::string> model;
  SOCLE_RETURN_IF_ERROR(json::get_string(body, "model", true, &model));
  SOCLE_RETURN_IF_ERROR(fine_tunable_model(s.registry, *model).status_or_ok());

  store::FineTuneJob job;
  job.model = *model;
  SOCLE_ASSIGN_OR_RETURN(job.training_file,
                         data_file_field(s, p, body, "training_file", /*required=*/true));
  SOCLE_ASSIGN_OR_RETURN(job.validation_file,
                         data_file_field(s, p, body, "validation_file", /*required=*/false));
  SOCLE_ASSIGN_OR_RETURN(job.suffix, suffix_field(body));
  std::optional<int64_t> seed;
  SOCLE_RETURN_IF_ERROR(json::get_int(body, "seed", false, &seed));
  if (seed && (*seed < 0 || *seed > MAX_SEED)) {
    return invalid_argument("'seed' must be an integer from 0 to " + std::to_string(MAX_SEED),
                            "seed");
  }
  if (!seed) {
    // OpenAI draws a seed for a job that gives none, and shows it: the job stays repeatable.
    std::string bytes = secure_random_bytes(4);
    uint32_t v = 0;
    for (char c : bytes)
      v = (v << 8) | static_cast<uint8_t>(c);
    seed = static_cast<int64_t>(v & static_cast<uint32_t>(MAX_SEED));
  }
  job.seed = *seed;
  SOCLE_ASSIGN_OR_RETURN(boost::json::object requested, requested_hyperparameters(body));
  SOCLE_ASSIGN_OR_RETURN(boost::json::object lora, lora_field(body));
  job.requested = json::dump(requested);
  job.lora = json::dump(lora);
  std::optional<bool> dry_run;
  SOCLE_RETURN_IF_ERROR(json::get_bool(body, "dry_run", false, &dry_run));

  if (dry_run.value_or(false)) {
    FineTuneFailure failure;
    Result<FineTuneAnalysis> a = analyse_fine_tune(s, self(p), job, &failure);
    if (!a.is_ok()) {
      if (failure.code.empty()) return a.status();
      StatusCode code = a.status().code() == StatusCode::RESOURCE_EXHAUSTED
                            ? StatusCode::INVALID_ARGUMENT
                            : a.status().code();
      return Status{code, failure.message, failure.param, failure.code};
    }
    boost::json::object estimate = estimate_json(*a);
    boost::json::object out{{"object", "fine_tuning.job.estimate"},
                            {"model", job.model},
                            {"training_file", "file-" + std::to_string(job.training_file)},
                            {"validation_file", nullptr},
                            {"hyperparameters", hyperparameters_json(a->plan.hyperparameters)},
                            {"lora", lora_json(a->plan.hyperparameters.lora)},
                            {"seed", job.seed},
                            {"estimate", estimate},
                            // Mistral's dry-run names, for its clients.
                            {"train_tokens", a->plan.trained_tokens},
                            {"data_tokens", a->plan.tokens_per_epoch},
                            {"epochs", a->plan.hyperparameters.n_epochs},
                            {"expected_duration_seconds", a->plan.estimated_seconds}};
    if (job.validation_file != 0) {
      out["validation_file"] = "file-" + std::to_string(job.validation_file);
    }
    return json_response(200, out);
  }

  if (s.fine_tuning == nullptr) {
    return unavailable("fine-tuning jobs do not run on this server");
  }
  store::Actor a = self(p);
  store::FineTuneJob made;
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a,
      [&]() -> Status {
        SOCLE_ASSIGN_OR_RETURN(made, s.store.fine_tuning().create(a, job));
        return Status::ok();
      },
      [&] {
        return tenancy::AuditEvent{"fine_tuning.job.create",
                                   "fine_tuning_job",
                                   public_id(JOB_PREFIX, made.id),
                                   {{"model", made.model},
                                    {"training_file", "file-" + std::to_string(made.training_file)},
                                    {"seed", made.seed},
                                    {"via", "api"}}};
      }));
  s.fine_tuning->enqueue(made.id);
  return json_response(200, job_json(made));
}

// ?after=<id>&limit=n, parsed for lists newest first.
struct Page {
  Id before = 0;
  int64_t limit = 0;
};

Result<Page> page_params(const http::Request& req, std::string_view prefix, const char* what,
                         int64_t default_limit) {
  SOCLE_RETURN_IF_ERROR(check_param_names(req.query, {"after", "limit"}));
  SOCLE_ASSIGN_OR_RETURN(auto limit, optional_int_param(req, "limit", 1, MAX_LIMIT));
  SOCLE_ASSIGN_OR_RETURN(auto after, param(req, "after"));
  Page page{0, limit.value_or(default_limit)};
  if (after) {
    Result<Id> id = parse_public_id(*after, prefix, what);
    if (!id.is_ok()) {
      return invalid_argument("'after' must be the id of a " + std::string(what) + " (" +
                                  std::string(prefix) + "12), not '" + *after + "'",
                              "after");
    }
    page.before = *id;
  }
  return page;
}

template <typename Items, typename View>
http::Response page_response(Items items, int64_t limit, View view) {
  bool more = static_cast<int64_t>(items.size()) > limit;
  if (more) items.resize(static_cast<size_t>(limit));
  boost::json::array data;
  for (const auto& item : items)
    data.emplace_back(view(item));
  boost::json::object out{{"object", "list"}, {"data", std::move(data)}, {"has_more", more}};
  return json_response(200, out);
}

Result<http::Response> list_jobs(Services& s, const http::Request& req,
                                 const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(Page page,
                         page_params(req, JOB_PREFIX, "fine-tuning job", DEFAULT_JOBS_LIMIT));
  SOCLE_ASSIGN_OR_RETURN(auto jobs,
                         s.store.fine_tuning().list(self(p), page.before, page.limit + 1));
  return page_response(std::move(jobs), page.limit, job_json);
}

Result<http::Response> get_job(Services& s, const http::Request& req, const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(Id id, parse_public_id(req.param("id"), JOB_PREFIX, "fine-tuning job"));
  SOCLE_ASSIGN_OR_RETURN(auto job, s.store.fine_tuning().get(self(p), id));
  return json_response(200, job_json(job));
}

Result<http::Response> cancel_job(Services& s, const http::Request& req,
                                  const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(Id id, parse_public_id(req.param("id"), JOB_PREFIX, "fine-tuning job"));
  store::Actor a = self(p);
  SOCLE_ASSIGN_OR_RETURN(store::FineTuneJob job, s.store.fine_tuning().get(a, id));
  FineTuneStatus was = job.status;
  store::FineTuneJob made;
  Status st = apply_audited(
      s, a,
      [&]() -> Status {
        // Read again inside the transaction: the worker may have moved the job on since.
        SOCLE_ASSIGN_OR_RETURN(job, s.store.fine_tuning().get(a, id));
        was = job.status;
        job.status = FineTuneStatus::CANCELLED;
        job.finished_at = s.clock.unix_seconds();
        SOCLE_ASSIGN_OR_RETURN(
            made, s.store.fine_tuning().update(a, job,
                                               {FineTuneStatus::VALIDATING_FILES,
                                                FineTuneStatus::QUEUED, FineTuneStatus::RUNNING}));
        store::FineTuneEvent e;
        e.job_id = id;
        e.message = "The job was cancelled";
        return s.store.fine_tuning().add_event(a, e).status_or_ok();
      },
      [&] {
        return tenancy::AuditEvent{"fine_tuning.job.cancel",
                                   "fine_tuning_job",
                                   public_id(JOB_PREFIX, id),
                                   {{"was", status_name(was)}, {"via", "api"}}};
      });
  if (st.code() == StatusCode::FAILED_PRECONDITION) {
    return Status{StatusCode::FAILED_PRECONDITION,
                  "fine-tuning job " + public_id(JOB_PREFIX, id) + " is already " +
                      std::string(status_name(was)) +
                      "; only a job that is validating_files, queued or running can be cancelled",
                  "", "job_not_cancellable"};
  }
  SOCLE_RETURN_IF_ERROR(st);
  if (s.fine_tuning != nullptr) s.fine_tuning->cancelled(id);
  return json_response(200, job_json(made));
}

Result<http::Response> list_events(Services& s, const http::Request& req,
                                   const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(Id id, parse_public_id(req.param("id"), JOB_PREFIX, "fine-tuning job"));
  SOCLE_ASSIGN_OR_RETURN(Page page,
                         page_params(req, EVENT_PREFIX, "fine-tuning event", DEFAULT_EVENTS_LIMIT));
  SOCLE_ASSIGN_OR_RETURN(auto events,
                         s.store.fine_tuning().events(self(p), id, page.before, page.limit + 1));
  return page_response(std::move(events), page.limit, event_json);
}

Result<http::Response> list_checkpoints(Services& s, const http::Request& req,
                                        const tenancy::Principal& p) {
  SOCLE_ASSIGN_OR_RETURN(Id id, parse_public_id(req.param("id"), JOB_PREFIX, "fine-tuning job"));
  SOCLE_ASSIGN_OR_RETURN(Page page, page_params(req, CHECKPOINT_PREFIX, "fine-tuning checkpoint",
                                                DEFAULT_CHECKPOINTS_LIMIT));
  SOCLE_ASSIGN_OR_RETURN(auto checkpoints, s.store.fine_tuning().checkpoints(
                                               self(p), id, page.before, page.limit + 1));
  bool more = static_cast<int64_t>(checkpoints.size()) > page.limit;
  if (more) checkpoints.resize(static_cast<size_t>(page.limit));
  boost::json::array data;
  for (const auto& k : checkpoints)
    data.emplace_back(checkpoint_json(k));
  boost::json::object out{{"object", "list"}, {"data", std::move(data)}, {"has_more", more}};
  out["first_id"] = checkpoints.empty()
                        ? boost::json::value(nullptr)
                        : boost::json::value(public_id(CHECKPOINT_PREFIX, checkpoints.front().id));
  out["last_id"] = checkpoints.empty()
                       ? boost::json::value(nullptr)
                       : boost::json::value(public_id(CHECKPOINT_PREFIX, checkpoints.back().id));
  return json_response(200, out);
}

// The job whose fine-tuned model is `name`, if the principal owns it and it is not deleted;
// 404 model_not_found otherwise (`what` says what only an owner may do).
Result<store::FineTuneJob> owned_model(Services& s, const tenancy::Principal& p,
                                       const std::string& name, const char* what) {
  auto missing = [&] {
    return Status{StatusCode::NOT_FOUND,
                  "you have no fine-tuned model '" + name + "' (only fine-tuned models, ft:..., " +
                      what + ", by their owner)",
                  "model", "model_not_found"};
  };
  size_t colon = name.rfind(':');
  if (!name.starts_with("ft:") || colon == std::string::npos) return missing();
  Result<Id> id = parse_public_id(std::string_view(name).substr(colon + 1), JOB_PREFIX, "model");
  if (!id.is_ok()) return missing();
  Result<store::FineTuneJob> job = s.store.fine_tuning().get(self(p), *id);
  if (!job.is_ok()) {
    if (job.status().code() != StatusCode::NOT_FOUND) return job.status();
    return missing();
  }
  if (job->fine_tuned_model != name || job->model_deleted_at) return missing();
  return job;
}

// The "groups" of a share request: distinct positive ids of groups the principal belongs to
// (any existing group for an administrator), at most 64.
Result<std::vector<Id>> share_groups(Services& s, const tenancy::Principal& p,
                                     const boost::json::object& body) {
  const char* shape = "'groups' must be a list of group ids ([] stops sharing)";
  const boost::json::value* v = body.if_contains("groups");
  if (v == nullptr || !v->is_array()) return invalid_argument(shape, "groups");
  constexpr size_t MAX_GROUPS = 64;
  if (v->as_array().size() > MAX_GROUPS) {
    return invalid_argument("a model is shared with at most 64 groups", "groups");
  }
  std::vector<Id> groups;
  for (const auto& g : v->as_array()) {
    if (!g.is_int64() || g.as_int64() <= 0) return invalid_argument(shape, "groups");
    if (std::find(groups.begin(), groups.end(), g.as_int64()) != groups.end()) {
      return invalid_argument("group " + std::to_string(g.as_int64()) + " is listed twice",
                              "groups");
    }
    groups.push_back(g.as_int64());
  }
  if (p.has("admin")) {
    for (Id g : groups) {
      Result<store::Group> group = s.store.groups().get(store::Actor::system(), g);
      if (!group.is_ok()) {
        return invalid_argument("there is no group " + std::to_string(g), "groups");
      }
    }
    return groups;
  }
  SOCLE_ASSIGN_OR_RETURN(std::vector<Id> mine, s.store.groups().groups_of(self(p), p.user_id));
  for (Id g : groups) {
    if (std::find(mine.begin(), mine.end(), g) == mine.end()) {
      return invalid_argument("you are not a member of group " + std::to_string(g) +
                                  "; a model is shared only with its owner's groups",
                              "groups");
    }
  }
  return groups;
}

// PATCH /v1/models/{model} {"groups": [ids]} for a fine-tuned model: its owner shares it with
// those groups (their members see it in GET /v1/models and may use it) instead of the ones
// before; [] stops sharing.
Result<http::Response> share_model(Services& s, const http::Request& req,
                                   const tenancy::Principal& p) {
  const std::string name(req.param("model"));
  SOCLE_ASSIGN_OR_RETURN(store::FineTuneJob job, owned_model(s, p, name, "are shared"));
  SOCLE_ASSIGN_OR_RETURN(boost::json::object body, json_body(req));
  SOCLE_RETURN_IF_ERROR(json::check_keys(body, {"groups"}));
  SOCLE_ASSIGN_OR_RETURN(std::vector<Id> groups, share_groups(s, p, body));
  store::FineTuneJob changed = job;
  changed.shared_groups = groups;
  store::Actor a = self(p);
  boost::json::array listed;
  for (Id g : groups)
    listed.emplace_back(g);
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a,
      [&]() -> Status {
        return s.store.fine_tuning().update(a, changed, {FineTuneStatus::SUCCEEDED}).status_or_ok();
      },
      [&] {
        return tenancy::AuditEvent{
            "fine_tuning.model.share",
            "model",
            name,
            {{"job", public_id(JOB_PREFIX, changed.id)}, {"groups", listed}}};
      }));
  if (auto current = s.registry.adapters().find(name)) {
    auto shared = std::make_shared<providers::AdapterModel>(*current);
    shared->groups = groups;
    s.registry.adapters().put(std::move(shared));
  }
  return json_response(200, boost::json::object{{"id", name},
                                                {"object", "model"},
                                                {"owned_by", p.user_name},
                                                {"groups", std::move(listed)}});
}

// DELETE /v1/models/{model} for a fine-tuned model: its owner stops serving it and deletes
// its adapter and checkpoints; the job stays, with its provenance.json, for the record.
Result<http::Response> delete_model(Services& s, const http::Request& req,
                                    const tenancy::Principal& p) {
  const std::string name(req.param("model"));
  SOCLE_ASSIGN_OR_RETURN(store::FineTuneJob job, owned_model(s, p, name, "can be deleted"));
  store::Actor a = self(p);
  store::FineTuneJob changed = job;
  changed.model_deleted_at = s.clock.unix_seconds();
  SOCLE_RETURN_IF_ERROR(apply_audited(
      s, a,
      [&]() -> Status {
        return s.store.fine_tuning().update(a, changed, {FineTuneStatus::SUCCEEDED}).status_or_ok();
      },
      [&] {
        return tenancy::AuditEvent{"fine_tuning.model.delete",
                                   "model",
                                   name,
                                   {{"job", public_id(JOB_PREFIX, changed.id)}, {"via", "api"}}};
      }));
  s.registry.adapters().remove(name);
  // Requests already running keep their copy of the adapter; the files go now.
  std::error_code ec;
  std::filesystem::remove(changed.result_dir + "/adapter/adapter_model.safetensors", ec);
  std::filesystem::remove(changed.result_dir + "/adapter/adapter_config.json", ec);
  std::filesystem::remove(changed.result_dir + "/adapter/adapter.gguf", ec);
  // The checkpoints hold the adapter's weights too.
  std::filesystem::remove_all(changed.result_dir + "/checkpoints", ec);
  return json_response(200,
                       boost::json::object{{"id", name}, {"object", "model"}, {"deleted", true}});
}

}  // namespace

void register_fine_tuning_routes(http::Router& router, Services& s) {
  router.add("POST", "/v1/fine_tuning/jobs", fine_tune_handler(s, create_job));
  router.add("GET", "/v1/fine_tuning/jobs", fine_tune_handler(s, list_jobs));
  router.add("GET", "/v1/fine_tuning/jobs/{id}", fine_tune_handler(s, get_job));
  router.add("POST", "/v1/fine_tuning/jobs/{id}/cancel", fine_tune_handler(s, cancel_job));
  router.add("GET", "/v1/fine_tuning/jobs/{id}/events", fine_tune_handler(s, list_events));
  router.add("GET", "/v1/fine_tuning/jobs/{id}/checkpoints",
             fine_tune_handler(s, list_checkpoints));
  router.add("DELETE", "/v1/models/{model}", fine_tune_handler(s, delete_model));
  router.add("PATCH", "/v1/models/{model}", fine_tune_handler(s, share_model));
}

}  // namespace socle::api
