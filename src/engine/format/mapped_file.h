// A read-only memory map of a whole file, unmapped when the owner goes away.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "base/status.h"

namespace socle::engine {

class MappedFile {
 public:
  // Maps `path` read-only. NOT_FOUND if it cannot be opened; INTERNAL if mapping fails.
  // An empty file maps to an empty span.
  static Result<MappedFile> open(const std::string& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // The file's bytes; they stay at the same address when the MappedFile is moved.
  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const std::byte* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  void unmap();

  std::string path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace socle::engine
