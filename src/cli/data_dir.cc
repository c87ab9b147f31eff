#include "cli/data_dir.h"

#include <filesystem>

#include "base/clock.h"
#include "tenancy/audit_key.h"
#include "tenancy/bootstrap.h"

namespace socle::cli {

Result<DataDir> open_data_dir(const std::string& dir,
                              const std::map<std::string, std::string>& env) {
  std::error_code ec;
  bool existed = std::filesystem::exists(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return unavailable("cannot create the data directory " + dir + ": " + ec.message());
  if (!existed) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  std::string db = (std::filesystem::path(dir) / "socle.db").string();
  DataDir out;
  SOCLE_ASSIGN_OR_RETURN(out.store, store::open_sqlite_store(db, SystemClock::instance()));
  SOCLE_ASSIGN_OR_RETURN(out.audit,
                         tenancy::AuditLog::open(*out.store, tenancy::audit_key_path(dir, env),
                                                 SystemClock::instance()));
  SOCLE_RETURN_IF_ERROR(tenancy::ensure_reference_data(*out.store, *out.audit));
  return out;
}

}  // namespace socle::cli
