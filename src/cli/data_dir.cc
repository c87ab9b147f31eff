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

Result<Config> load_command_config(const std::string& config_file, const std::string& data) {
  ConfigSources sources;
  sources.config_file = config_file;
  sources.env = socle_environment();
  if (!data.empty()) sources.flags["data"] = data;
  return load_config(sources);
}

Result<std::unique_ptr<store::Store>> open_existing_store(const std::string& data_dir) {
  std::string db = (std::filesystem::path(data_dir) / "socle.db").string();
  std::error_code ec;
  if (!std::filesystem::exists(db, ec)) {
    return not_found("no store at " + db + "; is " + data_dir + " a socle data directory?");
  }
  return store::open_sqlite_store(db, SystemClock::instance());
}

}  // namespace socle::cli
