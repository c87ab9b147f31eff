// The one translation unit with Boost.Beast's client side and Asio's TLS. Each call is a
// coroutine on one single-threaded loop (an IoPool's), and so are its connections: the
// idle connections are kept per loop and touched only by that loop's thread, without locks.
#include "http/client.h"

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <future>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <variant>

#include "base/log.h"

namespace socle::http {

std::string Endpoint::authority() const {
  return host + ":" + std::to_string(port);
}

Result<Endpoint> parse_base_url(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return invalid_argument("'" + std::string(url) + "' is not an absolute URL");
  const auto& u = *parsed;
  Endpoint e;
  if (u.scheme() == "https") {
    e.tls = true;
  } else if (u.scheme() != "http") {
    return invalid_argument("'" + std::string(url) + "' must start with http:// or https://");
  }
  e.host = std::string(u.host_address());
  if (e.host.empty()) return invalid_argument("'" + std::string(url) + "' has no host");
  if (u.has_port()) {
    if (u.port_number() == 0) return invalid_argument("'" + std::string(url) + "' has a bad port");
    e.port = u.port_number();
  } else {
    e.port = e.tls ? 443 : 80;
  }
  if (u.has_query() || u.has_fragment()) {
    return invalid_argument("'" + std::string(url) + "' must not carry a query or fragment");
  }
  e.base_path = std::string(u.encoded_path());
  while (!e.base_path.empty() && e.base_path.back() == '/')
    e.base_path.pop_back();
  return e;
}

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto USE_NOTHROW = asio::as_tuple(asio::use_awaitable);
// Body bytes read per on_body call at most.
constexpr size_t READ_CHUNK_BYTES = size_t{16} * 1024;
// Room for a request's line and headers, so that writing them does not reallocate.
constexpr size_t REQUEST_HEAD_RESERVE = 256;
// Interim (1xx) answers skipped before the final one; more is a misbehaving upstream.
constexpr int MAX_INTERIM_RESPONSES = 8;

using TcpStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

std::chrono::milliseconds ms(int64_t v) {
  return std::chrono::milliseconds(std::max<int64_t>(v, 1));
}

// One connection to one upstream, plain or TLS, with the bytes read past the last response.
struct Conn {
  std::string pool_key;
  std::string chunk;  // where body bytes are read, READ_CHUNK_BYTES once allocated
  std::variant<std::unique_ptr<TcpStream>, std::unique_ptr<TlsStream>> stream;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;

  TcpStream& tcp() {
    if (auto* p = std::get_if<std::unique_ptr<TcpStream>>(&stream)) return **p;
    return beast::get_lowest_layer(*std::get<std::unique_ptr<TlsStream>>(stream));
  }
  asio::any_io_executor executor() { return tcp().get_executor(); }
};

std::string pool_key_of(const Endpoint& e) {
  return (e.tls ? "https|" : "http|") + e.authority() + "|" + e.ca_file;
}

class CallState;

// Idle keep-alive connections of one loop, by pool key. Touched on that loop's thread only.
using IdleConns = std::unordered_map<std::string, std::vector<std::unique_ptr<Conn>>>;

class ClientImpl final : public HttpClient {
 public:
  ClientImpl(ClientOptions options, IoPool* shared)
      : options_(options),
        shared_(shared),
        own_(std::make_unique<IoPool>(shared != nullptr ? 1 : options.io_threads)) {
    idle_.resize(static_cast<size_t>(shared_loops()) + static_cast<size_t>(own_->size()));
  }
  ~ClientImpl() override {
    SOCLE_CHECK(shared_ == nullptr || shared_->stopped(),
                "a client on a shared pool is destroyed after the pool stopped");
    // No handler may run while the idle connections and this object go away.
    own_->stop();
  }

  std::shared_ptr<ClientCall> start(ClientRequest request,
                                    std::shared_ptr<ClientHandler> handler) override;
  Result<ClientReply> fetch(ClientRequest request) override;

  // A pooled connection of loop `slot` for the endpoint, if a fresh enough one is idle.
  // On that loop's thread.
  std::unique_ptr<Conn> take_idle(int slot, const std::string& key) {
    IdleConns& idle = idle_[static_cast<size_t>(slot)];
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    auto now = std::chrono::steady_clock::now();
    while (!it->second.empty()) {
      std::unique_ptr<Conn> c = std::move(it->second.back());
      it->second.pop_back();
      if (now - c->idle_since < std::chrono::milliseconds(options_.idle_timeout_ms)) return c;
    }
    return nullptr;
  }

  // On loop `slot`'s thread, which the connection belongs to.
  void give_back(int slot, std::unique_ptr<Conn> c) {
    c->idle_since = std::chrono::steady_clock::now();
    auto& list = idle_[static_cast<size_t>(slot)][c->pool_key];
    if (list.size() < options_.max_idle_per_host) list.push_back(std::move(c));
  }

  Result<std::shared_ptr<ssl::context>> tls_context(const std::string& ca_file) {
    std::lock_guard lock(tls_mu_);
    auto it = tls_.find(ca_file);
    if (it != tls_.end()) return it->second;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    if (ca_file.empty()) {
      ctx->set_default_verify_paths(ec);
    } else {
      ctx->load_verify_file(ca_file, ec);
    }
    if (ec) {
      return unavailable("cannot load TLS trust " + (ca_file.empty() ? "(system store)" : ca_file) +
                         ": " + ec.message());
    }
    ctx->set_verify_mode(ssl::verify_peer);
    tls_.emplace(ca_file, ctx);
    return ctx;
  }

 private:
  int shared_loops() const { return shared_ != nullptr ? shared_->size() : 0; }
  // Starts a call on loop `slot`: the shared pool's loops first, then the client's own.
  std::shared_ptr<ClientCall> start_on(int slot, ClientRequest request,
                                       std::shared_ptr<ClientHandler> handler);

  ClientOptions options_;
  IoPool* shared_;
  std::unique_ptr<IoPool> own_;  // before the connections that live on its loops
  std::vector<IdleConns> idle_;  // per slot
  std::mutex tls_mu_;
  std::map<std::string, std::shared_ptr<ssl::context>> tls_;  // by CA file; guarded
};

class CallState final : public ClientCall, public std::enable_shared_from_this<CallState> {
 public:
  CallState(ClientImpl& client, int slot, asio::io_context& loop, ClientRequest request,
            std::shared_ptr<ClientHandler> handler)
      : client_(client),
        slot_(slot),
        executor_(loop.get_executor()),
        req_(std::move(request)),
        handler_(std::move(handler)) {}

  void cancel() override {
    cancelled_ = true;
    auto self = shared_from_this();
    asio::post(executor_, [self] {
      if (self->active_ != nullptr) self->active_->tcp().cancel();
    });
  }

  void begin() {
    deadline_ = std::chrono::steady_clock::now() + ms(req_.total_timeout_ms);
    // The coroutine holds the call alive: callers may drop their reference at once.
    asio::co_spawn(executor_, run(shared_from_this()), asio::detached);
  }

 private:
  int64_t remaining_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ -
                                                                 std::chrono::steady_clock::now())
        .count();
  }

  asio::awaitable<Result<std::unique_ptr<Conn>>> connect(std::string pool_key) {
    const Endpoint& e = req_.endpoint;
    auto conn = std::make_unique<Conn>();
    conn->pool_key = std::move(pool_key);
    tcp::resolver resolver(executor_);
    auto [rec, results] =
        co_await resolver.async_resolve(e.host, std::to_string(e.port), USE_NOTHROW);
    if (rec) co_return unavailable("cannot resolve " + e.host + ": " + rec.message());
    auto tcp_stream = std::make_unique<TcpStream>(executor_);
    tcp_stream->expires_after(ms(std::min(req_.connect_timeout_ms, remaining_ms())));
    auto [cec, ep] = co_await tcp_stream->async_connect(results, USE_NOTHROW);
    if (cec) {
      if (cec == beast::error::timeout) {
        co_return Status(StatusCode::DEADLINE_EXCEEDED,
                         "connecting to " + e.authority() + " timed out after " +
                             std::to_string(req_.connect_timeout_ms) + " ms");
      }
      co_return unavailable("cannot connect to " + e.authority() + ": " + cec.message());
    }
    tcp_stream->socket().set_option(tcp::no_delay(true));
    if (!e.tls) {
      conn->stream = std::move(tcp_stream);
      co_return conn;
    }
    Result<std::shared_ptr<ssl::context>> trust = client_.tls_context(e.ca_file);
    if (!trust.is_ok()) co_return trust.status();
    std::shared_ptr<ssl::context> ctx = *trust;
    auto tls = std::make_unique<TlsStream>(std::move(*tcp_stream), *ctx);
    tls_context_ = ctx;  // keep it alive as long as the stream
    if (!SSL_set_tlsext_host_name(tls->native_handle(), e.host.c_str())) {
      co_return unavailable("cannot set the TLS server name " + e.host);
    }
    tls->set_verify_callback(ssl::host_name_verification(e.host));
    beast::get_lowest_layer(*tls).expires_after(
        ms(std::min(req_.connect_timeout_ms, remaining_ms())));
    auto [hec] = co_await tls->async_handshake(ssl::stream_base::client, USE_NOTHROW);
    if (hec) {
      co_return unavailable("TLS handshake with " + e.authority() + " failed: " + hec.message());
    }
    conn->stream = std::move(tls);
    co_return conn;
  }

  // One attempt on one connection. Sets *retry when the failure happened on a reused
  // connection before any response byte: the upstream had closed it while idle.
  template <typename Stream>
  asio::awaitable<Status> exchange(Conn& conn, Stream& stream, const std::string& head, bool reused,
                                   bool* retry, bool* reusable) {
    conn.tcp().expires_after(ms(remaining_ms()));
    std::array<asio::const_buffer, 2> request{asio::buffer(head), asio::buffer(req_.body)};
    auto [wec, wn] = co_await asio::async_write(stream, request, USE_NOTHROW);
    if (wec) {
      *retry = reused && !cancelled_;
      co_return failure("sending the request", wec);
    }

    // Interim answers (100 Continue, 103 Early Hints) come before the final one and are
    // skipped: passed on, the final answer would stay unread and answer the next request.
    std::optional<bhttp::response_parser<bhttp::buffer_body>> interim;
    for (int heads = 0;; ++heads) {
      interim.emplace();
      interim->body_limit(boost::none);
      conn.tcp().expires_after(ms(std::min(req_.first_byte_timeout_ms, remaining_ms())));
      auto [hec, hn] =
          co_await bhttp::async_read_header(stream, conn.buffer, *interim, USE_NOTHROW);
      if (hec) {
        *retry = reused && !cancelled_ && hec != beast::error::timeout && heads == 0;
        if (hec == beast::error::timeout) {
          co_return Status(StatusCode::DEADLINE_EXCEEDED,
                           req_.endpoint.authority() + " sent no response within " +
                               std::to_string(req_.first_byte_timeout_ms) + " ms");
        }
        co_return failure("reading the response head", hec);
      }
      unsigned code = interim->get().result_int();
      if (code < 100 || code >= 200) break;
      if (code == 101 || heads >= MAX_INTERIM_RESPONSES) {
        co_return unavailable(req_.endpoint.authority() + " answered " + std::to_string(code) +
                              (code == 101 ? " (switching protocols)" : " too many times") +
                              " instead of a final response");
      }
    }
    bhttp::response_parser<bhttp::buffer_body>& parser = *interim;
    Headers headers;
    headers.reserve(static_cast<size_t>(std::distance(parser.get().begin(), parser.get().end())));
    for (const auto& f : parser.get()) {
      std::string name(f.name_string());
      for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers.emplace_back(std::move(name), std::string(f.value()));
    }
    handler_->on_head(static_cast<int>(parser.get().result_int()), std::move(headers));

    std::string& chunk = conn.chunk;
    if (chunk.size() != READ_CHUNK_BYTES) chunk.resize(READ_CHUNK_BYTES);
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      conn.tcp().expires_after(ms(remaining_ms()));
      // read_some, not read: each piece goes on as soon as it arrives (a stream's tokens).
      auto [bec, bn] = co_await bhttp::async_read_some(stream, conn.buffer, parser, USE_NOTHROW);
      if (bec == bhttp::error::need_buffer) bec = {};
      size_t got = chunk.size() - parser.get().body().size;
      if (got > 0 && !handler_->on_body(std::string_view(chunk.data(), got))) {
        co_return Status(StatusCode::CANCELLED, "the receiver stopped reading");
      }
      if (bec) co_return failure("reading the response body", bec);
    }
    // Bytes already read past this answer belong to no request: a connection holding them
    // would hand them to the next one as its answer (another user's, perhaps).
    *reusable = parser.get().keep_alive() && conn.buffer.size() == 0;
    co_return Status::ok();
  }

  // Whether an idle connection has nothing unread: bytes that arrived while it waited answer
  // no request of ours (an upstream that sent more than one answer), so it is not reused.
  static bool quiet(Conn& conn) {
    boost::system::error_code ec;
    size_t unread = conn.tcp().socket().available(ec);
    if (ec || unread != 0 || conn.buffer.size() != 0) return false;
    // A TLS stream may hold bytes read from the socket: decrypted ones, and records not yet
    // decrypted in the read BIO.
    if (auto* tls = std::get_if<std::unique_ptr<TlsStream>>(&conn.stream)) {
      SSL* ssl = (*tls)->native_handle();
      if (SSL_pending(ssl) > 0 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0) return false;
    }
    return true;
  }

  Status failure(const char* during, const boost::system::error_code& ec) const {
    if (cancelled_) return {StatusCode::CANCELLED, "the call was cancelled"};
    if (ec == beast::error::timeout) {
      return {StatusCode::DEADLINE_EXCEEDED, req_.endpoint.authority() + " did not finish within " +
                                                 std::to_string(req_.total_timeout_ms) + " ms"};
    }
    return unavailable(std::string(during) + " to " + req_.endpoint.authority() + ": " +
                       ec.message());
  }

  // The request line and headers as Beast would write them (Host without the port,
  // Content-Length unless a GET-like request has no body), by hand: Beast's message and
  // serializer cost several allocations a request. Built once: a retry sends the same bytes.
  std::string request_head() const {
    std::string head;
    head.reserve(REQUEST_HEAD_RESERVE);
    head.append(req_.method).append(" ").append(req_.target).append(" HTTP/1.1\r\n");
    head.append("Host: ").append(req_.endpoint.host).append("\r\n");
    append_header_lines(&head, req_.headers,
                        {"host", "content-length", "transfer-encoding", "connection"});
    bool sized = !req_.body.empty() || req_.method == "POST" || req_.method == "PUT" ||
                 req_.method == "OPTIONS";
    if (sized) head.append("Content-Length: ").append(std::to_string(req_.body.size()));
    head.append(sized ? "\r\n\r\n" : "\r\n");
    return head;
  }

  asio::awaitable<void> run(std::shared_ptr<CallState> /*self*/) {
    // The handler may hold this call (a relay holds it to cancel it): release it however the
    // coroutine ends, also when a stopped loop destroys it unfinished at shutdown, or the
    // two would keep each other alive.
    struct ReleaseHandler {
      CallState& call;
      ~ReleaseHandler() { call.handler_.reset(); }
    } release{*this};
    const std::string head = request_head();

    std::string key = pool_key_of(req_.endpoint);
    std::unique_ptr<Conn> pooled = client_.take_idle(slot_, key);
    if (pooled && !quiet(*pooled)) pooled.reset();
    Status result;
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool reused = pooled != nullptr;
      std::unique_ptr<Conn> conn = std::move(pooled);
      if (!conn) {
        Result<std::unique_ptr<Conn>> made = co_await connect(key);
        if (!made.is_ok()) {
          result =
              cancelled_ ? Status(StatusCode::CANCELLED, "the call was cancelled") : made.status();
          break;
        }
        conn = std::move(made).value();
      }
      active_ = conn.get();
      bool retry = false;
      bool reusable = false;
      if (auto* p = std::get_if<std::unique_ptr<TcpStream>>(&conn->stream)) {
        result = co_await exchange(*conn, **p, head, reused, &retry, &reusable);
      } else {
        result = co_await exchange(*conn, *std::get<std::unique_ptr<TlsStream>>(conn->stream), head,
                                   reused, &retry, &reusable);
      }
      active_ = nullptr;
      if (result.is_ok() && reusable && !cancelled_) {
        conn->tcp().expires_never();
        client_.give_back(slot_, std::move(conn));
      }
      if (!retry) break;
    }
    handler_->on_done(std::move(result));
  }

  ClientImpl& client_;
  int slot_;  // which loop, and which of the client's idle lists
  asio::any_io_executor executor_;
  ClientRequest req_;
  std::shared_ptr<ClientHandler> handler_;
  std::chrono::steady_clock::time_point deadline_;
  std::shared_ptr<ssl::context> tls_context_;
  Conn* active_ = nullptr;  // the connection in use; touched on executor_ only
  std::atomic<bool> cancelled_{false};
};

std::shared_ptr<ClientCall> ClientImpl::start_on(int slot, ClientRequest request,
                                                 std::shared_ptr<ClientHandler> handler) {
  int shared = shared_loops();
  asio::io_context& loop = slot < shared ? shared_->loop(slot) : own_->loop(slot - shared);
  auto call =
      std::make_shared<CallState>(*this, slot, loop, std::move(request), std::move(handler));
  call->begin();
  return call;
}

std::shared_ptr<ClientCall> ClientImpl::start(ClientRequest request,
                                              std::shared_ptr<ClientHandler> handler) {
  int slot = shared_ != nullptr ? shared_->current_loop() : -1;
  if (slot < 0) slot = shared_loops() + own_->next_loop();
  return start_on(slot, std::move(request), std::move(handler));
}

// Collects a whole response for fetch().
class CollectingHandler final : public ClientHandler {
 public:
  void on_head(int status, Headers headers) override {
    reply_.status = status;
    reply_.headers = std::move(headers);
  }
  bool on_body(std::string_view chunk) override {
    reply_.body += chunk;
    return true;
  }
  void on_done(Status status) override {
    if (status.is_ok()) {
      done_.set_value(std::move(reply_));
    } else {
      done_.set_value(std::move(status));
    }
  }
  std::future<Result<ClientReply>> future() { return done_.get_future(); }

 private:
  ClientReply reply_;
  std::promise<Result<ClientReply>> done_;
};

Result<ClientReply> ClientImpl::fetch(ClientRequest request) {
  // Never on the caller's loop: it waits below, and the call would wait for it.
  auto handler = std::make_shared<CollectingHandler>();
  auto future = handler->future();
  start_on(shared_loops() + own_->next_loop(), std::move(request), handler);
  return future.get();
}

}  // namespace

std::unique_ptr<HttpClient> HttpClient::create(ClientOptions options, IoPool* shared) {
  return std::make_unique<ClientImpl>(options, shared);
}

}  // namespace socle::http
