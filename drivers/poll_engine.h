// PollEngine: reads every configured elevator car over Modbus, link by link,
// and reports what it read. Read-only: it can only send function codes 01-04
// (enforced in drivers/modbus_wire.cc, the one place a request is sent).
//
// A Link is one TCP endpoint or one serial bus. Requests on a link go one at
// a time, `gap_ms` apart; links are independent, so a silent link never
// delays another. TCP links run without blocking on Asio (`io_threads`
// threads for all of them: thousands of links do not mean thousands of
// threads). RTU buses block inside libmodbus, so each runs its requests on a
// bounded pool of `serial_threads` threads.
//
// Failures are values (LinkError), never exceptions. A unit that stops
// answering is polled less and less often (doubling, capped at backoff_cap)
// so the live units on its link keep their interval; it comes back by
// itself. A link that cannot connect, or whose every unit stops answering,
// is reconnected with capped exponential backoff and jitter.
//
// Ownership: the engine owns its threads, sockets and libmodbus contexts.
// The PollSink is borrowed and must outlive the engine.
// Thread-safety: public methods may be called from any thread. PollSink
// callbacks arrive on engine threads, concurrently for different links, in
// order for any one car.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/sample.h"
#include "drivers/register_map.h"

namespace lg::drivers {

struct LinkSettings {
  enum class Transport { kTcp, kRtu };
  std::string id;
  Transport transport = Transport::kTcp;
  std::string host = "127.0.0.1";
  int port = 502;
  std::string device;
  int baud = 9600;
  char parity = 'N';
  int data_bits = 8;
  int stop_bits = 1;
  int timeout_ms = 300;
  int gap_ms = 0;
  int backoff_first_ms = 500;
  int backoff_cap_ms = 30000;

  bool operator==(const LinkSettings&) const = default;
};

// One car: a Modbus unit on a link. `car` is the caller's stable handle for
// it and comes back in every callback.
struct UnitSettings {
  uint32_t car = 0;
  std::string link;
  int unit = 1;
  std::shared_ptr<const RegisterMap> map;
  int interval_ms = 500;

  bool operator==(const UnitSettings&) const = default;
};

// What went wrong with one poll. Modbus exception replies (the controller
// answered "no") are kept apart from transport failures.
struct LinkError {
  enum class Kind : uint8_t {
    kNotConnected,    // the link is down or reconnecting
    kConnect,         // connecting failed
    kTimeout,         // no reply within timeout_ms
    kIo,              // connection reset / closed / write failed
    kException,       // a Modbus exception reply; see exception_code
    kBadFrame,        // short, garbage, bad CRC, wrong byte count or function
    kBadTransaction,  // a reply to some other request (transaction id / unit)
  };
  Kind kind = Kind::kTimeout;
  uint8_t exception_code = 0;
  std::string detail;

  bool operator==(const LinkError& o) const {
    return kind == o.kind && exception_code == o.exception_code;
  }
};
std::string_view LinkErrorKindName(LinkError::Kind k);  // "timeout", ...

enum class LinkStatus : uint8_t { kConnecting, kUp, kDown };
std::string_view LinkStatusName(LinkStatus s);

// Counters of one link, for /metrics and the status views.
struct LinkStats {
  uint64_t requests = 0;
  uint64_t replies = 0;
  uint64_t timeouts = 0;
  uint64_t exceptions = 0;
  uint64_t bad_frames = 0;
  uint64_t io_errors = 0;
  uint64_t reconnects = 0;
  uint64_t latency_us_sum = 0;  // request sent to reply decoded, over `replies`
  LinkStatus status = LinkStatus::kConnecting;
};

class PollSink {
 public:
  virtual ~PollSink() = default;
  // A decoded sample of `car`, stamped with when its reply arrived.
  virtual void OnSample(uint32_t car, const Sample& sample) = 0;
  // Controller info, read once after each (re)connect.
  virtual void OnControllerInfo(uint32_t car, const ControllerInfo& info) = 0;
  // A poll of `car` failed. Called for every failed poll; the sink decides
  // what is worth logging (the engine logs only changes).
  virtual void OnPollError(uint32_t car, const LinkError& error) = 0;
  virtual void OnLinkStatus(const std::string& link, LinkStatus status) = 0;
};

struct EngineSettings {
  int io_threads = 1;
  int serial_threads = 16;
};

class PollEngine {
 public:
  // Threads start at once; nothing is polled until links and units are set.
  PollEngine(EngineSettings settings, PollSink& sink, const Clock& clock);
  ~PollEngine();  // Stops and joins.
  PollEngine(const PollEngine&) = delete;
  PollEngine& operator=(const PollEngine&) = delete;

  // Makes the engine poll exactly these links and units. Links and units
  // that did not change keep running untouched (their connection and timing
  // included); changed ones are restarted, missing ones stopped. Units on a
  // link not in `links` are an error and nothing changes.
  Status Reconcile(const std::vector<LinkSettings>& links, const std::vector<UnitSettings>& units);

  // Stops all links; after this Reconcile does nothing.
  void Stop();

  // A snapshot of every link's counters, by link id.
  std::vector<std::pair<std::string, LinkStats>> Stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lg::drivers
