// Fine-tuning jobs, events and checkpoints: rows visible to whoever sees the job's owner
// (Actor::sees). Data: written without moving the change counter, as no server caches them.
#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <utility>

#include "store/sqlite/stores.h"

namespace socle::store::sqlite {
namespace {

constexpr const char* JOB_COLUMNS =
    "id, owner_id, org_id, model, training_file, validation_file, suffix, seed, method, "
    "requested, hyperparameters, lora, status, error, created_at, started_at, finished_at, "
    "trained_tokens, fine_tuned_model, estimate, provenance, result_dir, model_deleted_at, "
    "shared_groups, result_files";

constexpr std::array<std::pair<FineTuneStatus, const char*>, 6> STATUS_NAMES = {{
    {FineTuneStatus::VALIDATING_FILES, "validating_files"},
    {FineTuneStatus::QUEUED, "queued"},
    {FineTuneStatus::RUNNING, "running"},
    {FineTuneStatus::SUCCEEDED, "succeeded"},
    {FineTuneStatus::FAILED, "failed"},
    {FineTuneStatus::CANCELLED, "cancelled"},
}};

const char* status_text(FineTuneStatus s) {
  for (const auto& [status, name] : STATUS_NAMES) {
    if (status == s) return name;
  }
  return "failed";
}

FineTuneStatus status_of(const std::string& text) {
  for (const auto& [status, name] : STATUS_NAMES) {
    if (text == name) return status;
  }
  // The table's CHECK constraint admits only the names above.
  return FineTuneStatus::FAILED;
}

// A list of ids as the JSON array text a column holds, and back (anything else reads as none).
std::string ids_json(const std::vector<Id>& ids) {
  boost::json::array a;
  for (Id id : ids)
    a.emplace_back(id);
  return boost::json::serialize(a);
}

std::vector<Id> ids_from_json(const std::string& text) {
  std::vector<Id> out;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& id : v.as_array())
    if (id.is_int64()) out.push_back(id.as_int64());
  return out;
}

FineTuneJob read_job(const Stmt& s) {
  FineTuneJob j;
  j.id = s.column_int(0);
  j.owner_id = s.column_int(1);
  j.org_id = s.column_int(2);
  j.model = s.column_text(3);
  j.training_file = s.column_int(4);
  j.validation_file = s.column_int(5);
  j.suffix = s.column_text(6);
  j.seed = s.column_int(7);
  j.method = s.column_text(8);
  j.requested = s.column_text(9);
  j.hyperparameters = s.column_text(10);
  j.lora = s.column_text(11);
  j.status = status_of(s.column_text(12));
  j.error = s.column_text(13);
  j.created_at = s.column_int(14);
  j.started_at = s.column_opt_int(15);
  j.finished_at = s.column_opt_int(16);
  j.trained_tokens = s.column_int(17);
  j.fine_tuned_model = s.column_text(18);
  j.estimate = s.column_text(19);
  j.provenance = s.column_text(20);
  j.result_dir = s.column_text(21);
  j.model_deleted_at = s.column_opt_int(22);
  j.shared_groups = ids_from_json(s.column_text(23));
  j.result_files = ids_from_json(s.column_text(24));
  return j;
}

// The visibility condition on a job row (or on the job an event or checkpoint belongs to).
std::string job_clause(const Actor& actor, const std::string& table) {
  if (actor.all_tenants) return "1";
  std::string c = "(" + table + ".owner_id = " + std::to_string(actor.user_id);
  if (actor.org_wide) c += " OR " + table + ".org_id = " + std::to_string(actor.org_id);
  return c + ")";
}

Result<FineTuneJob> visible_job(Connection& c, const Actor& actor, Id id) {
  SOCLE_ASSIGN_OR_RETURN(
      Stmt st, c.db.prepare(std::string("SELECT ") + JOB_COLUMNS +
                            " FROM fine_tuning_jobs j WHERE id = ? AND " + job_clause(actor, "j")));
  st.bind(1, id);
  SOCLE_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return not_found("no fine-tuning job ftjob-" + std::to_string(id));
  return read_job(st);
}

Result<std::vector<FineTuneJob>> read_jobs(Stmt& st) {
  std::vector<FineTuneJob> out;
  for (;;) {
    SOCLE_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    out.push_back(read_job(st));
  }
  return out;
}

// Binds the mutable fields of `j` from position `at` on, in JOB_COLUMNS' order from `model`
// to `result_files` (created_at excepted); returns the next position.
int bind_job_fields(Stmt& st, int at, const FineTuneJob& j) {
  st.bind(at, std::string_view(j.model));
  st.bind(at + 1, j.training_file);
  st.bind(at + 2, j.validation_file);
  st.bind(at + 3, std::string_view(j.suffix));
  st.bind(at + 4, j.seed);
  st.bind(at + 5, std::string_view(j.method));
  st.bind(at + 6, std::string_view(j.requested));
  st.bind(at + 7, std::string_view(j.hyperparameters));
  st.bind(at + 8, std::string_view(j.lora));
  st.bind(at + 9, std::string_view(status_text(j.status)));
  st.bind(at + 10, std::string_view(j.error));
  st.bind(at + 11, j.started_at);
  st.bind(at + 12, j.finished_at);
  st.bind(at + 13, j.trained_tokens);
  st.bind(at + 14, std::string_view(j.fine_tuned_model));
  st.bind(at + 15, std::string_view(j.estimate));
  st.bind(at + 16, std::string_view(j.provenance));
  st.bind(at + 17, std::string_view(j.result_dir));
  st.bind(at + 18, j.model_deleted_at);
  st.bind(at + 19, ids_json(j.shared_groups));
  st.bind(at + 20, ids_json(j.result_files));
  return at + 21;
}

}  // namespace

Result<FineTuneJob> SqliteFineTuningStore::create(const Actor& actor, const FineTuneJob& in) {
  FineTuneJob j = in;
  j.owner_id = actor.user_id;
  j.org_id = actor.org_id;
  j.created_at = c_.clock.unix_seconds();
  SOCLE_RETURN_IF_ERROR(write_data_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st,
        c_.db.prepare("INSERT INTO fine_tuning_jobs (owner_id, org_id, created_at, model, "
                      "training_file, validation_file, suffix, seed, method, requested, "
                      "hyperparameters, lora, status, error, started_at, finished_at, "
                      "trained_tokens, fine_tuned_model, estimate, provenance, "
                      "result_dir, model_deleted_at, shared_groups, result_files) VALUES (?, ?, ?, "
                      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    st.bind(1, j.owner_id).bind(2, j.org_id).bind(3, j.created_at);
    bind_job_fields(st, 4, j);
    SOCLE_RETURN_IF_ERROR(st.run());
    j.id = c_.db.last_insert_id();
    return Status::ok();
  }));
  return j;
}

Result<FineTuneJob> SqliteFineTuningStore::get(const Actor& actor, Id id) {
  std::lock_guard lock(c_.mu);
  return visible_job(c_, actor, id);
}

Result<std::vector<FineTuneJob>> SqliteFineTuningStore::list(const Actor& actor, Id before_id,
                                                             int64_t limit) {
  std::lock_guard lock(c_.mu);
  std::string sql = std::string("SELECT ") + JOB_COLUMNS + " FROM fine_tuning_jobs j WHERE " +
                    job_clause(actor, "j");
  if (before_id > 0) sql += " AND id < ?";
  sql += " ORDER BY id DESC LIMIT ?";
  SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare(sql));
  int at = 1;
  if (before_id > 0) st.bind(at++, before_id);
  st.bind(at, limit);
  return read_jobs(st);
}

Result<FineTuneJob> SqliteFineTuningStore::update(const Actor& actor, const FineTuneJob& j,
                                                  const std::vector<FineTuneStatus>& from) {
  FineTuneJob out;
  SOCLE_RETURN_IF_ERROR(write_data_in_savepoint(c_, [&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(FineTuneJob now, visible_job(c_, actor, j.id));
    if (std::find(from.begin(), from.end(), now.status) == from.end()) {
      return {StatusCode::FAILED_PRECONDITION,
              "fine-tuning job ftjob-" + std::to_string(j.id) + " is " + status_text(now.status)};
    }
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st, c_.db.prepare("UPDATE fine_tuning_jobs SET model = ?, training_file = ?, "
                               "validation_file = ?, suffix = ?, seed = ?, method = ?, "
                               "requested = ?, hyperparameters = ?, lora = ?, status = ?, "
                               "error = ?, started_at = ?, finished_at = ?, trained_tokens = ?, "
                               "fine_tuned_model = ?, estimate = ?, provenance = ?, "
                               "result_dir = ?, model_deleted_at = ?, shared_groups = ?, "
                               "result_files = ? WHERE id = ?"));
    int at = bind_job_fields(st, 1, j);
    SOCLE_RETURN_IF_ERROR(st.bind(at, j.id).run());
    SOCLE_ASSIGN_OR_RETURN(out, visible_job(c_, actor, j.id));
    return Status::ok();
  }));
  return out;
}

Result<std::vector<FineTuneJob>> SqliteFineTuningStore::with_status(
    const Actor& actor, const std::vector<FineTuneStatus>& states) {
  std::lock_guard lock(c_.mu);
  std::string in;
  for (FineTuneStatus s : states)
    in += std::string(in.empty() ? "" : ", ") + "'" + status_text(s) + "'";
  if (in.empty()) return std::vector<FineTuneJob>{};
  SOCLE_ASSIGN_OR_RETURN(
      Stmt st, c_.db.prepare(std::string("SELECT ") + JOB_COLUMNS +
                             " FROM fine_tuning_jobs j WHERE status IN (" + in + ") AND " +
                             job_clause(actor, "j") + " ORDER BY id ASC"));
  return read_jobs(st);
}

Result<FineTuneEvent> SqliteFineTuningStore::add_event(const Actor& actor,
                                                       const FineTuneEvent& in) {
  FineTuneEvent e = in;
  e.created_at = c_.clock.unix_seconds();
  SOCLE_RETURN_IF_ERROR(write_data_in_savepoint(c_, [&]() -> Status {
    SOCLE_RETURN_IF_ERROR(visible_job(c_, actor, e.job_id).status_or_ok());
    SOCLE_ASSIGN_OR_RETURN(Stmt st,
                           c_.db.prepare("INSERT INTO fine_tuning_events (job_id, created_at, "
                                         "level, message, data) VALUES (?, ?, ?, ?, ?)"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, e.job_id)
                              .bind(2, e.created_at)
                              .bind(3, std::string_view(e.level))
                              .bind(4, std::string_view(e.message))
                              .bind(5, std::string_view(e.data))
                              .run());
    e.id = c_.db.last_insert_id();
    return Status::ok();
  }));
  return e;
}

Result<std::vector<FineTuneEvent>> SqliteFineTuningStore::events(const Actor& actor, Id job_id,
                                                                 Id before_id, int64_t limit) {
  std::lock_guard lock(c_.mu);
  SOCLE_RETURN_IF_ERROR(visible_job(c_, actor, job_id).status_or_ok());
  std::string sql =
      "SELECT id, job_id, created_at, level, message, data FROM fine_tuning_events "
      "WHERE job_id = ?";
  if (before_id > 0) sql += " AND id < ?";
  sql += " ORDER BY id DESC LIMIT ?";
  SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare(sql));
  int at = 1;
  st.bind(at++, job_id);
  if (before_id > 0) st.bind(at++, before_id);
  st.bind(at, limit);
  std::vector<FineTuneEvent> out;
  for (;;) {
    SOCLE_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    FineTuneEvent e;
    e.id = st.column_int(0);
    e.job_id = st.column_int(1);
    e.created_at = st.column_int(2);
    e.level = st.column_text(3);
    e.message = st.column_text(4);
    e.data = st.column_text(5);
    out.push_back(std::move(e));
  }
  return out;
}

Result<FineTuneCheckpoint> SqliteFineTuningStore::add_checkpoint(const Actor& actor,
                                                                 const FineTuneCheckpoint& in) {
  FineTuneCheckpoint k = in;
  k.created_at = c_.clock.unix_seconds();
  SOCLE_RETURN_IF_ERROR(write_data_in_savepoint(c_, [&]() -> Status {
    SOCLE_RETURN_IF_ERROR(visible_job(c_, actor, k.job_id).status_or_ok());
    // An upsert keeps the row's id when a resumed job records the same step again.
    SOCLE_ASSIGN_OR_RETURN(
        Stmt st, c_.db.prepare("INSERT INTO fine_tuning_checkpoints (job_id, step, metrics, "
                               "model_name, dir, created_at) VALUES (?, ?, ?, ?, ?, ?) "
                               "ON CONFLICT (job_id, step) DO UPDATE SET metrics = "
                               "excluded.metrics, model_name = excluded.model_name, dir = "
                               "excluded.dir, created_at = excluded.created_at"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, k.job_id)
                              .bind(2, k.step)
                              .bind(3, std::string_view(k.metrics))
                              .bind(4, std::string_view(k.model_name))
                              .bind(5, std::string_view(k.dir))
                              .bind(6, k.created_at)
                              .run());
    SOCLE_ASSIGN_OR_RETURN(
        Stmt id, c_.db.prepare("SELECT id FROM fine_tuning_checkpoints WHERE job_id = ? AND "
                               "step = ?"));
    id.bind(1, k.job_id).bind(2, k.step);
    SOCLE_ASSIGN_OR_RETURN(bool row, id.step());
    if (!row) return internal_error("the checkpoint row just written is missing");
    k.id = id.column_int(0);
    return Status::ok();
  }));
  return k;
}

Result<std::vector<FineTuneCheckpoint>> SqliteFineTuningStore::checkpoints(const Actor& actor,
                                                                           Id job_id, Id before_id,
                                                                           int64_t limit) {
  std::lock_guard lock(c_.mu);
  SOCLE_RETURN_IF_ERROR(visible_job(c_, actor, job_id).status_or_ok());
  std::string sql =
      "SELECT id, job_id, step, metrics, model_name, dir, created_at FROM "
      "fine_tuning_checkpoints WHERE job_id = ?";
  // "Older than before_id" in the list's order (step descending).
  if (before_id > 0) {
    sql += " AND step < (SELECT step FROM fine_tuning_checkpoints WHERE id = ?)";
  }
  sql += " ORDER BY step DESC LIMIT ?";
  SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare(sql));
  int at = 1;
  st.bind(at++, job_id);
  if (before_id > 0) st.bind(at++, before_id);
  st.bind(at, limit);
  std::vector<FineTuneCheckpoint> out;
  for (;;) {
    SOCLE_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    FineTuneCheckpoint k;
    k.id = st.column_int(0);
    k.job_id = st.column_int(1);
    k.step = st.column_int(2);
    k.metrics = st.column_text(3);
    k.model_name = st.column_text(4);
    k.dir = st.column_text(5);
    k.created_at = st.column_int(6);
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace socle::store::sqlite
