#include "providers/relay.h"

#include <boost/json/serialize.hpp>
#include <mutex>

#include "base/json.h"
#include "base/log.h"
#include "http/sse.h"

namespace socle::providers {
namespace {

// A non-streamed upstream answer larger than this is refused rather than buffered.
constexpr size_t MAX_BUFFERED_ANSWER_BYTES = 64u << 20;

bool retryable_status(int status) {
  return status == 429 || status >= 500;
}

std::string error_json(std::string_view message, std::string_view type, std::string_view code) {
  return "{\"error\":{\"message\":" + json::quoted(message) + ",\"type\":" + json::quoted(type) +
         ",\"param\":null,\"code\":" + json::quoted(code) + "}}";
}

class Relay final : public http::ClientHandler, public std::enable_shared_from_this<Relay> {
 public:
  Relay(RelayRequest request, const RelayContext& context, http::ResponderPtr responder)
      : req_(std::move(request)), ctx_(context), out_(std::move(responder)) {
    stream_ = req_.adapter->stream();
    client_wants_usage_ = req_.adapter->client_wants_usage();
    // Only streams read server-sent events (on_body and finish_stream need committed_).
    if (stream_) sse_ = std::make_unique<SseUsageParser>(client_wants_usage_);
    start_ms_ = ctx_.clock.monotonic_ms();
  }

  void begin() {
    std::weak_ptr<Relay> weak = weak_from_this();
    out_->on_cancel([weak] {
      if (auto self = weak.lock()) self->cancel();
    });
    next_attempt();
  }

  void on_head(int status, http::Headers headers) override {
    upstream_status_ = status;
    upstream_headers_ = std::move(headers);
    if (stream_ && status >= 200 && status < 300 && is_event_stream()) {
      committed_ = true;
      http::Headers h = {{"content-type", "text/event-stream"},
                         {"cache-control", "no-cache"},
                         {"x-accel-buffering", "no"}};
      h.insert(h.end(), req_.response_headers.begin(), req_.response_headers.end());
      out_->start_stream(200, std::move(h));
      if (!req_.first_event.empty()) out_->write(req_.first_event);
    }
  }

  bool on_body(std::string_view chunk) override {
    if (committed_ && stream_) {
      if (first_byte_ms_ == 0) first_byte_ms_ = ctx_.clock.monotonic_ms();
      std::string forward;
      sse_->feed(chunk, &forward);
      return out_->write(std::move(forward));
    }
    if (buffer_.size() + chunk.size() > MAX_BUFFERED_ANSWER_BYTES) {
      too_large_ = true;
      return false;
    }
    buffer_ += chunk;
    return !out_->cancelled();
  }

  void on_done(Status status) override {
    {
      std::lock_guard lock(mu_);
      call_.reset();  // the call holds this relay as its handler: break the cycle
    }
    if (too_large_) {
      status = unavailable("the upstream's answer exceeds " +
                           std::to_string(MAX_BUFFERED_ANSWER_BYTES) + " bytes");
      too_large_ = false;
    }
    bool upstream_fault = !status.is_ok() && status.code() != StatusCode::CANCELLED;
    if (status.is_ok() && !committed_ && retryable_status(upstream_status_)) upstream_fault = true;
    if (status.is_ok() && !committed_ && stream_ && upstream_status_ >= 200 &&
        upstream_status_ < 300) {
      // A stream was asked for and something else came: the upstream is not fit for it.
      upstream_fault = true;
      status = unavailable("the upstream answered a stream request without text/event-stream");
    }
    if (status.is_ok() && !committed_ && !stream_ && upstream_status_ >= 200 &&
        upstream_status_ < 300) {
      // A malformed 2xx answer is the upstream's fault: another provider may do better.
      Result<std::string> answer = req_.adapter->answer(provider_->spec(), std::move(buffer_),
                                                        &prompt_tokens_, &completion_tokens_);
      buffer_.clear();
      if (!answer.is_ok()) {
        upstream_fault = true;
        status = answer.status();
      } else {
        buffer_ = std::move(answer).value();
      }
    }
    if (sse_) sse_->close();
    if (status.is_ok() && committed_ && sse_ && !sse_->saw_done() && upstream_status_ >= 200 &&
        upstream_status_ < 300) {
      // An OpenAI stream ends with data: [DONE]; without it the answer was cut short, even if
      // the connection ended cleanly.
      upstream_fault = true;
      status = unavailable("the upstream ended the stream without data: [DONE]");
    }
    double seconds = static_cast<double>(ctx_.clock.monotonic_ms() - attempt_start_ms_) / 1000.0;
    if (status.code() == StatusCode::CANCELLED) {
      provider_->release_unjudged();  // the client left: no word on the upstream's health
    } else {
      provider_->release(!upstream_fault, seconds);
    }
    if (upstream_fault) {
      log::warn("provider attempt failed",
                {{"provider", provider_->spec().name},
                 {"request_id", req_.request_id},
                 {"status", upstream_status_},
                 {"error", status.is_ok() ? "upstream status " + std::to_string(upstream_status_)
                                          : status.message()}});
    }
    if (committed_) {
      finish_stream(status);
      return;
    }
    if (status.code() == StatusCode::CANCELLED || out_->cancelled()) {
      record(499);
      return;
    }
    if (!upstream_fault) {
      answer_buffered();
      return;
    }
    last_error_ = status.is_ok() ? Status(StatusCode::UNAVAILABLE,
                                          "upstream answered " + std::to_string(upstream_status_))
                                 : status;
    last_error_status_ = status.is_ok() ? upstream_status_ : 0;
    last_error_body_ = std::move(buffer_);
    last_error_headers_ = std::move(upstream_headers_);
    next_attempt();
  }

 private:
  bool is_event_stream() const {
    for (const auto& [k, v] : upstream_headers_) {
      if (k == "content-type") return v.rfind("text/event-stream", 0) == 0;
    }
    return false;
  }

  void cancel() {
    std::shared_ptr<http::ClientCall> call;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      call = call_;
    }
    if (call) call->cancel();
  }

  void next_attempt() {
    Provider* p = attempts_ < ctx_.max_attempts ? req_.model->pick(tried_) : nullptr;
    if (p == nullptr) {
      give_up();
      return;
    }
    provider_ = p;
    tried_.push_back(p);
    ++attempts_;
    buffer_.clear();
    upstream_status_ = 0;
    upstream_headers_.clear();
    attempt_start_ms_ = ctx_.clock.monotonic_ms();

    const ProviderSpec& spec = p->spec();
    http::ClientRequest creq;
    creq.endpoint = spec.endpoint;
    creq.method = "POST";
    creq.target = spec.endpoint.base_path + req_.adapter->path(spec);
    creq.headers = {{"content-type", req_.adapter->content_type()},
                    {"accept", stream_ ? "text/event-stream" : "application/json"},
                    {"x-request-id", req_.request_id}};
    if (!spec.api_key.empty()) creq.headers.emplace_back("authorization", "Bearer " + spec.api_key);
    creq.body = req_.adapter->body(spec);
    creq.connect_timeout_ms = spec.connect_timeout_ms;
    creq.first_byte_timeout_ms = spec.first_byte_timeout_ms;
    creq.total_timeout_ms = spec.total_timeout_ms;
    std::shared_ptr<http::ClientCall> call = ctx_.client.start(std::move(creq), shared_from_this());
    bool cancel_now = false;
    {
      std::lock_guard lock(mu_);
      call_ = call;
      cancel_now = cancelled_;
    }
    if (cancel_now) call->cancel();
  }

  void give_up() {
    if (last_error_status_ != 0) {
      // Every provider refused: pass the last upstream answer on (a 429 keeps its Retry-After).
      http::Response r;
      r.status = last_error_status_;
      r.body = last_error_body_.empty()
                   ? error_json("the upstream answered " + std::to_string(last_error_status_),
                                "server_error", "upstream_error")
                   : last_error_body_;
      r.set_header("content-type", "application/json");
      for (const auto& [k, v] : last_error_headers_) {
        if (k == "retry-after") r.set_header(k, v);
      }
      send(std::move(r));
      return;
    }
    int status = 503;
    std::string message;
    std::string code = "model_unavailable";
    if (attempts_ == 0) {
      message = "no provider of model '" + req_.model->spec().name +
                "' can take the request now (unhealthy, circuit open or at max_in_flight); retry "
                "shortly";
    } else {
      status = last_error_.code() == StatusCode::DEADLINE_EXCEEDED ? 504 : 502;
      code = status == 504 ? "upstream_timeout" : "upstream_error";
      message = "model '" + req_.model->spec().name + "' failed after " +
                std::to_string(attempts_) + " attempt(s): " + last_error_.message();
    }
    http::Response r = http::Response::json(
        status,
        error_json(message, status == 503 ? "service_unavailable_error" : "server_error", code));
    if (status == 503) r.set_header("retry-after", "1");
    send(std::move(r));
  }

  void answer_buffered() {
    http::Response r;
    r.status = upstream_status_;
    r.body = std::move(buffer_);
    if (req_.rewrite_body && r.status >= 200 && r.status < 300) {
      r.body = req_.rewrite_body(std::move(r.body));
    }
    std::string type = "application/json";
    for (const auto& [k, v] : upstream_headers_) {
      if (k == "content-type") type = v;
    }
    r.set_header("content-type", type);
    send(std::move(r));
  }

  // Records usage and answers with `r` plus the request's own headers.
  void send(http::Response r) {
    for (const auto& [k, v] : req_.response_headers) {
      if (!http::find_header(r.headers, k)) r.set_header(k, v);
    }
    record(r.status);
    out_->send(std::move(r));
  }

  void finish_stream(const Status& status) {
    std::string rest = sse_->take_rest();
    if (!rest.empty()) out_->write(std::move(rest));
    if (!status.is_ok() && status.code() != StatusCode::CANCELLED) {
      out_->write(http::sse_event(error_json("the upstream stream failed: " + status.message(),
                                             "server_error", "upstream_error")));
    }
    out_->finish();
    prompt_tokens_ = sse_->prompt_tokens();
    completion_tokens_ = sse_->completion_tokens();
    record(status.is_ok() ? 200 : (status.code() == StatusCode::CANCELLED ? 499 : 502));
  }

  void record(int status) {
    tenancy::UsageRecord u;
    u.time_ms = req_.arrived_ms != 0 ? req_.arrived_ms : ctx_.clock.unix_ms();
    u.request_id = req_.request_id;
    u.user_id = req_.user_id;
    u.key_id = req_.key_id;
    u.org_id = req_.org_id;
    u.model = req_.model->spec().name;
    u.provider = provider_ ? provider_->spec().name : "";
    u.endpoint = req_.endpoint;
    u.status = status;
    u.prompt_tokens = prompt_tokens_;
    u.completion_tokens = completion_tokens_;
    int64_t now = ctx_.clock.monotonic_ms();
    u.latency_s = static_cast<double>(now - start_ms_) / 1000.0;
    u.first_token_s =
        static_cast<double>((first_byte_ms_ ? first_byte_ms_ : now) - start_ms_) / 1000.0;
    u.attempts = static_cast<int>(attempts_);
    if (req_.on_record) req_.on_record(u);
    ctx_.usage.record(u);
  }

  RelayRequest req_;
  RelayContext ctx_;
  http::ResponderPtr out_;
  bool stream_ = false;
  bool client_wants_usage_ = false;
  std::unique_ptr<SseUsageParser> sse_;

  // Attempt state, touched by one client callback chain at a time.
  std::vector<const Provider*> tried_;
  Provider* provider_ = nullptr;
  int64_t attempts_ = 0;
  int64_t start_ms_ = 0;
  int64_t attempt_start_ms_ = 0;
  int64_t first_byte_ms_ = 0;
  bool committed_ = false;
  bool too_large_ = false;
  int upstream_status_ = 0;
  http::Headers upstream_headers_;
  std::string buffer_;
  Status last_error_;
  int last_error_status_ = 0;
  std::string last_error_body_;
  http::Headers last_error_headers_;
  int64_t prompt_tokens_ = 0;
  int64_t completion_tokens_ = 0;

  std::mutex mu_;  // guards call_ and cancelled_ (the client's cancel comes from the server)
  std::shared_ptr<http::ClientCall> call_;
  bool cancelled_ = false;
};

}  // namespace

void start_relay(RelayRequest request, const RelayContext& context, http::ResponderPtr responder) {
  auto relay = std::make_shared<Relay>(std::move(request), context, std::move(responder));
  relay->begin();
}

bool plausible_token_count(int64_t n) {
  return n >= 0 && n <= MAX_REPORTED_TOKENS;
}

void read_usage(const boost::json::object& response, int64_t* prompt, int64_t* completion) {
  const auto* usage = response.if_contains("usage");
  if (usage == nullptr || !usage->is_object()) return;
  const auto& u = usage->as_object();
  if (const auto* p = u.if_contains("prompt_tokens");
      p && p->is_int64() && prompt && plausible_token_count(p->as_int64())) {
    *prompt = p->as_int64();
  }
  if (const auto* c = u.if_contains("completion_tokens");
      c && c->is_int64() && completion && plausible_token_count(c->as_int64())) {
    *completion = c->as_int64();
  }
}

void SseUsageParser::feed(std::string_view chunk, std::string* forward) {
  // A separator ending before the bytes already held was found by an earlier call: search
  // from where one could start that ends in the new bytes (linear, not quadratic, in an
  // event that arrives in many pieces).
  size_t from = pending_.size() >= 3 ? pending_.size() - 3 : 0;
  pending_.append(chunk);
  size_t start = 0;
  while (true) {
    size_t end = pending_.find("\n\n", from);
    size_t crlf = pending_.find("\r\n\r\n", from);
    size_t sep = 2;
    if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) {
      end = crlf;
      sep = 4;
    }
    if (end == std::string::npos) break;
    std::string_view text = std::string_view(pending_).substr(start, end + sep - start);
    if (oversized_) {
      forward->append(text);  // the end of an event too long to read: passed on as it is
      oversized_ = false;
    } else {
      event(text, forward);
    }
    start = end + sep;
    from = start;
  }
  pending_.erase(0, start);
  if (pending_.size() > MAX_SSE_EVENT_BYTES) {
    // An event this long holds no usage worth reading: passed on as it comes, but for the
    // last bytes, which may begin its separator.
    forward->append(pending_, 0, pending_.size() - 3);
    pending_.erase(0, pending_.size() - 3);
    oversized_ = true;
  }
}

std::string SseUsageParser::take_rest() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

void SseUsageParser::close() {
  // A last event without its blank line ("data: [DONE]" and the end) still counts.
  if (!oversized_ && !pending_.empty()) inspect(pending_);
}

void SseUsageParser::event(std::string_view text, std::string* forward) {
  if (inspect(text) && !keep_usage_chunk_) return;
  forward->append(text);
}

bool SseUsageParser::inspect(std::string_view text) {
  // An OpenAI stream event is one "data: <json>" line.
  std::string_view data;
  size_t pos = text.find("data:");
  if (pos != std::string_view::npos) {
    data = text.substr(pos + 5);
    size_t eol = data.find_first_of("\r\n");
    data = data.substr(0, eol);
    while (!data.empty() && data.front() == ' ')
      data.remove_prefix(1);
  }
  if (data == "[DONE]") {
    saw_done_ = true;
  } else if (data.find("\"usage\"") != std::string_view::npos) {
    Result<boost::json::value> v = json::parse(data);
    if (v.is_ok() && v->is_object()) {
      const auto& o = v->as_object();
      int64_t p = 0;
      int64_t c = 0;
      read_usage(o, &p, &c);
      if (p || c) {
        prompt_tokens_ = p;
        completion_tokens_ = c;
      }
      const auto* choices = o.if_contains("choices");
      return choices != nullptr && choices->is_array() && choices->as_array().empty();
    }
  }
  return false;
}

}  // namespace socle::providers
