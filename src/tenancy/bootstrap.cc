#include "tenancy/bootstrap.h"

#include <boost/json/array.hpp>
#include <filesystem>

#include "base/file.h"
#include "tenancy/api_key.h"
#include "tenancy/permissions.h"

namespace socle::tenancy {

constexpr unsigned SECRET_FILE_MODE = 0600;

Status ensure_reference_data(store::Store& store, AuditLog& audit) {
  store::Actor sys = store::Actor::system();
  return store.transaction([&]() -> Status {
    if (!store.orgs().find_by_name(sys, std::string(DEFAULT_ORGANISATION)).is_ok()) {
      SOCLE_ASSIGN_OR_RETURN(store::Organisation org,
                             store.orgs().create(sys, std::string(DEFAULT_ORGANISATION)));
      SOCLE_RETURN_IF_ERROR(
          audit
              .append(sys, audit_event("organisation.create", "organisation", org.id,
                                       {{"name", org.name}, {"bootstrap", true}}))
              .status_or_ok());
    }
    auto ensure_role = [&](std::string_view name, const std::vector<std::string>& perms) -> Status {
      if (store.roles().find_by_name(sys, std::string(name)).is_ok()) return Status::ok();
      SOCLE_ASSIGN_OR_RETURN(store::Role role, store.roles().create(sys, std::string(name), perms));
      boost::json::array p;
      for (const auto& perm : perms)
        p.emplace_back(perm);
      return audit
          .append(sys, audit_event("role.create", "role", role.id,
                                   {{"name", role.name}, {"permissions", p}, {"bootstrap", true}}))
          .status_or_ok();
    };
    SOCLE_RETURN_IF_ERROR(ensure_role(
        ROLE_ADMIN, std::vector<std::string>(ALL_PERMISSIONS.begin(), ALL_PERMISSIONS.end())));
    return ensure_role(ROLE_USER, {});
  });
}

Result<BootstrapResult> bootstrap_admin(store::Store& store, AuditLog& audit,
                                        const std::string& data_dir,
                                        const std::optional<std::string>& supplied_key) {
  store::Actor sys = store::Actor::system();
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::User> users, store.users().list(sys));
  if (!users.empty()) return BootstrapResult{};
  if (supplied_key) {
    // The key came from the environment, so say which variable to fix; the message never
    // repeats the value, which may be close to a real secret.
    Status s = check_supplied_key(*supplied_key);
    if (!s.is_ok()) {
      return invalid_argument(std::string(ADMIN_KEY_VARIABLE) + ": " + s.message(),
                              std::string(ADMIN_KEY_VARIABLE));
    }
  }

  std::string secret = supplied_key ? *supplied_key : generate_key_secret();
  BootstrapResult result;
  result.created = true;
  if (!supplied_key) {
    result.key_path =
        (std::filesystem::absolute(data_dir) / "admin-key").lexically_normal().string();
    SOCLE_RETURN_IF_ERROR(write_file_atomic(result.key_path, secret + "\n", SECRET_FILE_MODE));
  }
  Status s = store.transaction([&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(store::Organisation org,
                           store.orgs().find_by_name(sys, std::string(DEFAULT_ORGANISATION)));
    SOCLE_ASSIGN_OR_RETURN(store::Role role,
                           store.roles().find_by_name(sys, std::string(ROLE_ADMIN)));
    SOCLE_ASSIGN_OR_RETURN(store::User user,
                           store.users().create(sys, store::NewUser{org.id, role.id, "admin", ""}));
    SOCLE_RETURN_IF_ERROR(
        audit
            .append(sys,
                    audit_event("user.create", "user", user.id,
                                {{"name", user.name}, {"role", role.name}, {"bootstrap", true}}))
            .status_or_ok());
    store::NewKey nk{user.id, "admin", hash_key_secret(secret), key_display_prefix(secret), {}};
    SOCLE_ASSIGN_OR_RETURN(store::ApiKey key, store.keys().create(sys, nk));
    // Where the secret came from, never the secret (nor its hash).
    return audit
        .append(sys, audit_event("key.create", "api_key", key.id,
                                 {{"user_id", user.id},
                                  {"name", key.name},
                                  {"prefix", key.prefix},
                                  {"source", supplied_key ? "SOCLE_ADMIN_KEY" : "admin-key file"},
                                  {"bootstrap", true}}))
        .status_or_ok();
  });
  if (!s.is_ok()) {
    if (!result.key_path.empty()) std::filesystem::remove(result.key_path);
    return s;
  }
  return result;
}

}  // namespace socle::tenancy
