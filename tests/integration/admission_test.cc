// Admission and usage through the whole server, in-process so that the clock can be held
// still: socle's App on a ManualClock in front of the fake upstream (a real Node process).
// 1,000 concurrent requests against a per-minute limit of N admit exactly N; token limits
// hold with streaming; the usage records carry the upstream's token counts; /v1/me/usage and
// /v1/admin/usage show each caller what it may see, in JSON and CSV.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/app.h"
#include "base/config.h"
#include "store/store.h"
#include "support/server_process.h"
#include "tenancy/api_key.h"
#include "tenancy/audit.h"
#include "tenancy/audit_key.h"
#include "tenancy/bootstrap.h"
#include "tenancy/permissions.h"

namespace socle::testing {
namespace {

using boost::json::object;

constexpr int64_t PER_MINUTE = 37;
constexpr int CONCURRENT = 1000;
constexpr int64_t TOKENS_PER_REQUEST = 14;  // the fake upstream's usage: 11 prompt + 3 completion

void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 8192) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 8192);
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

std::string chat_body(const std::string& model, bool stream, int max_tokens = 16) {
  object b{{"model", model},
           {"messages", boost::json::array{object{{"role", "user"}, {"content", "Bonjour"}}}},
           {"max_tokens", max_tokens}};
  if (stream) b["stream"] = true;
  return boost::json::serialize(b);
}

std::string chat_request(const std::string& key, const std::string& body) {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    raise_fd_limit();
    upstream_ = std::make_unique<ServerProcess>(
        ServerProcess::Program{}, "node",
        std::vector<std::string>{std::string(SOCLE_SOURCE_DIR) + "/tests/support/fake_upstream.mjs",
                                 "--name", "up"});
    auto opened = store::open_sqlite_store(dir_.path() + "/socle.db", clock_);
    ASSERT_TRUE(opened.is_ok()) << opened.status().message();
    store_ = std::move(opened).value();
    audit_ = std::make_unique<tenancy::AuditLog>(
        *store_, std::string(tenancy::AUDIT_KEY_BYTES, 'k'), clock_);
    ASSERT_TRUE(tenancy::ensure_reference_data(*store_, *audit_).is_ok());
    store::Actor sys = store::Actor::system();
    auto org = *store_->orgs().find_by_name(sys, std::string(tenancy::DEFAULT_ORGANISATION));
    auto other_org = *store_->orgs().create(sys, "region");
    auto user_role = *store_->roles().find_by_name(sys, std::string(tenancy::ROLE_USER));
    auto reader = *store_->roles().create(sys, "reader", {std::string(tenancy::PERM_READ_USAGE)});
    user_role_ = user_role.id;
    alice_ = make_user("alice", org.id, user_role.id, &alice_key_);
    bob_ = make_user("bob", org.id, user_role.id, &bob_key_);
    carol_ = make_user("carol", other_org.id, user_role.id, &carol_key_);
    reader_ = make_user("reader", org.id, reader.id, &reader_key_);

    config_.listen = "127.0.0.1:0";
    config_.io_threads = 2;
    config_.usage_flush_ms = 50;
    config_.store_poll_ms = 50;
    config_.gateway_health_interval_ms = 60'000;
    std::string url = "http://127.0.0.1:" + std::to_string(upstream_->port()) + "/v1";
    for (const char* name : {"chat", "stream-chat"}) {
      config_.models.push_back(
          object{{"name", name},
                 {"kind", "chat"},
                 {"parameters_billions", 8},
                 {"providers", boost::json::array{object{{"url", url}, {"max_in_flight", 2000}}}}});
    }
  }
  void TearDown() override {
    if (app_) {
      app_->stop();
      runner_.join();
    }
  }

  store::Id make_user(const std::string& name, store::Id org, store::Id role, std::string* key) {
    store::Actor sys = store::Actor::system();
    auto u = store_->users().create(sys, {org, role, name, ""});
    EXPECT_TRUE(u.is_ok()) << u.status().message();
    *key = tenancy::generate_key_secret();
    EXPECT_TRUE(store_->keys()
                    .create(sys, {u->id, "k", tenancy::hash_key_secret(*key),
                                  tenancy::key_display_prefix(*key), std::nullopt})
                    .is_ok());
    return u->id;
  }
  void limit(store::LimitScope scope, store::Id id, const std::string& model,
             const store::LimitValues& v) {
    ASSERT_TRUE(store_->limits().put(store::Actor::system(), scope, id, model, v).is_ok());
  }
  void start() {
    auto made = api::App::create(config_, *store_, *audit_, clock_);
    ASSERT_TRUE(made.is_ok()) << made.status().message();
    app_ = std::move(made).value();
    runner_ = std::thread([this] { app_->run(false); });
  }
  HttpReply get(const std::string& key, const std::string& path) {
    return http_request(app_->port(), "GET", path, {{"Authorization", "Bearer " + key}});
  }
  HttpReply chat(const std::string& key, const std::string& body) {
    return http_request(app_->port(), "POST", "/v1/chat/completions",
                        {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}},
                        body);
  }

  TempDir dir_;
  ManualClock clock_{1'800'000'010};  // 10 s into a minute
  std::unique_ptr<ServerProcess> upstream_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<tenancy::AuditLog> audit_;
  Config config_;
  std::unique_ptr<api::App> app_;
  std::thread runner_;
  store::Id user_role_ = 0, alice_ = 0, bob_ = 0, carol_ = 0, reader_ = 0;
  std::string alice_key_, bob_key_, carol_key_, reader_key_;
};

TEST_F(AdmissionTest, AThousandConcurrentRequestsAgainstAPerMinuteLimitAdmitExactlyN) {
  store::LimitValues v;
  v.requests_per_minute = PER_MINUTE;
  limit(store::LimitScope::ROLE, user_role_, "*", v);
  start();

  std::vector<std::unique_ptr<Connection>> conns;
  conns.reserve(CONCURRENT);
  std::string request = chat_request(alice_key_, chat_body("chat", false));
  for (int i = 0; i < CONCURRENT; ++i) {
    conns.push_back(std::make_unique<Connection>(app_->port()));
    ASSERT_TRUE(conns.back()->connected()) << i;
  }
  for (auto& c : conns)
    ASSERT_TRUE(c->send_raw(request));
  int ok = 0, limited = 0;
  for (auto& c : conns) {
    HttpReply r = c->read_reply(30'000);
    if (r.status == 200) {
      ++ok;
      EXPECT_EQ(r.headers["x-ratelimit-limit-requests"], std::to_string(PER_MINUTE));
    } else if (r.status == 429) {
      ++limited;
      EXPECT_EQ(r.headers["retry-after"], "50") << "the minute ends in 50 s";
      EXPECT_EQ(r.headers["x-ratelimit-remaining-requests"], "0");
      EXPECT_NE(r.body.find("rate_limit_exceeded"), std::string::npos) << r.body;
      EXPECT_NE(r.body.find("requests per minute"), std::string::npos) << r.body;
    } else {
      ADD_FAILURE() << r.status << " " << r.body;
    }
  }
  EXPECT_EQ(ok, PER_MINUTE);
  EXPECT_EQ(limited, CONCURRENT - PER_MINUTE);
  // Another user has counters of its own; the next minute starts afresh.
  EXPECT_EQ(chat(bob_key_, chat_body("chat", false)).status, 200);
  EXPECT_EQ(chat(alice_key_, chat_body("chat", false)).status, 429);
  clock_.advance_ms(50'000);
  EXPECT_EQ(chat(alice_key_, chat_body("chat", false)).status, 200);

  // Every request left a usage record, the admitted ones with the upstream's counts.
  ASSERT_TRUE(app_->usage_writer().flush().is_ok());
  store::UsageQuery q;
  q.user_id = alice_;
  q.limit = 10'000;
  auto records = store_->usage().list(store::Actor::system(), q);
  ASSERT_TRUE(records.is_ok());
  ASSERT_EQ(records->size(), static_cast<size_t>(CONCURRENT + 2));
  int admitted = 0;
  for (const auto& u : *records) {
    EXPECT_EQ(u.model, "chat");
    EXPECT_EQ(u.endpoint, "/v1/chat/completions");
    if (u.status == 200) {
      ++admitted;
      EXPECT_EQ(u.prompt_tokens, 11);
      EXPECT_EQ(u.completion_tokens, 3);
      EXPECT_EQ(u.provider.rfind("chat#0 ", 0), 0u) << u.provider;
      EXPECT_GT(u.energy_kwh, 0);
    } else {
      EXPECT_EQ(u.status, 429);
      EXPECT_EQ(u.prompt_tokens + u.completion_tokens, 0);
    }
  }
  EXPECT_EQ(admitted, PER_MINUTE + 1);
}

TEST_F(AdmissionTest, TokenLimitsHoldWithStreaming) {
  // Room for three requests' actual tokens, but a reservation is prompt + max_tokens, so the
  // reservation must fit too: max_tokens 16 + a small prompt estimate.
  store::LimitValues v;
  v.tokens_per_minute = 3 * TOKENS_PER_REQUEST + 60;
  limit(store::LimitScope::USER, alice_, "stream-chat", v);
  start();
  std::string body = chat_body("stream-chat", true);
  int64_t estimate = static_cast<int64_t>((body.size() + 3) / 4) + 16;
  int64_t limit_tokens = *v.tokens_per_minute;
  int64_t used = 0;
  int admitted = 0;
  for (int i = 0; i < 10; ++i) {
    HttpReply r = chat(alice_key_, body);
    if (used + estimate <= limit_tokens) {
      ASSERT_EQ(r.status, 200) << i << " " << r.body;
      EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
      // The headers show the state at admission: the reservation is counted.
      EXPECT_EQ(r.headers["x-ratelimit-remaining-tokens"],
                std::to_string(limit_tokens - used - estimate));
      used += TOKENS_PER_REQUEST;  // settled with the stream's usage
      ++admitted;
    } else {
      ASSERT_EQ(r.status, 429) << i << " " << r.body;
      EXPECT_NE(r.body.find("tokens per minute"), std::string::npos) << r.body;
    }
  }
  EXPECT_GE(admitted, 3);
  EXPECT_LE(used, limit_tokens);
  // A request whose reservation alone is over the limit says so.
  HttpReply big = chat(bob_key_, chat_body("stream-chat", true, 100));
  EXPECT_EQ(big.status, 200) << "bob has no limit";
  HttpReply too_big = chat(alice_key_, chat_body("stream-chat", true, 1000));
  EXPECT_EQ(too_big.status, 429);
  EXPECT_NE(too_big.body.find("max_tokens"), std::string::npos) << too_big.body;
}

TEST_F(AdmissionTest, AHugeMaxTokensIsTooLargeNotFree) {
  // prompt + n * max_tokens must not wrap around int64 into a reservation of nothing.
  store::LimitValues v;
  v.tokens_per_minute = 1000;
  limit(store::LimitScope::USER, alice_, "chat", v);
  start();
  auto body = [](const std::string& max_tokens, int n) {
    return R"({"model":"chat","messages":[{"role":"user","content":"Bonjour"}],"max_tokens":)" +
           max_tokens + R"(,"n":)" + std::to_string(n) + "}";
  };
  for (const auto& [max_tokens, n] :
       std::vector<std::pair<std::string, int>>{{"5000", 1},
                                                {"9223372036854775807", 1},
                                                {"4611686018427387904", 2},
                                                {"9223372036854775807", 128},
                                                {"18446744073709551615", 1}}) {
    HttpReply r = chat(alice_key_, body(max_tokens, n));
    EXPECT_EQ(r.status, 429) << max_tokens << " x " << n << ": " << r.body;
    EXPECT_NE(r.body.find("request_too_large"), std::string::npos) << r.body;
  }
  EXPECT_EQ(chat(alice_key_, body("16", 1)).status, 200) << "nothing was reserved";
}

TEST_F(AdmissionTest, ZeroMeansNoAccessAndOrganisationCeilingsApply) {
  store::LimitValues none;
  none.requests_per_day = 0;
  limit(store::LimitScope::USER, bob_, "chat", none);
  store::LimitValues ceiling;
  ceiling.requests_per_minute = 2;
  store::Id org = store_->users().get(store::Actor::system(), alice_)->org_id;
  limit(store::LimitScope::ORGANISATION, org, "stream-chat", ceiling);
  start();
  HttpReply r = chat(bob_key_, chat_body("chat", false));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("model_access_denied"), std::string::npos) << r.body;
  EXPECT_EQ(chat(bob_key_, chat_body("stream-chat", false)).status, 200);
  EXPECT_EQ(chat(alice_key_, chat_body("stream-chat", false)).status, 200);
  r = chat(bob_key_, chat_body("stream-chat", false));
  EXPECT_EQ(r.status, 429) << "the organisation's two requests are used";
  EXPECT_NE(r.body.find("organisation"), std::string::npos) << r.body;
  EXPECT_EQ(chat(carol_key_, chat_body("stream-chat", false)).status, 200)
      << "another organisation";
}

TEST_F(AdmissionTest, LimitsChangedThroughTheApiApplyAtOnce) {
  std::string admin_key;
  auto admin_role =
      *store_->roles().find_by_name(store::Actor::system(), std::string(tenancy::ROLE_ADMIN));
  make_user("root", store_->users().get(store::Actor::system(), alice_)->org_id, admin_role.id,
            &admin_key);
  start();
  EXPECT_EQ(chat(alice_key_, chat_body("chat", false)).status, 200);
  HttpReply set =
      http_request(app_->port(), "POST", "/v1/admin/limits",
                   {{"Authorization", "Bearer " + admin_key}, {"Content-Type", "application/json"}},
                   R"({"scope":"user","scope_id":)" + std::to_string(alice_) +
                       R"(,"model":"chat","requests_per_minute":0})");
  ASSERT_EQ(set.status, 201) << set.body;
  EXPECT_EQ(chat(alice_key_, chat_body("chat", false)).status, 403) << "no poll awaited";
}

TEST_F(AdmissionTest, LimitsChangedByAnotherNodeApplyWithinAPoll) {
  start();
  EXPECT_EQ(chat(alice_key_, chat_body("chat", false)).status, 200);
  // Another node (here: the store directly) sets a limit; the poll brings it in.
  store::LimitValues v;
  v.requests_per_minute = 1;
  limit(store::LimitScope::USER, alice_, "chat", v);
  for (int i = 0; i < 100; ++i) {
    if (chat(alice_key_, chat_body("chat", false)).status == 429) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "the new limit never applied";
}

TEST_F(AdmissionTest, UsageIsReadableByItsOwnerAndByReadersOfItsOrganisation) {
  start();
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(chat(alice_key_, chat_body("chat", false)).status, 200);
  ASSERT_EQ(chat(bob_key_, chat_body("stream-chat", true)).status, 200);
  ASSERT_EQ(chat(carol_key_, chat_body("chat", false)).status, 200);
  ASSERT_TRUE(app_->usage_writer().flush().is_ok());

  HttpReply mine = get(alice_key_, "/v1/me/usage");
  ASSERT_EQ(mine.status, 200) << mine.body;
  object m = boost::json::parse(mine.body).as_object();
  ASSERT_EQ(m["data"].as_array().size(), 3u);
  for (const auto& row : m["data"].as_array()) {
    EXPECT_EQ(row.as_object().at("user_id"), alice_);
    EXPECT_EQ(row.as_object().at("total_tokens"), TOKENS_PER_REQUEST);
  }
  // Another user's usage is not reachable: 400 on the self route, 403 without read_usage.
  EXPECT_EQ(get(alice_key_, "/v1/me/usage?user_id=" + std::to_string(bob_)).status, 400);
  EXPECT_EQ(get(alice_key_, "/v1/admin/usage").status, 403);
  EXPECT_EQ(get(alice_key_, "/v1/admin/usage?user_id=" + std::to_string(bob_)).status, 403);

  // A reader of the organisation sees its organisation, not carol's.
  HttpReply grouped = get(reader_key_, "/v1/admin/usage?group_by=user,model");
  ASSERT_EQ(grouped.status, 200) << grouped.body;
  object g = boost::json::parse(grouped.body).as_object();
  std::string rows = boost::json::serialize(g["data"]);
  ASSERT_EQ(g["data"].as_array().size(), 2u) << rows;
  object first = g["data"].as_array()[0].as_object();
  EXPECT_EQ(first["user_id"], alice_);
  EXPECT_EQ(first["requests"], 3);
  EXPECT_EQ(first["prompt_tokens"], 33);
  EXPECT_EQ(first["completion_tokens"], 9);
  for (const auto& row : g["data"].as_array())
    EXPECT_NE(row.as_object().at("user_id"), carol_) << "another organisation's user";
  HttpReply other = get(reader_key_, "/v1/admin/usage?user_id=" + std::to_string(carol_));
  EXPECT_EQ(other.status, 404) << other.body;

  HttpReply csv = get(reader_key_, "/v1/admin/usage?group_by=day&format=csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_NE(csv.headers["content-type"].find("text/csv"), std::string::npos);
  EXPECT_EQ(csv.body.substr(0, 4), "day,") << csv.body;
  EXPECT_NE(csv.body.find(",4,"), std::string::npos)
      << "4 requests in the organisation: " << csv.body;

  HttpReply bad = get(reader_key_, "/v1/admin/usage?group_by=colour");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("group_by"), std::string::npos) << bad.body;
}

// The value of one series in Prometheus text (`name{labels} value` at the start of a line),
// or NaN when the series is absent.
double scraped_value(const std::string& text, const std::string& series) {
  std::string padded = "\n" + text;  // so that the first line starts after a newline too
  std::string line_start = "\n" + series + " ";
  size_t at = padded.find(line_start);
  if (at == std::string::npos) return std::nan("");
  return std::stod(padded.substr(at + line_start.size()));
}

TEST_F(AdmissionTest, RefusalsAndTheUsageWriterAreCountedInMetrics) {
  store::LimitValues none;
  none.requests_per_day = 0;
  limit(store::LimitScope::USER, bob_, "chat", none);
  store::LimitValues one;
  one.requests_per_minute = 1;
  limit(store::LimitScope::USER, alice_, "chat", one);
  store::LimitValues few_tokens;
  few_tokens.tokens_per_minute = 100;
  limit(store::LimitScope::USER, alice_, "stream-chat", few_tokens);
  config_.metrics_public = true;
  start();

  EXPECT_EQ(chat(bob_key_, chat_body("chat", false)).status, 403);
  EXPECT_EQ(chat(alice_key_, chat_body("chat", false)).status, 200);
  EXPECT_EQ(chat(alice_key_, chat_body("chat", false)).status, 429);
  EXPECT_EQ(chat(alice_key_, chat_body("chat", false)).status, 429);
  HttpReply big = chat(alice_key_, chat_body("stream-chat", false, 1000));
  EXPECT_EQ(big.status, 429);
  EXPECT_NE(big.body.find("request_too_large"), std::string::npos) << big.body;
  // Each answer's usage record is queued before the answer is sent.
  ASSERT_TRUE(app_->usage_writer().flush().is_ok());

  HttpReply r = http_request(app_->port(), "GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(
      scraped_value(r.body, R"(socle_admission_refusals_total{model="chat",reason="no_access"})"),
      1);
  EXPECT_EQ(scraped_value(r.body,
                          R"(socle_admission_refusals_total{model="chat",reason="rate_limited"})"),
            2);
  EXPECT_EQ(
      scraped_value(r.body,
                    R"(socle_admission_refusals_total{model="stream-chat",reason="too_large"})"),
      1);
  EXPECT_TRUE(std::isnan(
      scraped_value(r.body, R"(socle_admission_refusals_total{model="chat",reason="too_large"})")))
      << "no series for what did not happen";
  EXPECT_EQ(scraped_value(r.body, "socle_usage_records_written_total"), 5) << r.body;
  EXPECT_EQ(scraped_value(r.body, "socle_usage_records_dropped_total"), 0);
  EXPECT_EQ(scraped_value(r.body, "socle_usage_records_pending"), 0);
  EXPECT_EQ(scraped_value(r.body, "socle_usage_store_failures_total"), 0);
  EXPECT_NE(r.body.find("# TYPE socle_usage_records_written_total counter"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE socle_usage_records_pending gauge"), std::string::npos);
}

}  // namespace
}  // namespace socle::testing
