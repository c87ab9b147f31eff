// Fixed-width fields for the dense index's files, in host byte order (socle builds for
// x86-64 only). The reader checks every field against the bytes left.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace socle::rag {

class IndexFileWriter {
 public:
  void u32(uint32_t v) { raw(&v, sizeof v); }
  void u64(uint64_t v) { raw(&v, sizeof v); }
  void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class IndexFileReader {
 public:
  explicit IndexFileReader(std::string_view bytes) : bytes_(bytes) {}

  // Each returns false, reading nothing, when fewer bytes are left than the field needs.
  bool u32(uint32_t* v) { return raw(v, sizeof *v); }
  bool u64(uint64_t* v) { return raw(v, sizeof *v); }
  bool raw(void* p, size_t n) {
    if (n > bytes_.size()) return false;
    std::memcpy(p, bytes_.data(), n);
    bytes_.remove_prefix(n);
    return true;
  }
  // The next n bytes, or false.
  bool view(size_t n, std::string_view* out) {
    if (n > bytes_.size()) return false;
    *out = bytes_.substr(0, n);
    bytes_.remove_prefix(n);
    return true;
  }
  size_t left() const { return bytes_.size(); }

 private:
  std::string_view bytes_;
};

}  // namespace socle::rag
