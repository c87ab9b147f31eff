// The HTTP/1.1 client (Boost.Beast on Asio, in client.cc alone): connection pools per
// upstream and per loop, TLS with certificate and host-name verification (the system store
// or a given CA file), keep-alive, and connect, first-byte and total timeouts. Responses
// stream to a handler as they arrive, so that a relay never buffers a whole answer.
//
// Where calls run: a call started from a thread of the shared IoPool (the server's) runs on
// that thread's loop, so that a relay never leaves its connection's thread; every other
// call (health checks, background work, fetch()) runs on the client's own loops.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "http/io_pool.h"
#include "http/message.h"

namespace socle::http {

// Where to connect: parsed from a base URL such as "https://api.example.eu:8443/v1".
struct Endpoint {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string base_path;  // without a trailing slash: "/v1", or ""
  std::string ca_file;    // TLS trust: this PEM file instead of the system store, if set

  std::string authority() const;  // "host:port"
};

// Accepts http:// and https:// URLs with an optional port and path; no query or fragment.
Result<Endpoint> parse_base_url(std::string_view url);

struct ClientRequest {
  Endpoint endpoint;
  std::string method = "POST";
  std::string target;  // path and query, e.g. "/v1/chat/completions"
  Headers headers;     // lowercase names; Host and Content-Length are set by the client
  std::string body;
  int64_t connect_timeout_ms = 5'000;      // TCP connect and TLS handshake
  int64_t first_byte_timeout_ms = 60'000;  // from the request sent to the response head
  int64_t total_timeout_ms = 600'000;      // the whole exchange
};

// Receives one response. Calls come from the loop the call runs on, in order: on_head at
// most once, on_body zero or more times, then on_done exactly once, also after cancel().
class ClientHandler {
 public:
  virtual ~ClientHandler() = default;
  virtual void on_head(int status, Headers headers) = 0;
  // Returns false to stop reading: the call then ends with CANCELLED. `chunk` is valid
  // during the call only.
  virtual bool on_body(std::string_view chunk) = 0;
  // OK when the whole response arrived. UNAVAILABLE: could not connect, TLS failed, the
  // peer closed or sent a malformed response; DEADLINE_EXCEEDED: a timeout; CANCELLED.
  virtual void on_done(Status status) = 0;
};

class ClientCall {
 public:
  virtual ~ClientCall() = default;
  // Abandons the exchange and closes its connection; on_done follows with CANCELLED.
  virtual void cancel() = 0;
};

struct ClientOptions {
  int io_threads = 2;                // loops of the client's own pool; 1 beside a shared pool
  size_t max_idle_per_host = 64;     // idle keep-alive connections kept per upstream
  int64_t idle_timeout_ms = 30'000;  // an idle pooled connection older than this is dropped
};

struct ClientReply {
  int status = 0;
  Headers headers;
  std::string body;
};

class HttpClient {
 public:
  // With `shared` (the server's pool), calls started on its threads run there; the pool
  // must then outlive the client and be stopped before the client is destroyed.
  static std::unique_ptr<HttpClient> create(ClientOptions options, IoPool* shared = nullptr);
  virtual ~HttpClient() = default;

  virtual std::shared_ptr<ClientCall> start(ClientRequest request,
                                            std::shared_ptr<ClientHandler> handler) = 0;

  // Blocks until the whole response arrived (health checks, embeddings, tests). It runs on
  // the client's own loops, so a thread of the shared pool may call it (and waits meanwhile);
  // never call it from a ClientHandler.
  virtual Result<ClientReply> fetch(ClientRequest request) = 0;
};

}  // namespace socle::http
