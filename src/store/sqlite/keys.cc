// API keys: stored as SHA-256 hashes, scoped to their user: visible to the user, to the user
// managers of its organisation and to administrators.
#include "base/json.h"
#include "store/sqlite/stores.h"

namespace socle::store::sqlite {
namespace {

constexpr const char* KEY_COLUMNS = "id, user_id, name, prefix, created_at, expires_at, revoked_at";

ApiKey read_key_row(const Stmt& s) {
  return ApiKey{s.column_int(0), s.column_int(1),     s.column_text(2),   s.column_text(3),
                s.column_int(4), s.column_opt_int(5), s.column_opt_int(6)};
}

}  // namespace

Result<ApiKey> SqliteKeyStore::create(const Actor& actor, const NewKey& k) {
  if (k.hash.size() != 32) return internal_error("an API key hash is 32 bytes of SHA-256");
  ApiKey key{0, k.user_id, k.name, k.prefix, c_.clock.unix_seconds(), k.expires_at, std::nullopt};
  Status s = write_in_savepoint(c_, [&]() -> Status {
    SOCLE_RETURN_IF_ERROR(visible_user_org(c_, actor, k.user_id).status_or_ok());
    SOCLE_ASSIGN_OR_RETURN(Stmt st,
                           c_.db.prepare("INSERT INTO api_keys (user_id, name, hash, prefix, "
                                         "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, k.user_id)
                              .bind(2, std::string_view(k.name))
                              .bind_blob(3, k.hash)
                              .bind(4, std::string_view(k.prefix))
                              .bind(5, key.created_at)
                              .bind(6, k.expires_at)
                              .run());
    key.id = c_.db.last_insert_id();
    return Status::ok();
  });
  SOCLE_RETURN_IF_ERROR(s);
  return key;
}

Result<std::vector<ApiKey>> SqliteKeyStore::list(const Actor& actor, Id user_id) {
  std::lock_guard lock(c_.mu);
  SOCLE_RETURN_IF_ERROR(visible_user_org(c_, actor, user_id).status_or_ok());
  SOCLE_ASSIGN_OR_RETURN(Stmt s,
                         c_.db.prepare(std::string("SELECT ") + KEY_COLUMNS +
                                       " FROM api_keys WHERE user_id = ? ORDER BY id DESC"));
  s.bind(1, user_id);
  std::vector<ApiKey> out;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back(read_key_row(s));
  }
  return out;
}

Result<ApiKey> SqliteKeyStore::get(const Actor& actor, Id key_id) {
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c_.db.prepare(std::string("SELECT ") + KEY_COLUMNS + " FROM api_keys WHERE id = ?"));
  s.bind(1, key_id);
  SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return not_found("no API key " + std::to_string(key_id));
  ApiKey key = read_key_row(s);
  if (!visible_user_org(c_, actor, key.user_id).is_ok()) {
    return not_found("no API key " + std::to_string(key_id));
  }
  return key;
}

Status SqliteKeyStore::revoke(const Actor& actor, Id key_id, int64_t now) {
  return write_in_savepoint(c_, [&]() -> Status {
    SOCLE_RETURN_IF_ERROR(get(actor, key_id).status_or_ok());
    SOCLE_ASSIGN_OR_RETURN(Stmt st, c_.db.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? "
                                                  "AND revoked_at IS NULL"));
    SOCLE_RETURN_IF_ERROR(st.bind(1, now).bind(2, key_id).run());
    if (c_.db.changes() == 0) {
      return not_found("no active API key " + std::to_string(key_id));
    }
    return Status::ok();
  });
}

Result<std::vector<KeyGrant>> SqliteKeyStore::list_grants(const Actor& actor, int64_t now) {
  if (!actor.all_tenants) {
    return Status{StatusCode::PERMISSION_DENIED, "only the server may list every key"};
  }
  std::lock_guard lock(c_.mu);
  SOCLE_ASSIGN_OR_RETURN(
      Stmt s, c_.db.prepare("SELECT k.hash, k.id, u.id, u.org_id, u.name, r.name, r.permissions, "
                            "k.expires_at, r.id FROM api_keys k JOIN users u ON u.id = k.user_id "
                            "JOIN roles r ON r.id = u.role_id WHERE k.revoked_at IS NULL AND "
                            "u.disabled = 0 AND (k.expires_at IS NULL OR k.expires_at > ?)"));
  s.bind(1, now);
  std::vector<KeyGrant> out;
  while (true) {
    SOCLE_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    KeyGrant g{s.column_blob(0),
               s.column_int(1),
               s.column_int(2),
               s.column_int(3),
               s.column_text(4),
               s.column_text(5),
               {},
               s.column_opt_int(7),
               s.column_int(8)};
    SOCLE_ASSIGN_OR_RETURN(boost::json::value perms, json::parse(s.column_text(6)));
    if (perms.is_array()) {
      for (const auto& p : perms.as_array()) {
        if (p.is_string()) g.permissions.emplace_back(p.as_string());
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace socle::store::sqlite
