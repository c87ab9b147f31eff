// The one translation unit that includes Boost.Beast's server side (it is slow to compile:
// keep it here). Each connection is a C++20 coroutine on one of the IoPool's loops, which
// is single-threaded: no strand is needed.
#include "http/server.h"

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <iterator>
#include <list>
#include <mutex>

#include "base/json.h"
#include "base/log.h"
#include "base/random.h"

namespace socle::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;

constexpr auto USE_NOTHROW = asio::as_tuple(asio::use_awaitable);
// Bytes read while waiting for the first byte of the next request.
constexpr size_t FIRST_READ_BYTES = 4096;
// A streamed answer whose unsent chunks exceed this is abandoned: the client is not reading.
constexpr size_t MAX_QUEUED_STREAM_BYTES = 8u << 20;
// The longest x-request-id a client may choose; longer ones are replaced.
constexpr size_t MAX_REQUEST_ID_CHARS = 64;
// Room for a response's status line and headers, so that writing them does not reallocate.
constexpr size_t RESPONSE_HEAD_RESERVE = 256;
// After the grace period, how long the dropped connections have to wind down and close.
constexpr int64_t DROP_WAIT_MS = 2000;
// How long a rejected connection (over max_connections) gets to receive its 503.
constexpr auto REJECT_WRITE_TIMEOUT = std::chrono::seconds(2);

std::chrono::milliseconds ms(int64_t v) {
  return std::chrono::milliseconds(v);
}

// A request id like new_request_id()'s (32 lowercase hex digits) without a CSPRNG call per
// request (OpenSSL's RAND_bytes costs a getpid() and a lock each time): a random 64-bit
// prefix drawn once per thread, then a per-thread counter through the SplitMix64 finaliser,
// a bijection, so one thread never repeats an id. Ids correlate logs; they are not secrets.
std::string next_request_id() {
  struct State {
    uint64_t prefix = 0;
    uint64_t counter = 0;
  };
  thread_local State state = [] {
    State st;
    std::string seed = secure_random_bytes(sizeof st.prefix + sizeof st.counter);
    std::memcpy(&st.prefix, seed.data(), sizeof st.prefix);
    std::memcpy(&st.counter, seed.data() + sizeof st.prefix, sizeof st.counter);
    return st;
  }();
  uint64_t z = ++state.counter;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  static constexpr char HEX[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int i = 0; i < 16; ++i) {
    id[static_cast<size_t>(15 - i)] = HEX[(state.prefix >> (4 * i)) & 0xF];
    id[static_cast<size_t>(31 - i)] = HEX[(z >> (4 * i)) & 0xF];
  }
  return id;
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > MAX_REQUEST_ID_CHARS) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Response default_error_body(int status, std::string_view message, std::string_view code) {
  std::string body =
      "{\"error\":{\"message\":" + json::quoted(message) +
      ",\"type\":\"invalid_request_error\",\"param\":null,\"code\":" + json::quoted(code) + "}}";
  return Response::json(status, std::move(body));
}

// What a Responder hands to the connection.
struct Event {
  enum class Kind { RESPONSE, HEAD, CHUNK, END, ABORT };
  Kind kind;
  Response response;  // RESPONSE, and HEAD's status and headers
  std::string chunk;  // CHUNK
};

// Shared by the handler's Responder and the connection that writes its events. It holds no
// Asio object: a producer may outlive the server. The connection installs a waker while it
// waits for events and removes it (under the same lock) before it stops listening, so no
// producer ever touches an executor that is gone.
class ResponderState {
 public:
  // Queues an event and rings the waker; false if the client has gone.
  bool push(Event e) {
    std::lock_guard lock(mu_);
    if (cancelled_) return false;
    queued_bytes_ += e.chunk.size();
    if (queued_bytes_ > MAX_QUEUED_STREAM_BYTES) {
      log::warn("stream abandoned: the client is not reading",
                {{"queued_bytes", static_cast<uint64_t>(queued_bytes_)}});
      e = Event{Event::Kind::ABORT, {}, {}};
    }
    events_.push_back(std::move(e));
    if (wake_) wake_();
    return true;
  }

  // A vector, not a deque: one allocation for a whole answer, none for an empty take().
  std::vector<Event> take() {
    std::lock_guard lock(mu_);
    std::vector<Event> out;
    out.swap(events_);
    queued_bytes_ = 0;
    return out;
  }

  void set_waker(std::function<void()> wake) {
    std::lock_guard lock(mu_);
    wake_ = std::move(wake);
  }

  // The connection is done with this answer: no more wake-ups; if the answer did not
  // complete, the producer is told the client has gone.
  void detach(bool completed) {
    {
      std::lock_guard lock(mu_);
      wake_ = nullptr;
    }
    if (!completed) cancel();
  }

  void cancel() {
    std::function<void()> fn;
    {
      std::lock_guard lock(mu_);
      if (cancelled_) return;
      cancelled_ = true;
      events_.clear();
      fn = std::move(on_cancel_);
    }
    if (fn) fn();
  }

  bool cancelled() const {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

  void on_cancel(std::function<void()> fn) {
    {
      std::lock_guard lock(mu_);
      if (!cancelled_) {
        on_cancel_ = std::move(fn);
        return;
      }
    }
    fn();
  }

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;
  size_t queued_bytes_ = 0;
  bool cancelled_ = false;
  std::function<void()> on_cancel_;
  std::function<void()> wake_;  // set while the connection listens
};

class ResponderHandle final : public Responder {
 public:
  explicit ResponderHandle(std::shared_ptr<ResponderState> state) : state_(std::move(state)) {}
  ~ResponderHandle() override {
    if (phase_ != Phase::DONE) state_->push(Event{Event::Kind::ABORT, {}, {}});
  }

  void send(Response response) override {
    SOCLE_CHECK(phase_ == Phase::NONE, "a Responder answers once");
    phase_ = Phase::DONE;
    state_->push(Event{Event::Kind::RESPONSE, std::move(response), {}});
  }
  void start_stream(int status, Headers headers) override {
    SOCLE_CHECK(phase_ == Phase::NONE, "a stream starts once, before any write");
    phase_ = Phase::STREAMING;
    Response head;
    head.status = status;
    head.headers = std::move(headers);
    state_->push(Event{Event::Kind::HEAD, std::move(head), {}});
  }
  bool write(std::string chunk) override {
    SOCLE_CHECK(phase_ == Phase::STREAMING, "write() follows start_stream()");
    if (chunk.empty()) return !state_->cancelled();
    return state_->push(Event{Event::Kind::CHUNK, {}, std::move(chunk)});
  }
  void finish() override {
    SOCLE_CHECK(phase_ == Phase::STREAMING, "finish() follows start_stream()");
    phase_ = Phase::DONE;
    state_->push(Event{Event::Kind::END, {}, {}});
  }
  bool cancelled() const override { return state_->cancelled(); }
  void on_cancel(std::function<void()> fn) override { state_->on_cancel(std::move(fn)); }

 private:
  enum class Phase { NONE, STREAMING, DONE };
  std::shared_ptr<ResponderState> state_;
  // Written by the one producer at a time that owns the handle.
  std::atomic<Phase> phase_{Phase::NONE};
};

struct Connection {
  explicit Connection(tcp::socket socket)
      : stream(std::move(socket)), doorbell(stream.get_executor()) {}
  beast::tcp_stream stream;
  // A Responder's push cancels this timer on the connection's loop to wake the pump.
  asio::steady_timer doorbell;
  bool busy = false;       // between the first byte of a request and the end of its response
  uint64_t requests = 0;   // requests begun: a late timer of an earlier one is ignored
  bool timed_out = false;  // the current request's deadline passed
};

class ServerImpl final : public Server {
 public:
  ServerImpl(ServerOptions options, const Router& router, ServerHooks hooks, IoPool* shared)
      : options_(std::move(options)),
        router_(router),
        hooks_(std::move(hooks)),
        own_pool_(shared != nullptr ? nullptr : std::make_unique<IoPool>(options_.io_threads)),
        pool_(shared != nullptr ? *shared : *own_pool_),
        control_(asio::make_strand(pool_.loop(0))),
        acceptor_(control_),
        grace_timer_(control_) {
    if (!hooks_.error_body) hooks_.error_body = default_error_body;
  }

  ~ServerImpl() override {
    // No handler may run while the acceptor, the timers and this object go away.
    if (own_pool_) {
      own_pool_->stop();
    } else {
      SOCLE_CHECK(!started_ || pool_.stopped(),
                  "a server on a shared pool is destroyed after the pool stopped");
    }
  }

  Status listen() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return invalid_argument("'" + options_.host + "' is not an IP address");
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                         ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return Status::ok();
  }

  uint16_t port() const override { return port_; }
  size_t open_connections() const override { return open_.load(); }

  void run(bool handle_signals) override {
    started_ = true;
    if (handle_signals) {
      signals_.emplace(control_, SIGINT, SIGTERM);
      signals_->async_wait([this](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        log::info("signal received, shutting down", {{"signal", sig}});
        begin_drain();
      });
    }
    asio::co_spawn(control_, accept_loop(), asio::detached);
    std::unique_lock lock(done_mu_);
    done_cv_.wait(lock, [this] { return done_; });
  }

  void stop() override {
    asio::post(control_, [this] { begin_drain(); });
  }

 private:
  // Runs on control_.
  void begin_drain() {
    if (draining_.exchange(true)) return;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    if (signals_) signals_->cancel(ignored);
    std::vector<std::shared_ptr<Connection>> conns = live_connections();
    log::info("draining", {{"open_connections", static_cast<uint64_t>(conns.size())},
                           {"grace_ms", options_.shutdown_grace_ms}});
    // Idle keep-alive connections are waiting for a request that should not come: wake them.
    for (auto& c : conns) {
      asio::post(c->stream.get_executor(), [c] {
        if (!c->busy) c->stream.cancel();
      });
    }
    if (open_.load() == 0) {
      finish();
      return;
    }
    grace_timer_.expires_after(ms(options_.shutdown_grace_ms));
    grace_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      // The last connection may have closed as the timer fired (its cancel came too late).
      if (open_.load() == 0) {
        finish();
        return;
      }
      log::warn("shutdown grace period over, dropping the remaining connections",
                {{"open_connections", static_cast<uint64_t>(open_.load())}});
      drop_remaining();
    });
  }

  // Shuts the remaining connections' sockets down: their handlers see the client gone and
  // cancel their work, which records what it used (a relay, a generation), and the
  // connections close. run() returns when the last one has, or DROP_WAIT_MS later.
  // Runs on control_.
  void drop_remaining() {
    for (auto& c : live_connections()) {
      asio::post(c->stream.get_executor(), [c] {
        boost::system::error_code ignored;
        // Reads see the end (the pump's watch cancels the answer), writes fail. Not
        // cancel(): the watch would end aborted, without cancelling the answer.
        c->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    }
    grace_timer_.expires_after(ms(DROP_WAIT_MS));
    grace_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      if (open_.load() != 0) {
        log::warn("connections still open after being dropped",
                  {{"open_connections", static_cast<uint64_t>(open_.load())}});
      }
      finish();
    });
  }

  std::vector<std::shared_ptr<Connection>> live_connections() {
    std::vector<std::shared_ptr<Connection>> conns;
    std::lock_guard lock(conns_mu_);
    for (auto& w : conns_) {
      if (auto c = w.lock()) conns.push_back(std::move(c));
    }
    return conns;
  }

  // Runs on control_, when a connection ends.
  void connection_closed() {
    if (open_.fetch_sub(1) == 1 && draining_.load()) {
      grace_timer_.cancel();
      finish();
    }
  }

  // Lets run() return. Runs on control_.
  void finish() {
    {
      std::lock_guard lock(done_mu_);
      done_ = true;
    }
    done_cv_.notify_all();
  }

  asio::awaitable<void> accept_loop() {
    while (acceptor_.is_open()) {
      auto [ec, socket] = co_await acceptor_.async_accept(
          pool_.loop(pool_.next_loop()).get_executor(), USE_NOTHROW);
      if (ec) {
        if (!acceptor_.is_open() || ec == asio::error::operation_aborted) co_return;
        // Out of file descriptors and the like: say so, breathe, carry on.
        log::warn("accept failed", {{"error", ec.message()}});
        asio::steady_timer pause(control_, std::chrono::milliseconds(50));
        co_await pause.async_wait(USE_NOTHROW);
        continue;
      }
      if (static_cast<int64_t>(open_.load()) >= options_.max_connections) {
        auto ex = socket.get_executor();
        asio::co_spawn(ex, reject(std::move(socket)), asio::detached);
        continue;
      }
      auto conn = std::make_shared<Connection>(std::move(socket));
      ++open_;
      {
        std::lock_guard lock(conns_mu_);
        conns_.remove_if([](const std::weak_ptr<Connection>& w) { return w.expired(); });
        conns_.push_back(conn);
      }
      asio::co_spawn(conn->stream.get_executor(), session(conn), [this](const std::exception_ptr&) {
        asio::post(control_, [this] { connection_closed(); });
      });
    }
  }

  asio::awaitable<void> reject(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    Response r = hooks_.error_body(503, "the server has too many open connections; retry shortly",
                                   "server_overloaded");
    r.set_header("retry-after", "1");
    std::string id = next_request_id();
    stream.expires_after(REJECT_WRITE_TIMEOUT);
    co_await write_response(stream, r, false, id);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    complete(nullptr, id, r.status, r.body.size(), 0);
  }

  void complete(const Request* req, std::string_view id, int status, uint64_t bytes,
                double seconds) {
    if (!hooks_.on_complete) return;
    Completion c;
    c.request = req;
    c.request_id = id;
    c.status = status;
    c.body_bytes = bytes;
    c.seconds = seconds;
    log::ScopedRequestId scoped(id);
    hooks_.on_complete(c);
  }

  // The head is written by hand, as Beast would write it (status line with the standard
  // reason, the headers, x-request-id, Connection: close when closing, Content-Length), and
  // sent with the body in one write: Beast's message, fields and serializer cost several
  // allocations and most of a relayed request's user CPU after the JSON parsing.
  asio::awaitable<bool> write_response(beast::tcp_stream& stream, const Response& r,
                                       bool keep_alive, std::string_view request_id) {
    auto status = static_cast<unsigned>(r.status);
    // These carry no body (Beast refuses to write one).
    bool bodiless = (status >= 100 && status < 200) || status == 204 || status == 304;
    std::string_view body = bodiless ? std::string_view() : std::string_view(r.body);
    std::string head;
    head.reserve(RESPONSE_HEAD_RESERVE);
    head.append("HTTP/1.1 ").append(std::to_string(status)).append(" ");
    head.append(bhttp::obsolete_reason(static_cast<bhttp::status>(status))).append("\r\n");
    append_header_lines(&head, r.headers,
                        {"content-length", "transfer-encoding", "connection", "x-request-id"});
    head.append("x-request-id: ").append(request_id).append("\r\n");
    if (!keep_alive) head.append("Connection: close\r\n");
    head.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(body)};
    stream.expires_after(ms(options_.write_timeout_ms));
    auto [ec, n] = co_await asio::async_write(stream, buffers, USE_NOTHROW);
    co_return !ec;
  }

  // Writes an error for a request that could not be read and records it.
  asio::awaitable<void> fail_request(beast::tcp_stream& stream, int status, std::string_view msg,
                                     std::string_view code, double seconds) {
    std::string id = next_request_id();
    Response r = hooks_.error_body(status, msg, code);
    co_await write_response(stream, r, false, id);
    complete(nullptr, id, status, r.body.size(), seconds);
  }

  // Writes the events of an async handler's Responder; returns whether the connection can
  // carry another request.
  asio::awaitable<bool> pump(const std::shared_ptr<Connection>& conn,
                             const std::shared_ptr<ResponderState>& shared_state,
                             const Request& req, bool keep_alive, int* status, uint64_t* bytes) {
    auto& stream = conn->stream;
    ResponderState& state = *shared_state;
    // A client that goes away while the answer is prepared is noticed now, not at the next
    // write (minutes away behind a slow upstream, with the caller's concurrency slot and
    // token reservation held meanwhile): its socket is watched, and its end cancels the work
    // and wakes this pump. The bytes of a pipelined next request end the watch, unread.
    stream.socket().async_wait(
        tcp::socket::wait_read, [conn, weak = std::weak_ptr<ResponderState>(shared_state)](
                                    const boost::system::error_code& ec) {
          if (ec) return;  // the answer is done (cancelled below) or the socket closed
          boost::system::error_code unread_ec;
          size_t unread = conn->stream.socket().available(unread_ec);
          if (!unread_ec && unread > 0) return;  // a next request, not the end
          if (auto s = weak.lock()) s->cancel();
          conn->doorbell.cancel();
        });
    struct StopWatching {
      beast::tcp_stream& stream;
      ~StopWatching() {
        boost::system::error_code ignored;
        stream.socket().cancel(ignored);
      }
    } stop_watching{stream};
    // The posted wake-up holds the connection: it may run after this frame is gone, or ring
    // during a later answer, which then looks for events, finds none and waits again.
    state.set_waker(
        [conn] { asio::post(conn->stream.get_executor(), [conn] { conn->doorbell.cancel(); }); });
    // Runs however the frame ends, including when a forced stop destroys it.
    struct Detach {
      ResponderState& state;
      bool completed = false;
      ~Detach() { state.detach(completed); }
    } detach{state};
    std::optional<bhttp::response<bhttp::empty_body>> head;
    std::optional<bhttp::response_serializer<bhttp::empty_body>> serializer;
    auto failed = [&state] {
      state.cancel();
      return false;
    };
    for (;;) {
      std::vector<Event> events = state.take();
      if (events.empty()) {
        if (state.cancelled()) {  // the client went away
          if (*status == 0) *status = 499;
          co_return false;
        }
        conn->doorbell.expires_at(asio::steady_timer::time_point::max());
        co_await conn->doorbell.async_wait(USE_NOTHROW);
        continue;
      }
      for (Event& e : events) {
        switch (e.kind) {
          case Event::Kind::RESPONSE:
            *status = e.response.status;
            *bytes = e.response.body.size();
            if (!co_await write_response(stream, e.response, keep_alive, req.request_id)) {
              co_return failed();
            }
            detach.completed = true;
            co_return keep_alive;
          case Event::Kind::HEAD: {
            *status = e.response.status;
            head.emplace();
            head->version(11);
            head->result(static_cast<unsigned>(e.response.status));
            for (const auto& [k, v] : e.response.headers)
              head->set(k, v);
            head->set("x-request-id", req.request_id);
            head->keep_alive(keep_alive);
            head->chunked(true);
            serializer.emplace(*head);
            stream.expires_after(ms(options_.write_timeout_ms));
            auto [ec, n] = co_await bhttp::async_write_header(stream, *serializer, USE_NOTHROW);
            if (ec) co_return failed();
            break;
          }
          case Event::Kind::CHUNK: {
            *bytes += e.chunk.size();
            stream.expires_after(ms(options_.write_timeout_ms));
            auto [ec, n] = co_await asio::async_write(
                stream, bhttp::make_chunk(asio::buffer(e.chunk)), USE_NOTHROW);
            if (ec) co_return failed();
            break;
          }
          case Event::Kind::END: {
            stream.expires_after(ms(options_.write_timeout_ms));
            auto [ec, n] =
                co_await asio::async_write(stream, bhttp::make_chunk_last(), USE_NOTHROW);
            if (ec) co_return failed();
            detach.completed = true;
            co_return keep_alive;
          }
          case Event::Kind::ABORT:
            if (!head) {
              Response r = hooks_.error_body(500, "the server failed to produce an answer",
                                             "internal_error");
              *status = 500;
              *bytes = r.body.size();
              co_await write_response(stream, r, false, req.request_id);
            }
            // A started stream is cut without its last chunk: the client sees it truncated.
            state.cancel();
            co_return false;
        }
      }
    }
  }

  Response dispatch_error(const Match& m, const Request& req) {
    if (m.kind == MatchKind::METHOD_NOT_ALLOWED) {
      Response r = hooks_.error_body(
          405, "method " + req.method + " is not allowed on " + req.path + "; use " + m.allowed,
          "method_not_allowed");
      r.set_header("allow", m.allowed);
      return r;
    }
    return hooks_.error_body(
        404, "no route for " + req.method + " " + req.path + " (docs/api.md lists the routes)",
        "not_found");
  }

  asio::awaitable<void> session(std::shared_ptr<Connection> conn) {
    auto& stream = conn->stream;
    beast::flat_buffer buffer;
    std::string remote;
    {
      boost::system::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    for (;;) {
      conn->busy = false;
      if (draining_.load()) break;
      if (buffer.size() == 0) {
        stream.expires_after(ms(options_.idle_timeout_ms));
        auto [ec, n] =
            co_await stream.async_read_some(buffer.prepare(FIRST_READ_BYTES), USE_NOTHROW);
        if (ec) break;  // idle timeout, closed by the peer, or woken by the drain
        buffer.commit(n);
      }
      conn->busy = true;
      auto t0 = std::chrono::steady_clock::now();
      auto elapsed = [t0] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      };

      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
      parser.body_limit(boost::none);  // checked per route below
      // The request timeout cancels the read rather than expiring the stream: a tcp_stream
      // closes its socket on expiry, and the client is owed a 408.
      stream.expires_never();
      uint64_t this_request = ++conn->requests;
      conn->timed_out = false;
      asio::steady_timer deadline(stream.get_executor(), ms(options_.request_timeout_ms));
      deadline.async_wait([conn, this_request](const boost::system::error_code& ec) {
        if (ec || conn->requests != this_request) return;
        conn->timed_out = true;
        boost::system::error_code ignored;
        conn->stream.socket().cancel(ignored);
      });
      auto read_error = [&conn](const boost::system::error_code& ec) {
        return conn->timed_out ? boost::system::error_code(beast::error::timeout) : ec;
      };
      auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, USE_NOTHROW);
      if (hec) {
        co_await read_failed(stream, read_error(hec), elapsed());
        break;
      }

      Request req;
      auto& h = parser.get();
      req.method = std::string(h.method_string());
      req.target = std::string(h.target());
      size_t q = req.target.find('?');
      req.path = req.target.substr(0, q);
      if (q != std::string::npos) req.query = req.target.substr(q + 1);
      req.headers.reserve(static_cast<size_t>(std::distance(h.begin(), h.end())));
      for (const auto& field : h) {
        std::string name(field.name_string());
        for (char& c : name)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        req.headers.emplace_back(std::move(name), std::string(field.value()));
      }
      auto client_id = req.header("x-request-id");
      req.request_id =
          client_id && valid_request_id(*client_id) ? std::string(*client_id) : next_request_id();
      req.remote = remote;

      Match m = router_.match(req.method, req.path);
      int64_t limit = options_.max_body_bytes;
      if (m.route != nullptr && m.route->options.max_body_bytes > 0) {
        limit = m.route->options.max_body_bytes;
      }
      if (parser.content_length() && *parser.content_length() > static_cast<uint64_t>(limit)) {
        co_await fail_with(stream, req, 413,
                           "the request body is " + std::to_string(*parser.content_length()) +
                               " bytes; the limit here is " + std::to_string(limit),
                           "payload_too_large", elapsed());
        break;
      }
      if (!parser.is_done()) {
        auto expect = req.header("expect");
        if (expect && beast::iequals(*expect, "100-continue")) {
          bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
          auto [cec, cn] = co_await bhttp::async_write(stream, cont, USE_NOTHROW);
          if (cec) break;
        }
        parser.body_limit(static_cast<uint64_t>(limit));
        auto [bec_raw, bn] = co_await bhttp::async_read(stream, buffer, parser, USE_NOTHROW);
        boost::system::error_code bec = bec_raw ? read_error(bec_raw) : bec_raw;
        if (bec) {
          if (bec == bhttp::error::body_limit) {
            co_await fail_with(
                stream, req, 413,
                "the request body is over the limit of " + std::to_string(limit) + " bytes",
                "payload_too_large", elapsed());
          } else {
            co_await read_failed(stream, bec, elapsed());
          }
          break;
        }
      }
      deadline.cancel();
      req.body = std::move(parser.get().body());
      bool keep_alive = parser.get().keep_alive() && !draining_.load();

      int status = 0;
      uint64_t bytes = 0;
      bool carry_on = false;
      if (m.kind != MatchKind::FOUND) {
        Response r = dispatch_error(m, req);
        status = r.status;
        bytes = r.body.size();
        carry_on = co_await write_response(stream, r, keep_alive, req.request_id) && keep_alive;
      } else if (m.route->handler) {
        req.route = m.route->pattern;
        req.params = std::move(m.params);
        Response r = call_handler(*m.route, req);
        status = r.status;
        bytes = r.body.size();
        carry_on = co_await write_response(stream, r, keep_alive, req.request_id) && keep_alive;
      } else {
        req.route = m.route->pattern;
        req.params = std::move(m.params);
        auto state = std::make_shared<ResponderState>();
        call_async_handler(*m.route, req, std::make_shared<ResponderHandle>(state));
        carry_on = co_await pump(conn, state, req, keep_alive, &status, &bytes);
      }
      complete(&req, req.request_id, status, bytes, elapsed());
      if (!carry_on) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  // The request id is set for the handler's log lines only while it runs on this thread: a
  // coroutine may resume on another thread, so no thread-local scope spans a co_await.
  Response call_handler(const Route& route, Request& req) {
    log::ScopedRequestId scoped(req.request_id);
    try {
      return route.handler(req);
    } catch (const std::exception& e) {
      log::error("handler threw", {{"route", route.pattern}, {"what", e.what()}});
    }
    return hooks_.error_body(500, "internal error; the request id is in the logs",
                             "internal_error");
  }

  void call_async_handler(const Route& route, Request& req, ResponderPtr responder) {
    log::ScopedRequestId scoped(req.request_id);
    try {
      route.async_handler(req, std::move(responder));
    } catch (const std::exception& e) {
      // The Responder's destructor has answered 500 if nothing was sent.
      log::error("handler threw", {{"route", route.pattern}, {"what", e.what()}});
    }
  }

  asio::awaitable<void> fail_with(beast::tcp_stream& stream, const Request& req, int status,
                                  std::string msg, std::string_view code, double seconds) {
    Response r = hooks_.error_body(status, msg, code);
    co_await write_response(stream, r, false, req.request_id);
    complete(&req, req.request_id, status, r.body.size(), seconds);
  }

  // A request that could not be read: answer what can be answered, then close.
  asio::awaitable<void> read_failed(beast::tcp_stream& stream, const boost::system::error_code& ec,
                                    double seconds) {
    if (ec == bhttp::error::header_limit) {
      co_await fail_request(stream, 431,
                            "the request line and headers exceed " +
                                std::to_string(options_.max_header_bytes) + " bytes",
                            "request_header_fields_too_large", seconds);
    } else if (ec == bhttp::error::body_limit) {
      co_await fail_request(stream, 413, "the request body is over the limit", "payload_too_large",
                            seconds);
    } else if (ec == beast::error::timeout) {
      co_await fail_request(stream, 408,
                            "the request was not received within " +
                                std::to_string(options_.request_timeout_ms) + " ms",
                            "request_timeout", seconds);
    } else if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
               ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      // The client went away mid-request: nobody to answer.
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      co_await fail_request(stream, 400, "malformed HTTP request: " + ec.message(), "bad_request",
                            seconds);
    }
  }

  ServerOptions options_;
  const Router& router_;
  ServerHooks hooks_;
  std::unique_ptr<IoPool> own_pool_;  // when no pool was given; before the objects on it
  IoPool& pool_;
  Strand control_;  // the acceptor, the signals, the drain and the grace timer live here
  tcp::acceptor acceptor_;
  asio::steady_timer grace_timer_;
  std::optional<asio::signal_set> signals_;
  uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<size_t> open_{0};
  bool started_ = false;  // run() was called
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool done_ = false;  // guarded by done_mu_: run() may return
  std::mutex conns_mu_;
  std::list<std::weak_ptr<Connection>> conns_;  // guarded by conns_mu_
};

}  // namespace

Result<std::unique_ptr<Server>> Server::create(ServerOptions options, const Router& router,
                                               ServerHooks hooks, IoPool* pool) {
  auto server = std::make_unique<ServerImpl>(std::move(options), router, std::move(hooks), pool);
  SOCLE_RETURN_IF_ERROR(server->listen());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace socle::http
