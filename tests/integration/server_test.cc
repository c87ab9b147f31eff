// The real binary on a loopback port: health, authentication, the error shape of every
// failure the HTTP layer and the API produce, limits, keep-alive, logs, CLI changes seen by
// a running server, and graceful shutdown.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <memory>
#include <sstream>
#include <thread>

#include "support/server_process.h"

namespace socle::testing {
namespace {

// Checks OpenAI's error shape and returns the error object.
boost::json::object expect_openai_error(const HttpReply& r, int status) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.headers.count("x-request-id"), 1u);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  EXPECT_FALSE(ec) << "error body is not JSON: " << r.body;
  if (ec || !v.is_object() || !v.as_object().contains("error")) {
    ADD_FAILURE() << "no 'error' object in " << r.body;
    return {};
  }
  const auto& e = v.at("error").as_object();
  EXPECT_TRUE(e.contains("message") && e.at("message").is_string());
  EXPECT_FALSE(e.at("message").as_string().empty());
  EXPECT_TRUE(e.contains("type") && e.at("type").is_string());
  EXPECT_TRUE(e.contains("param"));
  EXPECT_TRUE(e.contains("code"));
  return e;
}

std::map<std::string, std::string> bearer(const std::string& key) {
  return {{"Authorization", "Bearer " + key}};
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = std::make_unique<TempDir>();
    server_ = std::make_unique<ServerProcess>(
        data_->path() + "/data",
        std::map<std::string, std::string>{{"SOCLE_HTTP_MAX_BODY_BYTES", "4096"},
                                           {"SOCLE_HTTP_MAX_HEADER_BYTES", "2048"},
                                           {"SOCLE_HTTP_REQUEST_TIMEOUT_MS", "700"},
                                           {"SOCLE_HTTP_MAX_CONNECTIONS", "8"},
                                           {"SOCLE_STORE_POLL_MS", "100"}});
    admin_key_ = trim(read_text_file(data_->path() + "/data/admin-key"));
  }
  static void TearDownTestSuite() {
    // A clean exit also proves the sanitizers found nothing while serving.
    EXPECT_EQ(server_->stop(), 0) << server_->stderr_text();
    server_.reset();
    data_.reset();
  }
  int port() const { return server_->port(); }

  static std::unique_ptr<TempDir> data_;
  static std::unique_ptr<ServerProcess> server_;
  static std::string admin_key_;
};
std::unique_ptr<TempDir> ServerTest::data_;
std::unique_ptr<ServerProcess> ServerTest::server_;
std::string ServerTest::admin_key_;

TEST_F(ServerTest, AdminKeyFileIsOwnerOnlyAndItsPathIsPrintedNotTheKey) {
  std::string path = data_->path() + "/data/admin-key";
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(admin_key_.rfind("sk-", 0), 0u);
  EXPECT_GE(admin_key_.size(), 3u + 43u);  // 256 bits in URL-safe base64
  EXPECT_NE(server_->stdout_text().find(path), std::string::npos) << server_->stdout_text();
  EXPECT_EQ(server_->stdout_text().find(admin_key_), std::string::npos);
  EXPECT_EQ(server_->stderr_text().find(admin_key_), std::string::npos);
}

TEST_F(ServerTest, HealthNeedsNoKeyAndCarriesARequestId) {
  HttpReply r = http_request(port(), "GET", "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-request-id"].size(), 32u);
  r = http_request(port(), "GET", "/health", {{"X-Request-Id", "trace-abc.123"}});
  EXPECT_EQ(r.headers["x-request-id"], "trace-abc.123");
  // A request id that could inject into logs is replaced.
  r = http_request(port(), "GET", "/health", {{"X-Request-Id", "bad id\"}"}});
  EXPECT_NE(r.headers["x-request-id"], "bad id\"}");
}

TEST_F(ServerTest, ReadinessChecksTheStore) {
  HttpReply r = http_request(port(), "GET", "/health/ready");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ServerTest, V1RoutesNeedAValidKey) {
  auto e = expect_openai_error(http_request(port(), "GET", "/v1/models"), 401);
  EXPECT_EQ(e["code"], "missing_api_key");
  EXPECT_EQ(e["type"], "authentication_error");
  e = expect_openai_error(http_request(port(), "GET", "/v1/models", bearer("sk-wrong")), 401);
  EXPECT_EQ(e["code"], "invalid_api_key");
  e = expect_openai_error(
      http_request(port(), "GET", "/v1/models", {{"Authorization", "Basic abc"}}), 401);
  HttpReply r = http_request(port(), "GET", "/v1/models", bearer(admin_key_));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(boost::json::parse(r.body), boost::json::parse(R"({"object":"list","data":[]})"));
}

TEST_F(ServerTest, MeDescribesTheCaller) {
  HttpReply r = http_request(port(), "GET", "/v1/me", bearer(admin_key_));
  ASSERT_EQ(r.status, 200) << r.body;
  auto me = boost::json::parse(r.body).as_object();
  EXPECT_EQ(me["name"], "admin");
  EXPECT_EQ(me["role"], "admin");
  EXPECT_EQ(me["organisation"].as_object()["name"], "default");
}

TEST_F(ServerTest, UnknownRouteAndWrongMethod) {
  auto e = expect_openai_error(http_request(port(), "GET", "/v1/nothing", bearer(admin_key_)), 404);
  EXPECT_NE(std::string(e["message"].as_string()).find("/v1/nothing"), std::string::npos);
  HttpReply r = http_request(port(), "PUT", "/v1/models", bearer(admin_key_));
  expect_openai_error(r, 405);
  EXPECT_EQ(r.headers["allow"], "GET");
}

TEST_F(ServerTest, MalformedJsonWrongTypeAndOversizedBody) {
  auto h = bearer(admin_key_);
  h["Content-Type"] = "application/json";
  auto e = expect_openai_error(http_request(port(), "POST", "/v1/me/keys", h, "{\"name\": "), 400);
  EXPECT_NE(std::string(e["message"].as_string()).find("not valid JSON"), std::string::npos);
  e = expect_openai_error(http_request(port(), "POST", "/v1/me/keys", h, "[1,2]"), 400);
  e = expect_openai_error(http_request(port(), "POST", "/v1/me/keys", h, "{\"name\": 3}"), 400);
  EXPECT_EQ(e["param"], "name");
  e = expect_openai_error(http_request(port(), "POST", "/v1/me/keys", h, "{\"nme\": \"x\"}"), 400);
  EXPECT_EQ(e["param"], "nme");

  auto text = bearer(admin_key_);
  text["Content-Type"] = "text/plain";
  expect_openai_error(http_request(port(), "POST", "/v1/me/keys", text, "{\"name\":\"x\"}"), 415);

  std::string big = "{\"name\":\"" + std::string(5000, 'a') + "\"}";
  e = expect_openai_error(http_request(port(), "POST", "/v1/me/keys", h, big), 413);
  EXPECT_EQ(e["code"], "payload_too_large");
  EXPECT_EQ(http_request(port(), "GET", "/health").status, 200);
}

TEST_F(ServerTest, OversizedChunkedBodyGets413) {
  Connection c(port());
  std::string chunk(3000, 'x');
  std::ostringstream req;
  req << "POST /v1/me/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " << admin_key_
      << "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      << std::hex << chunk.size() << "\r\n"
      << chunk << "\r\n"
      << chunk.size() << "\r\n"
      << chunk << "\r\n0\r\n\r\n";
  ASSERT_TRUE(c.send_raw(req.str()));
  expect_openai_error(c.read_reply(), 413);
}

TEST_F(ServerTest, OversizedHeadersGet431) {
  auto e = expect_openai_error(
      http_request(port(), "GET", "/health", {{"X-Big", std::string(4000, 'h')}}), 431);
  EXPECT_EQ(e["code"], "request_header_fields_too_large");
}

TEST_F(ServerTest, SlowRequestGets408) {
  Connection c(port());
  ASSERT_TRUE(c.send_raw("GET /health HTTP/1.1\r\nHost: x\r\n"));  // never finished
  auto e = expect_openai_error(c.read_reply(5000), 408);
  EXPECT_EQ(e["code"], "request_timeout");
}

TEST_F(ServerTest, GarbageGets400AndServerStaysUp) {
  Connection c(port());
  ASSERT_TRUE(c.send_raw("NOT HTTP AT ALL\r\n\r\n"));
  HttpReply r = c.read_reply();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(http_request(port(), "GET", "/health").status, 200);
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Connection c(port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send_raw("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(c.read_reply().status, 200);
  }
}

TEST_F(ServerTest, TooManyConnectionsGet503) {
  std::vector<std::unique_ptr<Connection>> held;
  // The limit is 8 open connections; hold them with requests in keep-alive.
  for (int i = 0; i < 8; ++i) {
    held.push_back(std::make_unique<Connection>(port()));
    ASSERT_TRUE(held.back()->send_raw("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(held.back()->read_reply().status, 200);
  }
  Connection extra(port());
  ASSERT_TRUE(extra.connected());
  HttpReply r = extra.read_reply();
  expect_openai_error(r, 503);
  EXPECT_EQ(r.headers["retry-after"], "1");
  held.clear();
  // Once they close, new connections are served again.
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    served = http_request(port(), "GET", "/health").status == 200;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
}

TEST_F(ServerTest, KeysCreatedAndRevokedThroughTheApiActAtOnce) {
  auto h = bearer(admin_key_);
  h["Content-Type"] = "application/json";
  HttpReply r = http_request(port(), "POST", "/v1/me/keys", h, R"({"name":"laptop"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto created = boost::json::parse(r.body).as_object();
  std::string secret(created["key"].as_string());
  int64_t id = created["id"].as_int64();
  EXPECT_EQ(http_request(port(), "GET", "/v1/models", bearer(secret)).status, 200);

  HttpReply list = http_request(port(), "GET", "/v1/me/keys", bearer(secret));
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(secret), std::string::npos) << "a list never shows secrets";

  r = http_request(port(), "DELETE", "/v1/me/keys/" + std::to_string(id), bearer(admin_key_));
  EXPECT_EQ(r.status, 200) << r.body;
  expect_openai_error(http_request(port(), "GET", "/v1/models", bearer(secret)), 401);
  expect_openai_error(
      http_request(port(), "DELETE", "/v1/me/keys/" + std::to_string(id), bearer(admin_key_)), 404);
  expect_openai_error(http_request(port(), "DELETE", "/v1/me/keys/abc", bearer(admin_key_)), 404);
}

TEST_F(ServerTest, CliChangesReachTheRunningServerWithinASecond) {
  std::string data = data_->path() + "/data";
  std::string out;
  ASSERT_EQ(run_socle({"admin", "--data", data, "user", "create", "--name", "alice"}, &out), 0);
  ASSERT_EQ(run_socle({"admin", "--data", data, "key", "create", "--user", "alice"}, &out), 0)
      << out;
  auto created = boost::json::parse(out).as_object();
  std::string secret(created["key"].as_string());
  int64_t id = created["id"].as_int64();

  auto wait_for = [&](int want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    int got = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      got = http_request(port(), "GET", "/v1/models", bearer(secret)).status;
      if (got == want) return got;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return got;
  };
  EXPECT_EQ(wait_for(200), 200);
  // alice is not an administrator: /metrics is refused.
  expect_openai_error(http_request(port(), "GET", "/metrics", bearer(secret)), 403);

  ASSERT_EQ(run_socle({"admin", "--data", data, "key", "revoke", "--id", std::to_string(id)}, &out),
            0);
  EXPECT_EQ(wait_for(401), 401);

  // Disabling a user stops all of their keys.
  ASSERT_EQ(run_socle({"admin", "--data", data, "key", "create", "--user", "alice"}, &out), 0);
  secret = std::string(boost::json::parse(out).as_object()["key"].as_string());
  EXPECT_EQ(wait_for(200), 200);
  ASSERT_EQ(run_socle({"admin", "--data", data, "user", "disable", "--name", "alice"}, &out), 0);
  EXPECT_EQ(wait_for(401), 401);
}

TEST_F(ServerTest, FilesRefuseRepeatedFieldsAndBadCursors) {
  std::string example =
      R"({"messages":[{"role":"user","content":"Bonjour"},{"role":"assistant","content":"Salut"}]})";
  std::string jsonl;
  for (int i = 0; i < 10; ++i)
    jsonl += example + "\n";
  auto part = [](const std::string& name, const std::string& filename, const std::string& data) {
    std::string disposition = "form-data; name=\"" + name + "\"";
    if (!filename.empty()) disposition += "; filename=\"" + filename + "\"";
    return "--B0\r\nContent-Disposition: " + disposition + "\r\n\r\n" + data + "\r\n";
  };
  auto h = bearer(admin_key_);
  h["Content-Type"] = "multipart/form-data; boundary=B0";
  std::string purpose = part("purpose", "", "fine-tune");
  std::string one = part("file", "a.jsonl", jsonl);
  std::string two = part("file", "b.jsonl", jsonl);
  ASSERT_EQ(http_request(port(), "POST", "/v1/files", h, purpose + one + "--B0--\r\n").status, 200)
      << "one file is stored";
  // Two files, or two purposes: one would be dropped without a word.
  auto e = expect_openai_error(
      http_request(port(), "POST", "/v1/files", h, purpose + one + two + "--B0--\r\n"), 400);
  EXPECT_EQ(e["param"], "file");
  EXPECT_NE(std::string(e["message"].as_string()).find("more than once"), std::string::npos);
  e = expect_openai_error(
      http_request(port(), "POST", "/v1/files", h, purpose + purpose + one + "--B0--\r\n"), 400);
  EXPECT_EQ(e["param"], "purpose");

  // A cursor that is no file id is a bad parameter, not a missing file.
  e = expect_openai_error(
      http_request(port(), "GET", "/v1/files?after=garbage", bearer(admin_key_)), 400);
  EXPECT_EQ(e["param"], "after");
  e = expect_openai_error(
      http_request(port(), "GET", "/v1/files?limit=1&limit=2", bearer(admin_key_)), 400);
  EXPECT_EQ(e["param"], "limit");
}

TEST_F(ServerTest, MetricsNeedAnAdminKeyAndCountRequests) {
  expect_openai_error(http_request(port(), "GET", "/metrics"), 401);
  http_request(port(), "GET", "/health");
  HttpReply r = http_request(port(), "GET", "/metrics", bearer(admin_key_));
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("socle_http_requests_total{"), std::string::npos);
  EXPECT_NE(r.body.find("route=\"/health\""), std::string::npos);
  EXPECT_NE(r.body.find("socle_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(r.body.find("socle_http_open_connections"), std::string::npos);
}

TEST_F(ServerTest, LogsAreJsonLinesWithoutSecrets) {
  http_request(port(), "GET", "/v1/me", bearer(admin_key_));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::istringstream lines(server_->stderr_text());
  std::string line;
  int requests = 0;
  while (std::getline(lines, line)) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << "not a JSON line: " << line;
    const auto& o = v.as_object();
    if (o.at("msg") == "request") {
      ++requests;
      EXPECT_TRUE(o.contains("request_id"));
      EXPECT_TRUE(o.contains("status"));
      EXPECT_TRUE(o.contains("latency_ms"));
      EXPECT_TRUE(o.contains("route"));
    }
    EXPECT_EQ(line.find(admin_key_), std::string::npos);
    EXPECT_EQ(line.find("Bearer"), std::string::npos);
  }
  EXPECT_GT(requests, 5);
}

// Its own server: SIGTERM lets a request in flight finish, then the process exits 0.
TEST(ShutdownTest, SigtermFinishesTheRequestInFlight) {
  TempDir dir;
  ServerProcess server(dir.path() + "/data");
  Connection idle(server.port());
  ASSERT_TRUE(idle.send_raw("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(idle.read_reply().status, 200);

  Connection busy(server.port());
  ASSERT_TRUE(busy.send_raw("GET /health HTTP/1.1\r\nHost: x\r\n"));  // half a request
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.signal(SIGTERM);
  EXPECT_TRUE(idle.closed_by_peer(3000)) << "idle keep-alive connections are closed";
  ASSERT_TRUE(busy.send_raw("\r\n"));
  HttpReply r = busy.read_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_EQ(server.wait(10'000), 0) << server.stderr_text();
}

TEST(StartupTest, SuppliedAdminKeyIsUsedAndNoFileIsWritten) {
  TempDir dir;
  std::string key = "sk-supplied-by-the-operator-0123456789";
  ServerProcess server(dir.path() + "/data", {{"SOCLE_ADMIN_KEY", key}});
  EXPECT_EQ(http_request(server.port(), "GET", "/v1/models", bearer(key)).status, 200);
  struct stat st {};
  EXPECT_NE(stat((dir.path() + "/data/admin-key").c_str(), &st), 0);
}

TEST(StartupTest, BadConfigurationExitsWithUsageError) {
  TempDir dir;
  std::string out;
  EXPECT_EQ(run_socle({"serve", "--data", dir.path(), "--listen", "nonsense"}, &out), 2);
  EXPECT_EQ(run_socle({"serve", "--data", dir.path(), "--listen", "127.0.0.1:0"}, &out,
                      {{"SOCLE_HTTP_MAX_BODY_BYTES", "lots"}}),
            2);
  EXPECT_EQ(run_socle({"serve", "--config", dir.path() + "/missing.toml"}, &out), 2);
}

TEST(StartupTest, VersionPrints) {
  std::string out;
  EXPECT_EQ(run_socle({"version"}, &out), 0);
  EXPECT_EQ(out.rfind("socle ", 0), 0u);
}

}  // namespace
}  // namespace socle::testing
