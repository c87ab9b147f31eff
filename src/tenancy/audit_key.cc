#include "tenancy/audit_key.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/file.h"
#include "base/random.h"

namespace socle::tenancy {
namespace {

constexpr unsigned KEY_FILE_MODE = 0600;

std::string errno_text() {
  return std::strerror(errno);
}

Status write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return unavailable("cannot write " + path + ": " + errno_text());
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::ok();
}

}  // namespace

std::string audit_key_path(const std::string& data_dir,
                           const std::map<std::string, std::string>& env) {
  if (auto it = env.find(std::string(AUDIT_KEY_FILE_ENV)); it != env.end() && !it->second.empty()) {
    return it->second;
  }
  return (std::filesystem::path(data_dir) / AUDIT_KEY_FILE_NAME).string();
}

Result<std::string> load_audit_key(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return not_found("the audit key file " + path + " does not exist");
  }
  SOCLE_ASSIGN_OR_RETURN(std::string key, read_file(path));
  if (key.size() != AUDIT_KEY_BYTES) {
    return Status{StatusCode::FAILED_PRECONDITION, "the audit key file " + path + " holds " +
                                                       std::to_string(key.size()) + " bytes, not " +
                                                       std::to_string(AUDIT_KEY_BYTES) +
                                                       "; restore it from its backup"};
  }
  return key;
}

Result<std::string> create_audit_key(const std::string& path) {
  std::filesystem::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), ec);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, KEY_FILE_MODE);
  if (fd < 0) return unavailable("cannot create " + tmp + ": " + errno_text());
  Status s = write_all(fd, secure_random_bytes(AUDIT_KEY_BYTES), tmp);
  if (s.is_ok() && ::fsync(fd) != 0) s = unavailable("cannot fsync " + tmp + ": " + errno_text());
  ::close(fd);
  // link(), unlike rename(), fails when the target exists: a key is never replaced, and of
  // two processes creating it at once both keep the one that got there first.
  if (s.is_ok() && ::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    s = unavailable("cannot create " + path + ": " + errno_text());
  }
  ::unlink(tmp.c_str());
  SOCLE_RETURN_IF_ERROR(s);
  std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);  // the new name survives a crash
    ::close(dfd);
  }
  return load_audit_key(path);
}

}  // namespace socle::tenancy
