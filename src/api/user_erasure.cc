#include "api/user_erasure.h"

#include <filesystem>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "api/files.h"
#include "api/fine_tuning_worker.h"
#include "base/file.h"
#include "base/log.h"
#include "rag/paths.h"
#include "rag/service.h"

namespace socle::api {
namespace {

constexpr int64_t ALL = std::numeric_limits<int64_t>::max();

void remove_folder(const std::string& path, const char* what, store::Id id) {
  if (path.empty()) return;
  if (Status removed = remove_tree(path); !removed.is_ok())
    log::warn("folder not removed", {{"what", what}, {"id", id}, {"error", removed.message()}});
}

Status erase_fine_tuning(Services& s, const store::Actor& owner, ErasedData& erased) {
  const store::Actor sys = store::Actor::system();
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::FineTuneJob> jobs,
                         s.store.fine_tuning().list(owner, 0, ALL));
  for (store::FineTuneJob& job : jobs) {
    if (job.owner_id != owner.user_id) continue;
    // An unfinished job stops before its next step (its row goes with the user's).
    store::FineTuneJob cancelled = job;
    cancelled.status = store::FineTuneStatus::CANCELLED;
    cancelled.finished_at = s.clock.unix_seconds();
    Result<store::FineTuneJob> made = s.store.fine_tuning().update(
        sys, cancelled,
        {store::FineTuneStatus::VALIDATING_FILES, store::FineTuneStatus::QUEUED,
         store::FineTuneStatus::RUNNING});
    if (!made.is_ok() && made.status().code() != StatusCode::FAILED_PRECONDITION)
      return made.status();
    // Whatever the store said, the worker may be in a step of the job: the folder goes once it
    // has left the job (a step under way would otherwise write a checkpoint into it again).
    if (s.fine_tuning != nullptr) s.fine_tuning->cancel_and_wait(job.id);
    // The job may have succeeded meanwhile (before the cancel), its model now served.
    if (Result<store::FineTuneJob> now = s.store.fine_tuning().get(sys, job.id); now.is_ok())
      job = std::move(now).value();
    // Requests already running keep their copy of the adapter; nothing new gets it.
    if (!job.fine_tuned_model.empty()) s.registry.adapters().remove(job.fine_tuned_model);
    // The worker's folder for the job (result_dir once it was validated, the same path).
    remove_folder(s.fine_tuning != nullptr ? s.fine_tuning->job_dir(job.id) : job.result_dir,
                  "fine-tuning job", job.id);
    ++erased.fine_tuning_jobs;
  }
  return Status::ok();
}

Status erase_collections(Services& s, const store::Actor& owner, ErasedData& erased) {
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::Collection> readable,
                         s.store.collections().list(owner));
  for (const store::Collection& c : readable) {
    if (c.owner_id != owner.user_id) continue;  // shared with the user, or public
    // Rows first (documents and chunks go by cascade), then indexes and folder, as
    // DELETE /v1/collections/{id} does.
    SOCLE_RETURN_IF_ERROR(s.store.collections().remove(owner, c.id));
    if (s.rag != nullptr) s.rag->forget_collection(c.id);
    remove_folder(rag::collection_dir(s.config.data_dir, c.id), "collection", c.id);
    ++erased.collections;
  }
  return Status::ok();
}

// Documents the user uploaded to collections of others (shared with it for writing).
Status erase_documents(Services& s, const store::User& user, ErasedData& erased) {
  const store::Actor sys = store::Actor::system();
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::Document> documents,
                         s.store.documents().owned_by(sys, user.id));
  for (const store::Document& d : documents) {
    SOCLE_ASSIGN_OR_RETURN(std::vector<store::Chunk> chunks, s.store.documents().chunks(sys, d.id));
    std::vector<store::Id> chunk_ids;
    chunk_ids.reserve(chunks.size());
    for (const store::Chunk& c : chunks)
      chunk_ids.push_back(c.id);
    // Index entries first: while the row stays, erasing again finds its chunks.
    if (s.rag != nullptr) SOCLE_RETURN_IF_ERROR(s.rag->forget_document(d.collection_id, chunk_ids));
    SOCLE_RETURN_IF_ERROR(s.store.documents().remove(sys, d.id));
    std::error_code ec;
    std::filesystem::remove(rag::document_file(s.config.data_dir, d.collection_id, d.id), ec);
    ++erased.documents;
  }
  return Status::ok();
}

Status erase_files(Services& s, const store::Actor& owner, ErasedData& erased) {
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::StoredFile> files,
                         s.store.files().list(owner, "", 0, false, ALL));
  for (const store::StoredFile& f : files) {
    SOCLE_RETURN_IF_ERROR(delete_stored_file(s, owner, f.id));
    ++erased.files;
  }
  return Status::ok();
}

}  // namespace

Result<ErasedData> erase_user_data(Services& s, const store::User& user) {
  const store::Actor owner = store::Actor::user(user.id, user.org_id);
  ErasedData erased;
  SOCLE_RETURN_IF_ERROR(erase_fine_tuning(s, owner, erased));
  SOCLE_RETURN_IF_ERROR(erase_collections(s, owner, erased));
  SOCLE_RETURN_IF_ERROR(erase_documents(s, user, erased));
  SOCLE_RETURN_IF_ERROR(erase_files(s, owner, erased));
  return erased;
}

}  // namespace socle::api
