// The server in-process with test routes: deferred answers from another thread, SSE streams,
// a client that goes away mid-stream, and a handler that forgets to answer.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "http/server.h"
#include "http/sse.h"
#include "support/server_process.h"

namespace socle::http {
namespace {

using socle::testing::Connection;
using socle::testing::HttpReply;

class InProcessServer {
 public:
  explicit InProcessServer(const Router& router) {
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.io_threads = 2;
    o.shutdown_grace_ms = 2000;
    auto s = Server::create(o, router, {});
    SOCLE_CHECK(s.is_ok(), "the test server binds a free loopback port");
    server_ = std::move(s).value();
    thread_ = std::thread([this] { server_->run(false); });
  }
  ~InProcessServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return server_->port(); }

 private:
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

// Hands responders to a producer thread, as the model scheduler will.
class Producer {
 public:
  void post(std::function<void()> fn) {
    std::lock_guard lock(mu_);
    threads_.emplace_back(std::move(fn));
  }
  ~Producer() {
    for (auto& t : threads_)
      t.join();
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

std::string get(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

TEST(ServerStream, DeferredAnswerFromAnotherThread) {
  Producer producer;
  Router router;
  router.add_async("GET", "/later", [&producer](Request& req, ResponderPtr out) {
    std::string id(req.request_id);
    producer.post([out, id] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      out->send(Response::json(202, "{\"id\":\"" + id + "\"}"));
    });
  });
  InProcessServer server(router);
  Connection c(server.port());
  for (int i = 0; i < 2; ++i) {  // keep-alive carries on after a deferred answer
    ASSERT_TRUE(c.send_raw(get("/later")));
    HttpReply r = c.read_reply();
    EXPECT_EQ(r.status, 202);
    EXPECT_EQ(r.body, "{\"id\":\"" + r.headers["x-request-id"] + "\"}");
  }
}

TEST(ServerStream, SseEventsArriveInOrderAndEndWithDone) {
  Producer producer;
  Router router;
  router.add_async("GET", "/stream", [&producer](Request&, ResponderPtr out) {
    producer.post([out] {
      SseWriter sse(out);
      for (int i = 0; i < 50; ++i)
        sse.send("{\"i\":" + std::to_string(i) + "}");
      sse.done();
    });
  });
  InProcessServer server(router);
  Connection c(server.port());
  ASSERT_TRUE(c.send_raw(get("/stream")));
  HttpReply r = c.read_reply();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/event-stream");
  EXPECT_EQ(r.headers["transfer-encoding"], "chunked");
  std::string want;
  for (int i = 0; i < 50; ++i)
    want += "data: {\"i\":" + std::to_string(i) + "}\n\n";
  want += "data: [DONE]\n\n";
  EXPECT_EQ(r.body, want);
  ASSERT_TRUE(c.send_raw(get("/stream")));
  EXPECT_EQ(c.read_reply().body, want);
}

TEST(ServerStream, ClientDisconnectCancelsTheProducer) {
  std::mutex mu;
  std::condition_variable cv;
  bool cancelled = false;
  std::atomic<int> written{0};
  Producer producer;
  Router router;
  router.add_async("GET", "/forever", [&](Request&, ResponderPtr out) {
    out->on_cancel([&] {
      std::lock_guard lock(mu);
      cancelled = true;
      cv.notify_all();
    });
    producer.post([&, out] {
      SseWriter sse(out);
      // Bounded: a producer that never noticed the cancellation would fail the test.
      for (int i = 0; i < 2000 && sse.send("{\"token\":\"x\"}"); ++i) {
        ++written;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      sse.close();
    });
  });
  InProcessServer server(router);
  {
    Connection c(server.port());
    ASSERT_TRUE(c.send_raw(get("/forever")));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }  // the client goes away
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return cancelled; }));
  EXPECT_LT(written.load(), 2000);
}

TEST(ServerStream, AHandlerThatNeverAnswersGets500NotAHang) {
  Router router;
  router.add_async("GET", "/forgetful", [](Request&, ResponderPtr) {});
  router.add_async("GET", "/throws",
                   [](Request&, ResponderPtr) -> void { throw std::runtime_error("boom"); });
  router.add("GET", "/sync-throws", [](Request&) -> Response { throw std::runtime_error("x"); });
  InProcessServer server(router);
  for (const char* path : {"/forgetful", "/throws", "/sync-throws"}) {
    Connection c(server.port());
    ASSERT_TRUE(c.send_raw(get(path)));
    EXPECT_EQ(c.read_reply().status, 500) << path;
  }
}

}  // namespace
}  // namespace socle::http
