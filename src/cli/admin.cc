// socle admin: operator commands that work on the data directory's store directly, with or
// without a server running on it (users, keys, and a retention run). A running server sees each
// change within store.poll_ms. Every change is recorded in the audit log in the same transaction
// (docs/tenancy.md). Output is JSON on stdout; errors go to stderr with exit status 1 (2 for bad
// usage).
#include <CLI/CLI.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdio>

#include "base/clock.h"
#include "base/config.h"
#include "base/json.h"
#include "cli/commands.h"
#include "cli/data_dir.h"
#include "tenancy/api_key.h"
#include "tenancy/audit.h"
#include "tenancy/permissions.h"
#include "tenancy/retention.h"

namespace socle::cli {
namespace {

struct AdminFlags {
  std::string config;
  std::string data;
  // user
  std::string name;
  std::string email;
  std::string role = std::string(tenancy::ROLE_USER);
  std::string org = std::string(tenancy::DEFAULT_ORGANISATION);
  // key
  std::string user;
  std::string key_name = "cli";
  int64_t expires_at = 0;
  int64_t key_id = 0;
  // retention: -1 takes the configuration's retention.usage_days / audit_days
  int64_t usage_days = -1;
  int64_t audit_days = -1;
};

using Action = Status (*)(DataDir&, const AdminFlags&);

void print_json(const boost::json::value& v) {
  std::printf("%s\n", json::dump(v).c_str());
}

boost::json::object user_json(const store::User& u) {
  return {{"id", u.id},
          {"name", u.name},
          {"email", u.email},
          {"org_id", u.org_id},
          {"role_id", u.role_id},
          {"disabled", u.disabled},
          {"created_at", u.created_at}};
}

boost::json::object key_json(const store::ApiKey& k) {
  boost::json::object o{
      {"id", k.id},           {"user_id", k.user_id},       {"name", k.name},
      {"prefix", k.prefix},   {"created_at", k.created_at}, {"expires_at", nullptr},
      {"revoked_at", nullptr}};
  if (k.expires_at) o["expires_at"] = *k.expires_at;
  if (k.revoked_at) o["revoked_at"] = *k.revoked_at;
  return o;
}

Status user_create(DataDir& d, const AdminFlags& f) {
  store::Store& st = *d.store;
  store::Actor sys = store::Actor::system();
  SOCLE_ASSIGN_OR_RETURN(store::Organisation org, st.orgs().find_by_name(sys, f.org));
  SOCLE_ASSIGN_OR_RETURN(store::Role role, st.roles().find_by_name(sys, f.role));
  store::User u;
  SOCLE_RETURN_IF_ERROR(st.transaction([&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(u, st.users().create(sys, {org.id, role.id, f.name, f.email}));
    return d.audit
        ->append(sys, tenancy::audit_event("user.create", "user", u.id,
                                           {{"name", u.name},
                                            {"organisation", org.name},
                                            {"role", role.name},
                                            {"via", "cli"}}))
        .status_or_ok();
  }));
  print_json(user_json(u));
  return Status::ok();
}

Status user_list(DataDir& d, const AdminFlags&) {
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::User> users,
                         d.store->users().list(store::Actor::system()));
  boost::json::array a;
  for (const auto& u : users)
    a.emplace_back(user_json(u));
  print_json(a);
  return Status::ok();
}

Status set_disabled(DataDir& d, const AdminFlags& f, bool disabled) {
  store::Store& st = *d.store;
  store::Actor sys = store::Actor::system();
  SOCLE_ASSIGN_OR_RETURN(store::User u, st.users().find_by_name(sys, f.name));
  Status changed = st.transaction([&]() -> Status {
    SOCLE_RETURN_IF_ERROR(st.users().set_disabled(sys, u.id, disabled));
    return d.audit
        ->append(sys, tenancy::audit_event(disabled ? "user.disable" : "user.enable", "user", u.id,
                                           {{"name", u.name}, {"via", "cli"}}))
        .status_or_ok();
  });
  SOCLE_RETURN_IF_ERROR(changed);
  u.disabled = disabled;
  print_json(user_json(u));
  return Status::ok();
}

Status user_disable(DataDir& d, const AdminFlags& f) {
  return set_disabled(d, f, true);
}
Status user_enable(DataDir& d, const AdminFlags& f) {
  return set_disabled(d, f, false);
}

Status key_create(DataDir& d, const AdminFlags& f) {
  store::Store& st = *d.store;
  store::Actor sys = store::Actor::system();
  SOCLE_ASSIGN_OR_RETURN(store::User u, st.users().find_by_name(sys, f.user));
  std::optional<int64_t> expires;
  if (f.expires_at > 0) {
    if (f.expires_at <= SystemClock::instance().unix_seconds()) {
      return invalid_argument("--expires-at must be a Unix time in the future");
    }
    expires = f.expires_at;
  }
  std::string secret = tenancy::generate_key_secret();
  store::ApiKey k;
  SOCLE_RETURN_IF_ERROR(st.transaction([&]() -> Status {
    SOCLE_ASSIGN_OR_RETURN(
        k, st.keys().create(sys, {u.id, f.key_name, tenancy::hash_key_secret(secret),
                                  tenancy::key_display_prefix(secret), expires}));
    return d.audit
        ->append(sys,
                 tenancy::audit_event(
                     "key.create", "api_key", k.id,
                     {{"user_id", u.id}, {"name", k.name}, {"prefix", k.prefix}, {"via", "cli"}}))
        .status_or_ok();
  }));
  boost::json::object o = key_json(k);
  o["key"] = secret;  // the operator asked for it: shown once, never stored
  print_json(o);
  return Status::ok();
}

Status key_list(DataDir& d, const AdminFlags& f) {
  store::Store& st = *d.store;
  store::Actor sys = store::Actor::system();
  SOCLE_ASSIGN_OR_RETURN(store::User u, st.users().find_by_name(sys, f.user));
  SOCLE_ASSIGN_OR_RETURN(std::vector<store::ApiKey> keys, st.keys().list(sys, u.id));
  boost::json::array a;
  for (const auto& k : keys)
    a.emplace_back(key_json(k));
  print_json(a);
  return Status::ok();
}

Status key_revoke(DataDir& d, const AdminFlags& f) {
  store::Store& st = *d.store;
  store::Actor sys = store::Actor::system();
  store::ApiKey k;
  Status changed = st.transaction([&]() -> Status {
    SOCLE_RETURN_IF_ERROR(st.keys().revoke(sys, f.key_id, SystemClock::instance().unix_seconds()));
    SOCLE_ASSIGN_OR_RETURN(k, st.keys().get(sys, f.key_id));
    return d.audit
        ->append(sys, tenancy::audit_event("key.revoke", "api_key", k.id,
                                           {{"user_id", k.user_id}, {"via", "cli"}}))
        .status_or_ok();
  });
  SOCLE_RETURN_IF_ERROR(changed);
  print_json(key_json(k));
  return Status::ok();
}

Status retention_run(DataDir& d, const AdminFlags& f) {
  Result<tenancy::RetentionReport> r = tenancy::apply_retention(
      *d.store, *d.audit, SystemClock::instance(), {f.usage_days, f.audit_days});
  SOCLE_RETURN_IF_ERROR(r.status_or_ok());
  print_json(boost::json::object{{"usage_records_deleted", r->usage_records},
                                 {"audit_entries_deleted", r->audit_entries},
                                 {"usage_days", f.usage_days},
                                 {"audit_days", f.audit_days}});
  return Status::ok();
}

int run_admin(const AdminFlags& flags, Action action) {
  ConfigSources sources;
  sources.config_file = flags.config;
  sources.env = socle_environment();
  if (!flags.data.empty()) sources.flags["data"] = flags.data;
  Result<Config> config = load_config(sources);
  if (!config.is_ok()) {
    std::fprintf(stderr, "socle admin: %s\n", config.status().message().c_str());
    return EXIT_USAGE;
  }
  AdminFlags effective = flags;
  if (effective.usage_days < 0) effective.usage_days = config->retention_usage_days;
  if (effective.audit_days < 0) effective.audit_days = config->retention_audit_days;
  Result<DataDir> data = open_data_dir(config->data_dir, sources.env);
  Status s = data.is_ok() ? action(*data, effective) : data.status();
  if (!s.is_ok()) {
    std::fprintf(stderr, "socle admin: %s\n", s.message().c_str());
    return s.code() == StatusCode::INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILURE_RUNTIME;
  }
  return EXIT_OK;
}

}  // namespace

void add_admin_command(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<AdminFlags>();
  CLI::App* admin = app.add_subcommand("admin", "Manage users and API keys in a data directory");
  admin->require_subcommand(1);
  admin->add_option("--data", f->data, "data directory (default ./data, or SOCLE_DATA)");
  admin->add_option("--config", f->config,
                    "TOML file (default: $SOCLE_CONFIG, else ./socle.toml if present)");

  auto bind = [f, exit_code](CLI::App* cmd, Action action) {
    cmd->callback([f, exit_code, action] { *exit_code = run_admin(*f, action); });
  };

  CLI::App* user = admin->add_subcommand("user", "Users")->require_subcommand(1);
  CLI::App* create = user->add_subcommand("create", "Create a user");
  create->add_option("--name", f->name, "unique user name")->required();
  create->add_option("--email", f->email, "e-mail address");
  create->add_option("--role", f->role, "role: admin or user (default user)");
  create->add_option("--org", f->org, "organisation name (default 'default')");
  bind(create, user_create);
  bind(user->add_subcommand("list", "List users"), user_list);
  CLI::App* disable = user->add_subcommand("disable", "Disable a user: their keys stop working");
  disable->add_option("--name", f->name, "user name")->required();
  bind(disable, user_disable);
  CLI::App* enable = user->add_subcommand("enable", "Enable a disabled user");
  enable->add_option("--name", f->name, "user name")->required();
  bind(enable, user_enable);

  CLI::App* key = admin->add_subcommand("key", "API keys")->require_subcommand(1);
  CLI::App* kcreate = key->add_subcommand("create", "Create a key and print its secret once");
  kcreate->add_option("--user", f->user, "user name")->required();
  kcreate->add_option("--name", f->key_name, "a label for the key (default 'cli')");
  kcreate->add_option("--expires-at", f->expires_at, "expiry as a Unix time (default: never)");
  bind(kcreate, key_create);
  CLI::App* klist = key->add_subcommand("list", "List a user's keys (never their secrets)");
  klist->add_option("--user", f->user, "user name")->required();
  bind(klist, key_list);
  CLI::App* krevoke = key->add_subcommand("revoke", "Revoke a key");
  krevoke->add_option("--id", f->key_id, "key id")->required();
  bind(krevoke, key_revoke);

  CLI::App* retention = admin->add_subcommand(
      "retention",
      "Delete usage records and audit entries older than the retention periods now, as the "
      "server does hourly (0 days keeps them)");
  retention
      ->add_option("--usage-days", f->usage_days,
                   "usage records older than this go (default: retention.usage_days)")
      ->check(CLI::Range(int64_t{0}, int64_t{36'500}));
  retention
      ->add_option("--audit-days", f->audit_days,
                   "audit entries older than this go (default: retention.audit_days)")
      ->check(CLI::Range(int64_t{0}, int64_t{36'500}));
  bind(retention, retention_run);
}

}  // namespace socle::cli
