// SimServer: the network side of the liftsim controller simulator.
//
// Serves many simulated cars (CarModel) over Modbus TCP ports and Modbus RTU
// serial devices, each link in the layout of its register map (`ref-1`,
// shared/spec/register-map.md, unless the link names a map file; see
// drivers/register_map.h), takes commands on a line-based control port
// (docs/simulator.md), plays a scenario file, and misbehaves on request.
// Function codes 01-04 are answered from the car's current state encoded
// with the link's map (RegisterMap::Encode), over the address ranges the
// map reads; a table the map does not use gets exception 01, an address
// outside its ranges exception 02.
//
// Contract:
//  - Open() binds every TCP port and the control port, opens every serial
//    device, loads and checks the scenario and creates the cars. Errors:
//    code "scenario" (message "FILE:LINE: reason"), "io" (a port or device
//    could not be opened), "config" (e.g. a scenario names a missing car, or
//    a link's map file is bad: the loader's "FILE:LINE: reason" lines).
//    Map files are loaded before anything listens.
//    After a successful Open() clients may connect at once (they wait in the
//    listen backlog until the loop runs).
//  - Run() is the event loop: one thread, epoll over every socket and tty,
//    no thread per connection, no heap allocation per request in the steady
//    state. It returns after RequestStop(). Start() runs it on a thread of
//    its own and Stop() ends that thread.
//  - Every Modbus request is counted (per link by function code, per link,
//    per car) before anything else happens to it, including writes and
//    requests that get an exception or no answer.
//  - Scenario times count from the start of Run().
//
// Thread-safety: Open(), Run()/Start(), Stop() and the destructor are for
// the owning thread. RequestStop() may be called from any thread and from a
// signal handler. The accessors are safe from any thread once Open() has
// returned (they read values fixed by Open()). Everything else happens on
// the loop's thread; the outside talks to it through the control port.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "drivers/sim/sim_options.h"

namespace lg::sim {

class SimServer {
 public:
  explicit SimServer(SimOptions options);
  ~SimServer();  // Stop()s and closes everything
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  Status Open();
  void Run();
  Status Start();
  void Stop();
  void RequestStop();

  // Valid after Open(). Link names in command-line order, TCP links first
  // ("1502", ...) then RTU links ("rtu0", ...).
  std::vector<std::string> link_names() const;
  // The port the i-th --tcp link listens on (the real one if 0 was asked).
  int tcp_port(size_t i) const;
  int control_port() const;
  size_t car_count() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lg::sim
