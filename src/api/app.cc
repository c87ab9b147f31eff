#include "api/app.h"

#include <algorithm>
#include <optional>
#include <thread>

#include "api/embedder.h"
#include "api/fine_tuning_worker.h"
#include "api/metrics.h"
#include "api/requests_in_flight.h"
#include "api/services.h"
#include "api/usage_log.h"
#include "base/log.h"
#include "http/client.h"
#include "http/io_pool.h"
#include "providers/health.h"
#include "providers/registry.h"
#include "tenancy/change_watcher.h"
#include "tenancy/key_cache.h"
#include "tenancy/limits.h"
#include "tenancy/retention.h"

namespace socle::api {

Status split_listen(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return invalid_argument("listen address '" + listen + "' must be HOST:PORT");
  }
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  int p = 0;
  try {
    size_t used = 0;
    p = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) p = -1;
  } catch (const std::exception&) {
    p = -1;
  }
  if (p < 0 || p > 65535) return invalid_argument("port in '" + listen + "' must be 0 to 65535");
  *port = static_cast<uint16_t>(p);
  return Status::ok();
}

namespace {

// How long a stopping server waits for the requests it dropped to record their usage.
constexpr int64_t IN_FLIGHT_WAIT_MS = 10'000;

// The server's loops: the configured count, else one per core and at least 2.
int io_threads_of(const Config& c) {
  return c.io_threads > 0 ? static_cast<int>(c.io_threads)
                          : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace

// Members in construction order; destroyed in reverse. The limiter, the usage sinks and the
// count of requests in flight come before the registry and the I/O pool: what the pool's
// loops or a local model's queues still hold at shutdown settles its admission and releases
// its count into them as it goes, and ~Parts stops the runners (their sequences recording
// through the services) before any member goes. A record that late finds the usage writer
// stopped and is counted as dropped, never written to a sink that is gone. The server and the
// client run on the pool and go before it, once it has stopped (~Parts); the usage writer's
// thread reads the registry only until App::run stops it.
struct App::Parts {
  Parts(const Config& c, store::Store& s, tenancy::AuditLog& a, const Clock& k,
        std::vector<providers::ModelSpec> specs, const tenancy::UsageWriterSettings& writer)
      : config(c),
        store(s),
        clock(k),
        keys(s, k),
        limiter(k),
        usage_writer(
            s.usage(),
            [this](const std::string& model) {
              const providers::Model* m = registry.find(model);
              return m != nullptr ? m->spec().parameters_billions : 0.0;
            },
            writer),
        usage_log(metrics),
        usage({&usage_log, &usage_writer}),
        registry(std::move(specs), {c.gateway_breaker_failures, c.gateway_breaker_cooldown_ms}, k),
        io(io_threads_of(c)),
        client(http::HttpClient::create({}, &io)),
        embedder(registry, *client, c.gateway_max_attempts, &usage, &k),
        rag(s, c.data_dir, embedder, rag::RagOptions{}),
        services{c, s, keys, k, metrics, registry, *client, usage, a, limiter},
        fine_tuning(services) {
    services.rag = &rag;
    services.fine_tuning = &fine_tuning;
    services.in_flight = &in_flight;
  }
  ~Parts() {
    // Nothing runs on the loops any more while the server and the client go away.
    io.stop();
    // Sequences still running (App::run's wait ran out) end now, recording into the services
    // while every member is there; the runners stay, stopped, for the loops' last cancels.
    registry.stop_local_models();
  }
  Parts(const Parts&) = delete;
  Parts& operator=(const Parts&) = delete;

  const Config& config;
  store::Store& store;
  const Clock& clock;
  tenancy::KeyCache keys;
  tenancy::Limiter limiter;
  tenancy::UsageWriter usage_writer;
  HttpMetrics metrics;
  UsageLog usage_log;
  tenancy::UsageFanout usage;
  RequestsInFlight in_flight;  // admitted requests whose usage is not recorded yet
  providers::Registry registry;
  http::IoPool io;  // the server's connections and their relays
  std::unique_ptr<http::HttpClient> client;
  // After the client, which its embedding calls use.
  RegistryEmbedder embedder;
  rag::Rag rag;
  Services services;
  // After the services it trains through; stopped (joined) before they go.
  FineTuningWorker fine_tuning;
  http::Router router;
  std::unique_ptr<http::Server> server;
};

Result<std::unique_ptr<App>> App::create(const Config& config, store::Store& store,
                                         tenancy::AuditLog& audit, const Clock& clock) {
  std::string host;
  uint16_t port = 0;
  SOCLE_RETURN_IF_ERROR(split_listen(config.listen, &host, &port));
  SOCLE_ASSIGN_OR_RETURN(std::vector<providers::ModelSpec> specs,
                         providers::parse_model_specs(config.models));
  tenancy::UsageWriterSettings writer;
  writer.capacity = static_cast<size_t>(config.usage_queue_capacity);
  writer.flush_ms = config.usage_flush_ms;
  writer.max_retry_ms = std::max<int64_t>(writer.max_retry_ms, config.usage_flush_ms);
  writer.energy = {config.energy_joules_per_flop, config.energy_pue,
                   config.energy_grid_gco2_per_kwh};
  SOCLE_RETURN_IF_ERROR(tenancy::check_usage_writer_settings(writer));

  auto parts = std::make_unique<Parts>(config, store, audit, clock, std::move(specs), writer);
  // The models socle runs itself load before the server listens.
  SOCLE_RETURN_IF_ERROR(parts->registry.load_local_models());
  SOCLE_RETURN_IF_ERROR(parts->keys.reload());
  SOCLE_RETURN_IF_ERROR(tenancy::load_limit_rules(store, parts->limiter));
  register_routes(parts->router, parts->services);
  SOCLE_RETURN_IF_ERROR(parts->rag.start());
  // After the local models: succeeded jobs' adapters go back on their base models, and the
  // jobs a stop interrupted resume from their checkpoints.
  SOCLE_RETURN_IF_ERROR(parts->fine_tuning.start());

  http::ServerOptions opts;
  opts.host = host;
  opts.port = port;
  opts.max_header_bytes = config.http_max_header_bytes;
  opts.max_body_bytes = config.http_max_body_bytes;
  opts.idle_timeout_ms = config.http_idle_timeout_ms;
  opts.request_timeout_ms = config.http_request_timeout_ms;
  opts.write_timeout_ms = config.http_write_timeout_ms;
  opts.max_connections = config.http_max_connections;
  opts.shutdown_grace_ms = config.shutdown_grace_ms;
  SOCLE_ASSIGN_OR_RETURN(
      parts->server,
      http::Server::create(opts, parts->router, server_hooks(parts->services), &parts->io));
  http::Server* server = parts->server.get();
  parts->services.open_connections = [server] { return server->open_connections(); };
  tenancy::UsageWriter* writer_ptr = &parts->usage_writer;
  parts->services.usage_counters = [writer_ptr] { return writer_ptr->counters(); };
  return std::unique_ptr<App>(new App(std::move(parts)));
}

App::App(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

App::~App() = default;

uint16_t App::port() const {
  return parts_->server->port();
}

void App::stop() {
  parts_->server->stop();
}

tenancy::UsageWriter& App::usage_writer() {
  return parts_->usage_writer;
}

void App::run(bool handle_signals) {
  Parts& p = *parts_;
  {
    tenancy::ChangeWatcher watcher(p.store, p.config.store_poll_ms, [&p] {
      Status s = p.keys.refresh();
      if (!s.is_ok()) log::error("key cache refresh failed", {{"error", s.message()}});
      s = tenancy::load_limit_rules(p.store, p.limiter);
      if (!s.is_ok()) log::error("limit rules reload failed", {{"error", s.message()}});
    });
    tenancy::RetentionJob retention(p.store, p.services.audit, p.clock,
                                    {p.config.retention_usage_days, p.config.retention_audit_days},
                                    p.config.retention_interval_s * 1000);
    std::optional<providers::HealthChecker> health;
    if (!p.registry.models().empty())
      health.emplace(p.registry, *p.client, p.config.gateway_health_interval_ms);
    log::info("listening", {{"listen", p.config.listen},
                            {"port", static_cast<int>(p.server->port())},
                            {"data", p.config.data_dir},
                            {"models", static_cast<uint64_t>(p.registry.models().size())}});
    p.server->run(handle_signals);
  }
  // Nothing accepted is lost: the requests the server dropped at the end of its grace period
  // record their usage as they see their client gone (within milliseconds: a local model
  // finishes its step first), then what is still queued reaches the store.
  if (int64_t left = p.in_flight.wait_none(IN_FLIGHT_WAIT_MS); left > 0) {
    log::warn("requests still unrecorded at shutdown: their usage is lost",
              {{"requests", left}, {"waited_ms", IN_FLIGHT_WAIT_MS}});
  }
  p.fine_tuning.stop();
  p.rag.stop();
  p.usage_writer.stop();
}

}  // namespace socle::api
