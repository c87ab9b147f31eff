// Where a collection's files live: DATA/collections/<id>/, holding the uploaded originals
// (files/<document id>) and the derived indexes. Deleting the collection deletes the folder.
#pragma once

#include <cstdint>
#include <string>

namespace socle::rag {

inline std::string collection_dir(const std::string& data_dir, int64_t collection_id) {
  return data_dir + "/collections/" + std::to_string(collection_id);
}

inline std::string document_file(const std::string& data_dir, int64_t collection_id,
                                 int64_t document_id) {
  return collection_dir(data_dir, collection_id) + "/files/" + std::to_string(document_id);
}

}  // namespace socle::rag
