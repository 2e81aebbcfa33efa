// Shared pieces of the benchmarks: a rig of the real liftsim (pinned to
// core 1) and the real liftguardd (pinned to core 0) over loopback, /proc
// readings, clocks and percentiles.
//
// Thread-safety: none; benchmarks are single-threaded drivers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace lg::bench {

struct ProcStat {
  double cpu_s = 0;  // utime + stime
  long rss_kb = 0;
};
ProcStat ReadProc(pid_t pid);

int64_t MonoNs();  // CLOCK_MONOTONIC, as liftsim's "t=" stamps
int64_t WallNs();  // CLOCK_REALTIME
// liftsim's "ok ... t=NS" reply: the moment the change took effect, or -1.
int64_t ParseT(const std::string& reply);
// "2026-11-22T15:57:52.123Z" (as stored) to ns since the epoch; -1 if not.
int64_t ParseAt(const std::string& s);
double Percentile(std::vector<double> v, double p);

// `cars` static cars spread over `links` TCP ports; the daemon's database is
// dir/bench.db. `extra_config` is appended to the configuration.
class Rig {
 public:
  Rig(const std::string& dir, int cars, int links, int interval_ms,
      const std::string& extra_config = "");
  testing::SimControl& sim() { return *ctl_; }
  testing::Process& daemon() { return daemon_; }
  const std::vector<int>& ports() const { return ports_; }
  int per_link() const { return per_link_; }
  std::string db_path() const { return dir_ + "/bench.db"; }
  // "PORT/UNIT" for the simulator and "cL-U" for the daemon, of car i.
  std::string SimCar(int i) const;
  std::string CarId(int i) const;
  long long Requests();  // requests the simulator received, all links

 private:
  std::string dir_;
  int per_link_;
  std::vector<int> ports_;
  testing::Process sim_proc_;
  std::unique_ptr<testing::SimControl> ctl_;
  testing::Process daemon_;
};

}  // namespace lg::bench
