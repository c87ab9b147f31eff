// The tenancy API through the real binary: an administrator builds an organisation, roles,
// users, groups and limits; then every admin route is tried by an administrator, a user
// manager and a plain user (the permission matrix), and every attempt to reach another
// user's keys is refused with 403 or 404.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <string>
#include <vector>

#include "support/server_process.h"

namespace socle::testing {
namespace {

using boost::json::object;

class TenancyApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    std::string data = dir_->path() + "/data";
    server_ = std::make_unique<ServerProcess>(data);
    admin_ = trim(read_text_file(data + "/admin-key"));

    region_ = id_of(call(admin_, "POST", "/v1/admin/organisations", R"({"name":"region"})", 201));
    manager_role_ =
        id_of(call(admin_, "POST", "/v1/admin/roles",
                   R"({"name":"manager","permissions":["manage_users","read_usage"]})", 201));
    object me = parse(call(admin_, "GET", "/v1/me", "", 200));
    default_org_ = me["organisation"].as_object()["id"].as_int64();
    manager_ = make_user("manager", default_org_, manager_role_);
    user_ = make_user("user", default_org_, 0);
    stranger_ = make_user("stranger", region_, 0);
    manager_key_ = make_key(manager_);
    user_key_ = make_key(user_);
    stranger_key_ = make_key(stranger_);
    object k = parse(call(admin_, "POST", "/v1/admin/users/" + std::to_string(stranger_) + "/keys",
                          R"({"name":"second"})", 201));
    stranger_key_id_ = k["id"].as_int64();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0) << server_->stderr_text();
    server_.reset();
    dir_.reset();
  }

  static HttpReply request(const std::string& key, const std::string& method,
                           const std::string& path, const std::string& body = "") {
    std::map<std::string, std::string> h{{"Authorization", "Bearer " + key}};
    if (!body.empty()) h["Content-Type"] = "application/json";
    return http_request(server_->port(), method, path, h, body);
  }
  static std::string call(const std::string& key, const std::string& method,
                          const std::string& path, const std::string& body, int want) {
    HttpReply r = request(key, method, path, body);
    EXPECT_EQ(r.status, want) << method << " " << path << ": " << r.body;
    return r.body;
  }
  static object parse(const std::string& body) { return boost::json::parse(body).as_object(); }
  static int64_t id_of(const std::string& body) { return parse(body)["id"].as_int64(); }
  static int64_t make_user(const std::string& name, int64_t org, int64_t role) {
    object body{{"name", name}, {"organisation_id", org}};
    if (role != 0) body["role_id"] = role;
    return id_of(call(admin_, "POST", "/v1/admin/users", boost::json::serialize(body), 201));
  }
  static std::string make_key(int64_t user) {
    object k = parse(call(admin_, "POST", "/v1/admin/users/" + std::to_string(user) + "/keys",
                          R"({"name":"main"})", 201));
    return std::string(k["key"].as_string());
  }

  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<ServerProcess> server_;
  static std::string admin_, manager_key_, user_key_, stranger_key_;
  static int64_t region_, default_org_, manager_role_, manager_, user_, stranger_;
  static int64_t stranger_key_id_;
};
std::unique_ptr<TempDir> TenancyApiTest::dir_;
std::unique_ptr<ServerProcess> TenancyApiTest::server_;
std::string TenancyApiTest::admin_, TenancyApiTest::manager_key_, TenancyApiTest::user_key_,
    TenancyApiTest::stranger_key_;
int64_t TenancyApiTest::region_, TenancyApiTest::default_org_, TenancyApiTest::manager_role_,
    TenancyApiTest::manager_, TenancyApiTest::user_, TenancyApiTest::stranger_;
int64_t TenancyApiTest::stranger_key_id_;

// Who may use a route.
enum class Gate { ADMIN, MANAGER, ANYONE };

struct RouteCase {
  std::string method;
  std::string path;  // {user}: the plain user; {org}: the default organisation
  std::string body;
  Gate gate;
};

TEST_F(TenancyApiTest, PermissionMatrix) {
  std::string user = std::to_string(user_);
  std::string org = std::to_string(default_org_);
  std::string role = std::to_string(manager_role_);
  // Reads and harmless writes, so that the order of the cases does not matter. Writes that
  // succeed create fresh objects (names carry the caller) or change nothing.
  std::vector<RouteCase> cases = {
      {"GET", "/v1/admin/organisations", "", Gate::ADMIN},
      {"POST", "/v1/admin/organisations", R"({"name":"org-$who"})", Gate::ADMIN},
      {"GET", "/v1/admin/organisations/" + org, "", Gate::ADMIN},
      {"PATCH", "/v1/admin/organisations/" + org, R"({"name":"default"})", Gate::ADMIN},
      {"DELETE", "/v1/admin/organisations/999999", "", Gate::ADMIN},
      {"GET", "/v1/admin/roles", "", Gate::MANAGER},
      {"GET", "/v1/admin/roles/" + role, "", Gate::MANAGER},
      {"POST", "/v1/admin/roles", R"({"name":"role-$who","permissions":[]})", Gate::ADMIN},
      {"PATCH", "/v1/admin/roles/" + role, R"({"name":"manager"})", Gate::ADMIN},
      {"DELETE", "/v1/admin/roles/999999", "", Gate::ADMIN},
      {"GET", "/v1/admin/limits", "", Gate::ADMIN},
      {"POST", "/v1/admin/limits",
       R"({"scope":"user","scope_id":)" + user + R"(,"model":"m-$who","requests_per_minute":9})",
       Gate::ADMIN},
      {"GET", "/v1/admin/limits/999999", "", Gate::ADMIN},
      {"PATCH", "/v1/admin/limits/999999", R"({"requests_per_day":1})", Gate::ADMIN},
      {"DELETE", "/v1/admin/limits/999999", "", Gate::ADMIN},
      {"GET", "/v1/admin/audit", "", Gate::ADMIN},
      {"GET", "/v1/admin/users", "", Gate::MANAGER},
      {"POST", "/v1/admin/users", R"({"name":"made-by-$who"})", Gate::MANAGER},
      {"GET", "/v1/admin/users/" + user, "", Gate::MANAGER},
      {"PATCH", "/v1/admin/users/" + user, R"({"email":"user@example.fr"})", Gate::MANAGER},
      {"DELETE", "/v1/admin/users/999999", "", Gate::MANAGER},
      {"GET", "/v1/admin/users/" + user + "/keys", "", Gate::MANAGER},
      {"POST", "/v1/admin/users/" + user + "/keys", R"({"name":"by-$who"})", Gate::MANAGER},
      {"DELETE", "/v1/admin/users/" + user + "/keys/999999", "", Gate::MANAGER},
      {"GET", "/v1/admin/groups", "", Gate::MANAGER},
      {"POST", "/v1/admin/groups", R"({"name":"group-$who"})", Gate::MANAGER},
      {"GET", "/v1/admin/groups/999999", "", Gate::MANAGER},
      {"PATCH", "/v1/admin/groups/999999", R"({"name":"x"})", Gate::MANAGER},
      {"DELETE", "/v1/admin/groups/999999", "", Gate::MANAGER},
      {"PUT", "/v1/admin/groups/999999/members/" + user, "", Gate::MANAGER},
      {"DELETE", "/v1/admin/groups/999999/members/" + user, "", Gate::MANAGER},
      {"GET", "/v1/admin/usage", "", Gate::MANAGER},  // the manager role has read_usage
      {"GET", "/v1/admin/usage?group_by=user", "", Gate::MANAGER},
      {"GET", "/v1/me/usage", "", Gate::ANYONE},
      {"GET", "/v1/me", "", Gate::ANYONE},
      {"PATCH", "/v1/me", R"({"email":"$who@example.fr"})", Gate::ANYONE},
      {"GET", "/v1/me/keys", "", Gate::ANYONE},
      {"POST", "/v1/me/keys", R"({"name":"own-$who"})", Gate::ANYONE},
      {"DELETE", "/v1/me/keys/999999", "", Gate::ANYONE},
  };
  struct Who {
    const char* name;
    std::string key;
    int rank;  // 2 admin, 1 manager, 0 user
  };
  std::vector<Who> who = {
      {"admin", admin_, 2}, {"manager", manager_key_, 1}, {"user", user_key_, 0}};
  for (const RouteCase& c : cases) {
    int need = c.gate == Gate::ADMIN ? 2 : c.gate == Gate::MANAGER ? 1 : 0;
    for (const Who& w : who) {
      std::string body = c.body;
      if (auto at = body.find("$who"); at != std::string::npos) body.replace(at, 4, w.name);
      HttpReply r = request(w.key, c.method, c.path, body);
      SCOPED_TRACE(std::string(w.name) + " " + c.method + " " + c.path + " -> " + r.body);
      if (w.rank < need) {
        EXPECT_EQ(r.status, 403);
        object err = parse(r.body)["error"].as_object();
        EXPECT_EQ(err["type"], "permission_error");
        EXPECT_NE(std::string(err["message"].as_string()).find("permission"), std::string::npos);
      } else {
        // Allowed through the gate: success, or 404 for the deliberately missing ids.
        bool missing = c.path.find("999999") != std::string::npos;
        if (missing) {
          EXPECT_EQ(r.status, 404);
        } else {
          EXPECT_TRUE(r.status == 200 || r.status == 201) << r.status;
        }
      }
    }
  }
}

TEST_F(TenancyApiTest, NoOneReachesAnotherUsersKeys) {
  std::string stranger = std::to_string(stranger_);
  std::string key = std::to_string(stranger_key_id_);
  // A plain user: its own key routes never reach another user's key.
  EXPECT_EQ(request(user_key_, "DELETE", "/v1/me/keys/" + key).status, 404);
  EXPECT_EQ(request(user_key_, "GET", "/v1/admin/users/" + stranger + "/keys").status, 403);
  // A manager of another organisation: the user does not exist for it.
  EXPECT_EQ(request(manager_key_, "GET", "/v1/admin/users/" + stranger + "/keys").status, 404);
  EXPECT_EQ(request(manager_key_, "GET", "/v1/admin/users/" + stranger).status, 404);
  EXPECT_EQ(
      request(manager_key_, "POST", "/v1/admin/users/" + stranger + "/keys", R"({"name":"x"})")
          .status,
      404);
  EXPECT_EQ(request(manager_key_, "DELETE", "/v1/admin/users/" + stranger + "/keys/" + key).status,
            404);
  // Through a user it manages, with the other user's key id: still not found.
  EXPECT_EQ(
      request(manager_key_, "DELETE", "/v1/admin/users/" + std::to_string(user_) + "/keys/" + key)
          .status,
      404);
  EXPECT_EQ(request(manager_key_, "PATCH", "/v1/admin/users/" + stranger, R"({"name":"x"})").status,
            404);
  EXPECT_EQ(request(manager_key_, "DELETE", "/v1/admin/users/" + stranger).status, 404);
  // The key still works.
  EXPECT_EQ(request(stranger_key_, "GET", "/v1/me").status, 200);
}

TEST_F(TenancyApiTest, ManagersCannotGrantMoreThanTheyHold) {
  HttpReply r =
      request(manager_key_, "POST", "/v1/admin/users", R"({"name":"boss","role":"admin"})");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("'admin'"), std::string::npos) << r.body;
  r = request(manager_key_, "PATCH", "/v1/admin/users/" + std::to_string(manager_),
              R"({"disabled":true})");
  EXPECT_EQ(r.status, 409) << r.body;
  r = request(manager_key_, "POST", "/v1/admin/users",
              R"({"name":"elsewhere","organisation_id":)" + std::to_string(region_) + "}");
  EXPECT_EQ(r.status, 403) << r.body;
}

// A user manager acts only on users whose role it could have given: not on an administrator,
// whose account it could otherwise take over (a key made for it, its email changed).
TEST_F(TenancyApiTest, ManagersCannotTakeOverAnAdministrator) {
  std::string admin_id =
      std::to_string(parse(call(admin_, "GET", "/v1/me", "", 200))["id"].as_int64());
  std::string keys = "/v1/admin/users/" + admin_id + "/keys";
  object admin_keys = parse(call(admin_, "GET", "/v1/me/keys", "", 200));
  std::string key_id =
      std::to_string(admin_keys["data"].as_array().at(0).as_object().at("id").as_int64());
  struct Attempt {
    std::string method, path, body;
  };
  for (const Attempt& a : std::vector<Attempt>{
           {"POST", keys, R"({"name":"stolen"})"},
           {"GET", keys, ""},
           {"DELETE", keys + "/" + key_id, ""},
           {"PATCH", "/v1/admin/users/" + admin_id, R"({"email":"mine@example.fr"})"},
           {"DELETE", "/v1/admin/users/" + admin_id, ""},
       }) {
    HttpReply r = request(manager_key_, a.method, a.path, a.body);
    EXPECT_EQ(r.status, 403) << a.method << " " << a.path << ": " << r.body;
    EXPECT_NE(r.body.find("'admin'"), std::string::npos) << r.body;
  }
  EXPECT_EQ(request(admin_, "GET", "/v1/me").status, 200) << "the administrator's key still works";
  EXPECT_EQ(parse(call(admin_, "GET", "/v1/me/keys", "", 200))["data"].as_array().size(),
            admin_keys["data"].as_array().size());
  // A user whose role the manager holds is still the manager's to manage.
  std::string user_keys = "/v1/admin/users/" + std::to_string(user_) + "/keys";
  EXPECT_EQ(request(manager_key_, "GET", user_keys).status, 200);
}

TEST_F(TenancyApiTest, ADisabledUsersKeysStopAtOnce) {
  int64_t id = make_user("temp", default_org_, 0);
  std::string key = make_key(id);
  EXPECT_EQ(request(key, "GET", "/v1/me").status, 200);
  call(manager_key_, "PATCH", "/v1/admin/users/" + std::to_string(id), R"({"disabled":true})", 200);
  EXPECT_EQ(request(key, "GET", "/v1/me").status, 401) << "no wait for a poll";
  call(manager_key_, "PATCH", "/v1/admin/users/" + std::to_string(id), R"({"disabled":false})",
       200);
  EXPECT_EQ(request(key, "GET", "/v1/me").status, 200);
  call(manager_key_, "DELETE", "/v1/admin/users/" + std::to_string(id), "", 200);
  EXPECT_EQ(request(key, "GET", "/v1/me").status, 401);
}

TEST_F(TenancyApiTest, AnAdministratorBuildsAnOrganisation) {
  int64_t org =
      id_of(call(admin_, "POST", "/v1/admin/organisations", R"({"name":"ministry"})", 201));
  call(admin_, "POST", "/v1/admin/organisations", R"({"name":"ministry"})", 409);
  int64_t role = id_of(call(admin_, "POST", "/v1/admin/roles",
                            R"({"name":"agent","permissions":["fine_tune"]})", 201));
  HttpReply bad =
      request(admin_, "POST", "/v1/admin/roles", R"({"name":"x","permissions":["fly"]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("manage_users"), std::string::npos) << "lists the permissions";
  int64_t alice = make_user("alice", org, role);
  object g = parse(call(admin_, "POST", "/v1/admin/groups",
                        R"({"name":"legal","organisation_id":)" + std::to_string(org) + "}", 201));
  std::string group = std::to_string(g["id"].as_int64());
  object with = parse(call(
      admin_, "PUT", "/v1/admin/groups/" + group + "/members/" + std::to_string(alice), "", 200));
  EXPECT_EQ(boost::json::serialize(with["member_ids"]), "[" + std::to_string(alice) + "]");
  // A user of another organisation cannot join.
  HttpReply other =
      request(admin_, "PUT", "/v1/admin/groups/" + group + "/members/" + std::to_string(user_));
  EXPECT_EQ(other.status, 409) << other.body;
  object limit = parse(call(admin_, "POST", "/v1/admin/limits",
                            R"({"scope":"role","scope_id":)" + std::to_string(role) +
                                R"(,"model":"*","requests_per_minute":60,"tokens_per_day":100000})",
                            201));
  EXPECT_EQ(limit["requests_per_minute"], 60);
  EXPECT_TRUE(limit["concurrent_requests"].is_null());
  std::string limit_path = "/v1/admin/limits/" + std::to_string(limit["id"].as_int64());
  object patched = parse(call(admin_, "PATCH", limit_path,
                              R"({"requests_per_minute":null,"concurrent_requests":2})", 200));
  EXPECT_TRUE(patched["requests_per_minute"].is_null());
  EXPECT_EQ(patched["tokens_per_day"], 100000);
  EXPECT_EQ(patched["concurrent_requests"], 2);
  EXPECT_EQ(request(admin_, "POST", "/v1/admin/limits",
                    R"({"scope":"role","scope_id":1,"model":"*","tokens_per_day":-5})")
                .status,
            400);
  // The role is in use, the organisation has users: neither can go yet.
  EXPECT_EQ(request(admin_, "DELETE", "/v1/admin/roles/" + std::to_string(role)).status, 409);
  EXPECT_EQ(request(admin_, "DELETE", "/v1/admin/organisations/" + std::to_string(org)).status,
            409);
  object alice_view =
      parse(call(admin_, "GET", "/v1/admin/users/" + std::to_string(alice), "", 200));
  EXPECT_EQ(alice_view["organisation_id"], org);
  EXPECT_EQ(alice_view["role_id"], role);
  call(admin_, "DELETE", "/v1/admin/users/" + std::to_string(alice), "", 200);
  call(admin_, "DELETE", "/v1/admin/roles/" + std::to_string(role), "", 200);
  call(admin_, "DELETE", "/v1/admin/organisations/" + std::to_string(org), "", 200);
  EXPECT_EQ(request(admin_, "GET", limit_path).status, 404) << "the role's limits went with it";
  // Every change is in the audit log.
  object audit = parse(call(admin_, "GET", "/v1/admin/audit?limit=1000", "", 200));
  std::string actions;
  for (const auto& e : audit["data"].as_array())
    actions += std::string(e.as_object().at("action").as_string()) + " ";
  for (const char* a :
       {"organisation.create", "role.create", "user.create", "group.create", "group.add_member",
        "limit.set", "user.delete", "role.delete", "organisation.delete"}) {
    EXPECT_NE(actions.find(a), std::string::npos) << a << " in " << actions;
  }
}

TEST_F(TenancyApiTest, BadInputIsRefusedWithAClearMessage) {
  HttpReply r = request(admin_, "POST", "/v1/admin/users", R"({"name":"x","colour":"red"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("colour"), std::string::npos) << r.body;
  r = request(admin_, "POST", "/v1/admin/users", R"({"name":"x","email":"not an email"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("email"), std::string::npos) << r.body;
  r = request(admin_, "GET", "/v1/admin/users?colour=red");
  EXPECT_EQ(r.status, 400);
  r = request(admin_, "GET", "/v1/admin/users/abc");
  EXPECT_EQ(r.status, 404);
  r = request(admin_, "POST", "/v1/admin/limits", R"({"scope":"team","scope_id":1,"model":"*"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("organisation"), std::string::npos) << r.body;
  r = request(user_key_, "PATCH", "/v1/me", R"({"disabled":true})");
  EXPECT_EQ(r.status, 400) << "a user cannot disable itself through /v1/me";
}

TEST_F(TenancyApiTest, ReferencesToNothingAreBadFieldsNotClashes) {
  auto param_of = [](const HttpReply& r) {
    return boost::json::serialize(parse(r.body)["error"].as_object()["param"]);
  };
  // A user in an organisation that does not exist: 400 naming the field, and no SQL.
  for (const char* org : {"999", "-5"}) {
    HttpReply r = request(admin_, "POST", "/v1/admin/users",
                          std::string(R"({"name":"u1","organisation_id":)") + org + "}");
    EXPECT_EQ(r.status, 400) << org << ": " << r.body;
    EXPECT_EQ(param_of(r), "\"organisation_id\"") << r.body;
    EXPECT_EQ(r.body.find("FOREIGN KEY"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("INSERT"), std::string::npos) << r.body;
  }
  HttpReply r = request(admin_, "PATCH", "/v1/admin/users/" + std::to_string(stranger_),
                        R"({"organisation_id":999})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(param_of(r), "\"organisation_id\"") << r.body;
  EXPECT_EQ(r.body.find("UPDATE"), std::string::npos) << r.body;
  // A role that does not exist, on create and on change.
  r = request(admin_, "POST", "/v1/admin/users", R"({"name":"u2","role_id":999})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(param_of(r), "\"role_id\"") << r.body;
  r = request(admin_, "PATCH", "/v1/admin/users/" + std::to_string(stranger_),
              R"({"role_id":999})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(param_of(r), "\"role_id\"") << r.body;
  // A key name with control characters.
  r = request(admin_, "POST", "/v1/me/keys", R"({"name":"a\u0000\u001b[31mb"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(param_of(r), "\"name\"") << r.body;
  // A taken name is still a clash, said without SQL.
  r = request(admin_, "POST", "/v1/admin/users", R"({"name":"user"})");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(param_of(r), "\"name\"") << r.body;
  EXPECT_EQ(r.body.find("INSERT"), std::string::npos) << r.body;
  // A limit on a user that does not exist.
  r = request(admin_, "POST", "/v1/admin/limits",
              R"({"scope":"user","scope_id":999,"model":"*","requests_per_minute":1})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(param_of(r), "\"scope_id\"") << r.body;
  // Query parameters: a scope that is none, and unknown names, are errors, not empty lists.
  r = request(admin_, "GET", "/v1/admin/limits?scope=bogus");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(param_of(r), "\"scope\"") << r.body;
  EXPECT_NE(r.body.find("organisation"), std::string::npos) << "lists the scopes: " << r.body;
  for (const char* path : {"/v1/admin/organisations?foo=1", "/v1/admin/roles?foo=1",
                           "/v1/admin/limits?model=a&model=b"}) {
    r = request(admin_, "GET", path);
    EXPECT_EQ(r.status, 400) << path << ": " << r.body;
  }
}

}  // namespace
}  // namespace socle::testing
