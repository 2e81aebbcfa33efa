// HttpServer: the daemon's HTTP API (shared/spec/api.md; user docs in
// docs/api.md): /healthz, /metrics, login, elevators, alarms (ack, shelve),
// rescue incidents (docs/incidents.md), maintenance windows, the audit log
// and the Server-Sent Events stream, on Boost.Beast.
//
// Accepts and does socket I/O on the io_context it is given; every request
// that touches SQLite, hashes a password, waits for the rules strand
// (AlarmService::Ack/Shelve) or writes an incident runs on a small worker
// pool of its own, so the io thread (which also runs the rules strand in the
// daemon) never blocks.
// Its users, tokens and audit rows go through its own SQLite connection to
// the daemon's file; alarm queries use read-only connections.
//
// Ownership: borrows what HttpDeps points to; it must outlive the server.
// Thread-safety: Start/Stop/port from any thread. Stop before the
// io_context is stopped or destroyed, and before HttpDeps' objects go.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "daemon/alarm_service.h"
#include "daemon/auth.h"
#include "daemon/incident_service.h"
#include "daemon/live_state.h"
#include "daemon/records_service.h"
#include "drivers/poll_engine.h"

namespace boost::asio {
class io_context;
}

namespace lg {

// What the server reads. Everything is called from the worker pool or the
// io thread, so each must be safe from any thread.
struct HttpDeps {
  const LiveState* state = nullptr;
  AlarmService* alarms = nullptr;
  IncidentService* incidents = nullptr;  // nullptr: the incident calls answer 503
  RecordsService* records = nullptr;     // nullptr: the records calls answer 503
  std::string db_path;                   // the daemon's SQLite file
  std::function<std::vector<std::pair<std::string, drivers::LinkStats>>()> link_stats;
  // The contractor id an elevator is assigned to, or "" (none / unknown car).
  std::function<std::string(const std::string& elevator)> contractor_of;
  // False when polling has stopped (for /healthz).
  std::function<bool()> polling;
  // More lines for /metrics in the Prometheus text format (the notifier's
  // per-channel counters and the outbox backlog); may be empty.
  std::function<std::string()> more_metrics;
};

struct HttpOptions {
  std::string listen = "127.0.0.1:8080";  // host:port or [v6]:port; port 0: any free one
  size_t body_limit = 64 * 1024;
  size_t max_connections = 256;  // beyond: 503
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds write_timeout{30};
  std::chrono::seconds token_ttl{12 * 3600};
  auth::ThrottlePolicy throttle;
  // Writes queued per client before it is dropped; the state events of one
  // scan go out as one write, so a burst of changes counts once.
  size_t sse_queue = 256;
  std::chrono::milliseconds state_period{250};  // state events: at most one per car per period
  std::chrono::seconds sse_heartbeat{15};
  int workers = 2;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, HttpDeps deps, HttpOptions options);
  ~HttpServer();  // Stop()s

  // Opens its database connection, binds and starts accepting.
  Status Start();
  // Stops accepting, closes every connection, waits for in-flight work.
  // Idempotent.
  void Stop();
  // The bound port (after Start); useful with port 0.
  uint16_t port() const;

  // Register with AlarmService::AddListener (before AlarmService::Start, or
  // from the rules strand): turns each committed transition into an `alarm`
  // event. Safe to keep after the server is gone.
  AlarmService::Listener AlarmListener();
  // Register with IncidentService::AddListener: turns each committed change
  // into an `incident` event. Safe to keep after the server is gone.
  IncidentService::Listener IncidentListener();

  // The security room's notifications: a `notice` event with `data` (one
  // JSON object) to every stream that may see `elevator`; with `elevator`
  // "" to the staff's streams only (not contractors'). Returns how many
  // streams it was queued to. Any thread.
  size_t PublishNotice(const std::string& elevator, const std::string& data);

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace lg
