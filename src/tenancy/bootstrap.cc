#include "tenancy/bootstrap.h"

#include <filesystem>

#include "base/file.h"
#include "tenancy/api_key.h"
#include "tenancy/permissions.h"

namespace socle::tenancy {

constexpr unsigned SECRET_FILE_MODE = 0600;

Status ensure_reference_data(store::Store& store) {
  store::Actor sys = store::Actor::system();
  return store.transaction([&]() -> Status {
    if (!store.orgs().find_by_name(sys, std::string(DEFAULT_ORGANISATION)).is_ok()) {
      SOCLE_RETURN_IF_ERROR(store.orgs().create(sys, std::string(DEFAULT_ORGANISATION)).status_or_ok());
    }
    if (!store.roles().find_by_name(sys, std::string(ROLE_ADMIN)).is_ok()) {
      std::vector<std::string> all(ALL_PERMISSIONS.begin(), ALL_PERMISSIONS.end());
      SOCLE_RETURN_IF_ERROR(store.roles().create(sys, std::string(ROLE_ADMIN), all).status_or_ok());
    }
    if (!store.roles().find_by_name(sys, std::string(ROLE_USER)).is_ok()) {
      SOCLE_RETURN_IF_ERROR(store.roles().create(sys, std::string(ROLE_USER), {}).status_or_ok());
    }
    return Status::ok();
  });
}

Result<BootstrapResult> bootstrap_admin(store::Store& store, const std::string& data_dir,
                                        const std::optional<std::string>& supplied_key) {
  store::Actor sys = store::Actor::system();
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::User> users, store.users().list(sys));
  if (!users.empty()) return BootstrapResult{};
  if (supplied_key) SOCLE_RETURN_IF_ERROR(check_supplied_key(*supplied_key));

  std::string secret = supplied_key ? *supplied_key : generate_key_secret();
  BootstrapResult result;
  result.created = true;
  if (!supplied_key) {
    result.key_path = (std::filesystem::absolute(data_dir) / "admin-key").lexically_normal().string();
    SOCLE_RETURN_IF_ERROR(write_file_atomic(result.key_path, secret + "\n", SECRET_FILE_MODE));
  }
  Status s = store.transaction([&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(store::Organisation org,
                           store.orgs().find_by_name(sys, std::string(DEFAULT_ORGANISATION)));
    SOCLE_ASSIGN_OR_RETURN(store::Role role, store.roles().find_by_name(sys, std::string(ROLE_ADMIN)));
    SOCLE_ASSIGN_OR_RETURN(store::User user,
                           store.users().create(sys, store::NewUser{org.id, role.id, "admin", ""}));
    store::NewKey key{user.id, "admin", hash_key_secret(secret), key_display_prefix(secret), {}};
    return store.keys().create(sys, key).status_or_ok();
  });
  if (!s.is_ok()) {
    if (!result.key_path.empty()) std::filesystem::remove(result.key_path);
    return s;
  }
  return result;
}

}  // namespace socle::tenancy
