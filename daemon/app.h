// App: the daemon's wiring, in one place (like alertmanager's app/). It owns
// the database, the event log, the poll engine and the live state, feeds
// samples onto the state strand, records mode and online/offline changes,
// and applies a reloaded configuration without disturbing what did not
// change. main() only parses flags and calls Run().
//
// Ownership: owns everything it wires. Thread-safety: Start/Stop/Reload and
// the accessors are safe from any thread; Run blocks the calling thread.
#pragma once

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "daemon/config.h"
#include "daemon/live_state.h"

namespace lg {

class App {
 public:
  // Opens (and migrates) the database; polls nothing yet.
  static Result<std::unique_ptr<App>> Create(Config config,
                                             const Clock& clock = SystemClock::Instance());
  ~App();

  // Starts polling and the daemon's own thread; returns at once.
  Status Start();
  // Start(), tell systemd READY, then serve until SIGTERM/SIGINT; SIGHUP
  // reloads the configuration file. Returns the process exit code.
  int Run();
  // Stops polling, writes out queued events, joins threads. Idempotent.
  void Stop();

  // Re-reads the configuration file it was created from. A bad file is
  // refused (and logged) and the running configuration stays.
  Status Reload();
  Status Apply(Config config);

  const LiveState& state() const;
  std::vector<std::pair<std::string, drivers::LinkStats>> LinkStats() const;
  // Waits until every event recorded so far is in the database (tests).
  void FlushEvents();

  class Impl;

 private:
  explicit App(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Sets up spdlog: the console, or the journal when run by systemd.
void SetUpLogging(const std::string& level);

}  // namespace lg
