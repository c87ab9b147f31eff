#include "rag/parse/zip_archive.h"

#include <zip.h>

#include <vector>

namespace socle::rag {
namespace {

// Inflating in pieces of this size bounds the memory used beyond the limit to one piece.
constexpr size_t READ_PIECE = 64 << 10;

// libzip's error structure, finalised whatever happens.
class ZipError {
 public:
  ZipError() { zip_error_init(&error_); }
  ~ZipError() { zip_error_fini(&error_); }
  ZipError(const ZipError&) = delete;
  ZipError& operator=(const ZipError&) = delete;
  zip_error_t* get() { return &error_; }
  std::string message() { return zip_error_strerror(&error_); }

 private:
  zip_error_t error_;
};

struct FileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

}  // namespace

Result<std::unique_ptr<ZipArchive>> ZipArchive::open(std::string_view bytes) {
  ZipError error;
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, error.get());
  if (source == nullptr)
    return internal_error("libzip could not wrap the bytes: " + error.message());
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY, error.get());
  if (archive == nullptr) {
    zip_source_free(source);  // on failure the source stays ours
    return invalid_argument("the file is not a readable ZIP package: " + error.message());
  }
  return std::unique_ptr<ZipArchive>(new ZipArchive(archive));
}

ZipArchive::~ZipArchive() {
  zip_discard(archive_);
}

bool ZipArchive::contains(const std::string& name) {
  return zip_name_locate(archive_, name.c_str(), 0) >= 0;
}

Result<std::string> ZipArchive::read(const std::string& name, int64_t max_bytes) {
  zip_int64_t index = zip_name_locate(archive_, name.c_str(), 0);
  if (index < 0) return invalid_argument("the package has no " + name);
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(archive_, static_cast<zip_uint64_t>(index), 0, &st) != 0) {
    return invalid_argument("cannot read " + name +
                            " in the package: " + zip_error_strerror(zip_get_error(archive_)));
  }
  std::string too_large = name + " in the package unpacks to more than " +
                          std::to_string(max_bytes) + " bytes (max_unpacked_bytes)";
  if ((st.valid & ZIP_STAT_SIZE) && st.size > static_cast<zip_uint64_t>(max_bytes)) {
    return Status(StatusCode::PAYLOAD_TOO_LARGE, too_large);
  }
  std::unique_ptr<zip_file_t, FileCloser> file(
      zip_fopen_index(archive_, static_cast<zip_uint64_t>(index), 0));
  if (!file) {
    zip_error_t* e = zip_get_error(archive_);
    int code = zip_error_code_zip(e);
    if (code == ZIP_ER_NOPASSWD || code == ZIP_ER_WRONGPASSWD) {
      return invalid_argument(name + " in the package is encrypted; remove the password");
    }
    return invalid_argument("cannot open " + name + " in the package: " + zip_error_strerror(e));
  }
  std::string out;
  if (st.valid & ZIP_STAT_SIZE) out.reserve(static_cast<size_t>(st.size));
  std::vector<char> piece(READ_PIECE);
  for (;;) {
    zip_int64_t n = zip_fread(file.get(), piece.data(), piece.size());
    if (n < 0) {
      return invalid_argument("corrupt " + name + " in the package: " +
                              zip_error_strerror(zip_file_get_error(file.get())));
    }
    if (n == 0) break;
    if (static_cast<int64_t>(out.size()) + n > max_bytes) {
      return Status(StatusCode::PAYLOAD_TOO_LARGE, too_large);
    }
    out.append(piece.data(), static_cast<size_t>(n));
  }
  return out;
}

}  // namespace socle::rag
