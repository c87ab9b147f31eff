#include "cli/data_dir.h"

#include <filesystem>

#include "base/clock.h"
#include "tenancy/bootstrap.h"

namespace socle::cli {

Result<std::unique_ptr<store::Store>> open_data_dir(const std::string& dir) {
  std::error_code ec;
  bool existed = std::filesystem::exists(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return unavailable("cannot create the data directory " + dir + ": " + ec.message());
  if (!existed) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  std::string db = (std::filesystem::path(dir) / "socle.db").string();
  SOCLE_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store,
                         store::open_sqlite_store(db, SystemClock::instance()));
  SOCLE_RETURN_IF_ERROR(tenancy::ensure_reference_data(*store));
  return store;
}

}  // namespace socle::cli
