// The fine-tuning queue of one node: `fine_tuning.concurrent_jobs` threads (one by default),
// beside serving, each taking the oldest waiting job and running it through its states:
//   validating_files  its files read and checked against the base model (fine_tuning_prepare.h)
//   queued            planned, waiting for a thread (and within fine_tuning.memory_mb)
//   running           the Trainer on the base model's weights (shared with serving), a
//                     checkpoint every fine_tuning.checkpoint_every steps, an event per step
//   succeeded         the adapter saved in PEFT's format with provenance.json under
//                     <data>/fine_tuning/ftjob-<id>/adapter and served as fine_tuned_model
//   failed            with OpenAI's error object {code, message, param}
//   cancelled         by POST .../cancel: the job stops before its next step
// Restart: start() puts every succeeded job's model back in the registry's adapter catalog and
// queues the jobs found validating_files, queued or running; a running one resumes from its
// latest checkpoint (Trainer::resume) and ends bitwise as an uninterrupted run would.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "api/services.h"
#include "store/records.h"

namespace socle::api {

class FineTuningWorker {
 public:
  explicit FineTuningWorker(Services& services);
  // Stops the threads (a running job stays `running`, to resume at the next start).
  ~FineTuningWorker();
  FineTuningWorker(const FineTuningWorker&) = delete;
  FineTuningWorker& operator=(const FineTuningWorker&) = delete;

  // Restores the succeeded jobs' models, queues the unfinished jobs and starts the threads.
  Status start();
  // Stops taking jobs and joins the threads; a job being trained stops before its next step.
  void stop();

  // Queues a job just created (status validating_files).
  void enqueue(store::Id job_id);
  // The job was cancelled in the store: stop it before its next step if it is running.
  void cancelled(store::Id job_id);
  // The same, then waits until no thread works on the job (at most the step it is in, and the
  // files that step writes): after it, nothing of this worker's writes the job's folder again.
  // For erasure, which deletes that folder next.
  void cancel_and_wait(store::Id job_id);

  // The folder of a job's files: <data>/fine_tuning/ftjob-<id>.
  std::string job_dir(store::Id job_id) const;

 private:
  void loop();
  // Runs one job as far as it goes; never throws, records every failure on the job.
  void run(store::Id job_id);
  Status train(store::FineTuneJob job);
  bool should_stop(store::Id job_id);
  void event(store::Id job_id, const std::string& level, const std::string& message,
             const std::string& data = {});
  void fail(store::FineTuneJob job, const std::string& code, const std::string& message,
            const std::string& param);
  Status restore_models();
  // The CSV of a job's step metrics (step, train_loss, valid_loss at checkpoints,
  // learning_rate, grad_norm, trained_tokens), from its events and checkpoints.
  Result<std::string> step_metrics_csv(store::Id job_id);

  Services& s_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<store::Id> queue_;    // guarded by mu_
  std::set<store::Id> cancelled_;  // guarded by mu_
  std::set<store::Id> active_;     // jobs a thread is running; guarded by mu_
  std::condition_variable left_;   // a thread has left a job
  bool stopping_ = false;          // guarded by mu_
  std::vector<std::thread> threads_;
};

// The public names: "ftjob-12", and the model a job's adapter is served as,
// "ft:<base>:<suffix>:ftjob-12".
std::string fine_tuning_job_id(store::Id id);
std::string fine_tuned_model_name(const store::FineTuneJob& job);

}  // namespace socle::api
