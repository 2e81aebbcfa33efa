// Test harness for integration tests: real processes (liftsim, liftguardd,
// socat) on loopback, started and stopped by the test.
//
// Thread-safety: none; use from the test's thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lg::testing {

std::string SourceDir();
std::string BinaryDir();
std::string LiftsimPath();
std::string DaemonPath();

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();
// A fresh empty directory under the build tree's tmp/.
std::string TempDir(const std::string& name);

// A child process with stdout+stderr going to a log file.
class Process {
 public:
  Process() = default;
  Process(const std::vector<std::string>& argv, const std::string& log_path);
  ~Process();
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;

  pid_t pid() const { return pid_; }
  bool running();
  // Waits until the log contains `text`; false on timeout or exit.
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout);
  std::string Output() const;
  void Signal(int sig);
  // SIGTERM, then SIGKILL after `grace`; returns the exit status (-signal if
  // killed by one).
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // Waits for exit without signalling.
  int Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  std::string log_;
};

// The simulator's control port.
class SimControl {
 public:
  explicit SimControl(int port) : port_(port) {}
  // Sends one command line, returns the reply line ("ok ..." / "err ...").
  std::string Send(const std::string& line);
  // Sends and asserts an "ok" reply; returns the reply.
  std::string Must(const std::string& line);
  // Parses "ok 3=12 4=50" style replies.
  static std::map<std::string, std::string> Pairs(const std::string& reply);

 private:
  int port_;
};

// A simulator process serving `tcp` ("PORT:UNITS" each) and `rtu`
// ("DEVICE:9600:N:8:1:UNITS" each).
class Sim {
 public:
  Sim(const std::vector<std::string>& tcp, const std::vector<std::string>& rtu, bool stationary,
      const std::string& log_dir, const std::vector<std::string>& extra = {});
  SimControl& control() { return control_; }
  Process& process() { return proc_; }

 private:
  int control_port_;
  Process proc_;
  SimControl control_;
};

// A socat pty pair; `a` and `b` are the two device paths.
class PtyPair {
 public:
  explicit PtyPair(const std::string& dir);
  std::string a, b;

 private:
  Process proc_;
};

// Polls `pred` every 20 ms until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

}  // namespace lg::testing
