// The shared I/O pool: which loop a thread runs, and the client's promise that a call started
// on a loop of the shared pool stays on that loop's thread (a relay never changes threads),
// while fetch() from that thread runs elsewhere and so does not wait for itself.
#include "http/io_pool.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "http/client.h"
#include "http/server.h"

namespace socle::http {
namespace {

// Runs `fn` on loop `index` of `pool` and waits for its result.
template <typename Fn>
auto on_loop(IoPool& pool, int index, Fn fn) {
  std::packaged_task<decltype(fn())()> task(std::move(fn));
  auto result = task.get_future();
  boost::asio::post(pool.loop(index), [&task] { task(); });
  return result.get();
}

TEST(IoPool, KnowsWhichLoopRunsTheCallingThread) {
  IoPool pool(2);
  EXPECT_EQ(pool.size(), 2);
  EXPECT_EQ(pool.current_loop(), -1);
  EXPECT_EQ(on_loop(pool, 0, [&pool] { return pool.current_loop(); }), 0);
  EXPECT_EQ(on_loop(pool, 1, [&pool] { return pool.current_loop(); }), 1);
  IoPool other(1);
  EXPECT_EQ(on_loop(other, 0, [&pool] { return pool.current_loop(); }), -1)
      << "another pool's thread is not one of this pool's";
  int first = pool.next_loop();
  EXPECT_EQ(pool.next_loop(), 1 - first);
  EXPECT_EQ(pool.next_loop(), first);
  pool.stop();
  pool.stop();
  EXPECT_TRUE(pool.stopped());
}

// Records the thread of every callback.
class ThreadRecorder final : public ClientHandler {
 public:
  void on_head(int status, Headers) override {
    status_ = status;
    threads_.push_back(std::this_thread::get_id());
  }
  bool on_body(std::string_view chunk) override {
    body_ += chunk;
    threads_.push_back(std::this_thread::get_id());
    return true;
  }
  void on_done(Status status) override {
    threads_.push_back(std::this_thread::get_id());
    done_.set_value(status.is_ok());
  }
  bool wait() { return done_.get_future().get(); }
  int status_ = 0;
  std::string body_;
  std::vector<std::thread::id> threads_;

 private:
  std::promise<bool> done_;
};

TEST(HttpClient, CallsStartedOnASharedLoopStayOnIt) {
  Router router;
  router.add("GET", "/hello", [](Request&) { return Response::text(200, "hello"); });
  ServerOptions so;
  so.port = 0;
  auto server = Server::create(so, router, {});
  ASSERT_TRUE(server.is_ok());
  std::thread serving([&server] { (*server)->run(false); });

  IoPool shared(2);
  auto client = HttpClient::create({}, &shared);
  Result<Endpoint> endpoint =
      parse_base_url("http://127.0.0.1:" + std::to_string((*server)->port()));
  ASSERT_TRUE(endpoint.is_ok());
  ClientRequest req;
  req.endpoint = *endpoint;
  req.method = "GET";
  req.target = "/hello";

  for (int loop = 0; loop < 2; ++loop) {
    auto recorder = std::make_shared<ThreadRecorder>();
    std::thread::id loop_thread = on_loop(shared, loop, [&] {
      client->start(req, recorder);
      return std::this_thread::get_id();
    });
    ASSERT_TRUE(recorder->wait());
    EXPECT_EQ(recorder->status_, 200);
    EXPECT_EQ(recorder->body_, "hello");
    ASSERT_FALSE(recorder->threads_.empty());
    for (std::thread::id t : recorder->threads_)
      EXPECT_EQ(t, loop_thread) << "loop " << loop;
  }

  // fetch() blocks its caller: from a loop's thread it must run on another loop.
  Result<ClientReply> fetched = on_loop(shared, 0, [&] { return client->fetch(req); });
  ASSERT_TRUE(fetched.is_ok()) << fetched.status().message();
  EXPECT_EQ(fetched->body, "hello");
  // From any other thread too.
  fetched = client->fetch(req);
  ASSERT_TRUE(fetched.is_ok());

  shared.stop();  // before the client, as the client's contract says
  client.reset();
  (*server)->stop();
  serving.join();
}

}  // namespace
}  // namespace socle::http
