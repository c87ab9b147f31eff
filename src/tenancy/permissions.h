// The permissions a role can carry. "admin" implies every other one.
#pragma once

#include <array>
#include <string_view>

namespace socle::tenancy {

inline constexpr std::string_view PERM_ADMIN = "admin";
inline constexpr std::string_view PERM_MANAGE_USERS = "manage_users";
inline constexpr std::string_view PERM_MANAGE_MODELS = "manage_models";
inline constexpr std::string_view PERM_CREATE_PUBLIC_COLLECTION = "create_public_collection";
inline constexpr std::string_view PERM_READ_METRICS = "read_metrics";
inline constexpr std::string_view PERM_READ_USAGE = "read_usage";
inline constexpr std::string_view PERM_FINE_TUNE = "fine_tune";

inline constexpr std::array<std::string_view, 7> ALL_PERMISSIONS = {
    PERM_ADMIN,        PERM_MANAGE_USERS, PERM_MANAGE_MODELS, PERM_CREATE_PUBLIC_COLLECTION,
    PERM_READ_METRICS, PERM_READ_USAGE,   PERM_FINE_TUNE};

// The roles every store starts with.
inline constexpr std::string_view ROLE_ADMIN = "admin";
inline constexpr std::string_view ROLE_USER = "user";
inline constexpr std::string_view DEFAULT_ORGANISATION = "default";

}  // namespace socle::tenancy
