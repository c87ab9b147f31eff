// Erasure of a user's data before its row is deleted (DELETE /v1/admin/users/{id}): what the
// store's cascades cannot reach (folders, indexes, file bytes, adapters being served) and the
// documents the user put in other people's collections, which no cascade names.
#pragma once

#include <cstdint>

#include "api/services.h"
#include "base/status.h"
#include "store/records.h"

namespace socle::api {

struct ErasedData {
  int64_t fine_tuning_jobs = 0;  // cancelled if unfinished; adapter and folder deleted
  int64_t collections = 0;       // owned: rows, documents, indexes and folder
  int64_t documents = 0;         // uploaded to collections of others: rows, chunks, file
  int64_t files = 0;             // /v1/files uploads; the bytes once no file names them
};

// Deletes, in this order, everything `user` owns that outlives its row: its fine-tuning jobs'
// folders (adapters, checkpoints) and the adapters in the registry, its collections with their
// indexes and folders, its documents in other collections with their chunks and indexes'
// entries, and its uploaded files. Each step is done and can be done again: a failure stops
// the erasure with the user still there, and deleting the user again finishes it.
Result<ErasedData> erase_user_data(Services& s, const store::User& user);

}  // namespace socle::api
