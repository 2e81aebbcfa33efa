#include "bench/bench_util.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "db/database.h"

namespace lg::bench {

using namespace std::chrono_literals;

ProcStat ReadProc(pid_t pid) {
  ProcStat st;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  auto rp = line.rfind(')');
  if (rp == std::string::npos) return st;
  std::istringstream in(line.substr(rp + 2));
  std::vector<std::string> fields;
  std::string tok;
  while (in >> tok) fields.push_back(tok);
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  long ticks = sysconf(_SC_CLK_TCK);
  st.cpu_s = (std::stod(fields[11]) + std::stod(fields[12])) / static_cast<double>(ticks);
  std::ifstream s("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(s, line)) {
    if (line.rfind("VmRSS:", 0) == 0) st.rss_kb = std::stol(line.substr(6));
  }
  return st;
}

int64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

int64_t WallNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

int64_t ParseT(const std::string& reply) {
  auto p = reply.find("t=");
  return p == std::string::npos ? -1 : std::stoll(reply.substr(p + 2));
}

int64_t ParseAt(const std::string& s) {
  auto t = db::ParseTime(s);
  if (!t) return -1;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t->time_since_epoch()).count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

Rig::Rig(const std::string& dir, int cars, int links, int interval_ms,
         const std::string& extra_config)
    : dir_(dir), per_link_(cars / links) {
  std::vector<std::string> argv = {"taskset", "-c", "1", testing::LiftsimPath()};
  for (int i = 0; i < links; ++i) {
    ports_.push_back(testing::FreePort());
    argv.push_back("--tcp");
    argv.push_back("127.0.0.1:" + std::to_string(ports_.back()) + ":1-" +
                   std::to_string(per_link_));
  }
  int control = testing::FreePort();
  argv.insert(argv.end(), {"--control", "127.0.0.1:" + std::to_string(control), "--static"});
  sim_proc_ = testing::Process(argv, dir + "/liftsim.log");
  if (!sim_proc_.WaitForOutput("liftsim ready", 30s)) {
    std::fprintf(stderr, "liftsim did not start:\n%s\n", sim_proc_.Output().c_str());
    std::exit(1);
  }
  ctl_ = std::make_unique<testing::SimControl>(control);

  std::string cfg = dir + "/bench.toml";
  {
    std::ofstream f(cfg);
    f << "[site]\nname = \"bench\"\n[daemon]\ndatabase = \"bench.db\"\nlog_level = \"warn\"\n"
      << "[polling]\ninterval_ms = " << interval_ms << "\ntimeout_ms = 300\n"
      << "comms_lost_after_ms = 10000\nbackoff_ms = [500, 30000]\n"
      << extra_config << "\n";
    for (int i = 0; i < links; ++i) {
      f << "[[link]]\nid = \"l" << i
        << "\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = " << ports_[i] << "\n";
    }
    for (int i = 0; i < links; ++i) {
      for (int u = 1; u <= per_link_; ++u) {
        f << "[[elevator]]\nid = \"c" << i << "-" << u << "\"\nlink = \"l" << i
          << "\"\nunit = " << u << "\nrated_speed_mm_s = 1750\n";
      }
    }
  }
  std::filesystem::remove(dir + "/bench.db");
  std::filesystem::remove(dir + "/bench.db-wal");
  std::filesystem::remove(dir + "/bench.db-shm");
  daemon_ = testing::Process({"taskset", "-c", "0", testing::DaemonPath(), "--config", cfg},
                             dir + "/liftguardd.log");
  // Warm up: every car read at least once, the startup events and the
  // first sweeps done.
  std::this_thread::sleep_for(std::chrono::milliseconds(std::max(10000, 3 * interval_ms)));
  if (!daemon_.running()) {
    std::fprintf(stderr, "liftguardd exited:\n%s\n", daemon_.Output().c_str());
    std::exit(1);
  }
}

std::string Rig::SimCar(int i) const {
  return std::to_string(ports_[static_cast<size_t>(i / per_link_)]) + "/" +
         std::to_string(1 + i % per_link_);
}

std::string Rig::CarId(int i) const {
  return "c" + std::to_string(i / per_link_) + "-" + std::to_string(1 + i % per_link_);
}

long long Rig::Requests() {
  long long n = 0;
  for (int p : ports_) n += std::stoll(ctl_->Must("requests " + std::to_string(p)).substr(3));
  return n;
}

}  // namespace lg::bench
