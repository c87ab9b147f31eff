// A read-only ZIP archive in memory (libzip), for the office formats: DOCX and ODT packages.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

struct zip;

namespace socle::rag {

class ZipArchive {
 public:
  // Opens the archive held in `bytes`, which must outlive it (nothing is copied).
  // INVALID_ARGUMENT when the bytes are not a readable ZIP archive.
  static Result<std::unique_ptr<ZipArchive>> open(std::string_view bytes);

  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;
  ~ZipArchive();

  bool contains(const std::string& name);
  // The unpacked bytes of entry `name`. INVALID_ARGUMENT when it is missing, encrypted or
  // corrupt; PAYLOAD_TOO_LARGE when it unpacks to more than `max_bytes` (checked while
  // inflating, whatever the archive declares).
  Result<std::string> read(const std::string& name, int64_t max_bytes);

 private:
  explicit ZipArchive(struct zip* archive) : archive_(archive) {}

  struct zip* archive_;  // owned; discarded (never written back) on destruction
};

}  // namespace socle::rag
