// bench_poll: how much the daemon pays to keep a live state of thousands of
// cars, against the practical limit of a plain libmodbus loop.
//
// The real liftguardd process polls the real liftsim process over loopback,
// liftguardd pinned to core 0 and liftsim to core 1. Figures:
//   - car polls per second sustained (requests the simulator received),
//   - liftguardd CPU (utime+stime from /proc) per poll and as % of a core,
//   - state age: from a change taking effect in the simulator (its
//     CLOCK_MONOTONIC stamp) until the daemon's sample shows it (the mode
//     event's timestamp, which is the sample's read time), p50 and p99,
//   - liftguardd RSS.
// Then, in this process on core 0, a plain libmodbus loop keeping one
// request in flight per connection (modbus_send_raw_request, poll() for
// readability, modbus_receive_confirmation): CPU microseconds per read.
//
// Usage: bench_poll [--quick]   (--quick: shorter windows, for smoke runs)
#include <modbus/modbus.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "db/database.h"
#include "tests/integration/harness.h"

namespace {

using namespace std::chrono_literals;
using lg::testing::FreePort;
using lg::testing::Process;
using lg::testing::SimControl;

struct ProcStat {
  double cpu_s = 0;
  long rss_kb = 0;
};

ProcStat ReadProc(pid_t pid) {
  ProcStat st;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  auto rp = line.rfind(')');
  std::istringstream in(line.substr(rp + 2));
  std::vector<std::string> fields;
  std::string tok;
  while (in >> tok) fields.push_back(tok);
  // fields[0] is state (field 3); utime is field 14, stime 15.
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

// "2026-11-22T15:57:52.123Z" to ns since the epoch.
int64_t ParseAt(const std::string& s) {
  std::tm tm{};
  strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  int64_t secs = timegm(&tm);
  int ms = std::stoi(s.substr(20, 3));
  return secs * 1'000'000'000LL + ms * 1'000'000LL;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

struct Scenario {
  int cars;
  int links;
  int interval_ms;
  int seconds;
  bool measure_age;
};

struct Outcome {
  double polls_per_s = 0;
  double cpu_pct = 0;
  double cpu_us_per_poll = 0;
  double age_p50_ms = NAN, age_p99_ms = NAN;
  int age_samples = 0;
  long rss_kb = 0;
};

long long SumRequests(SimControl& sim, const std::vector<int>& ports) {
  long long n = 0;
  for (int p : ports) n += std::stoll(sim.Must("requests " + std::to_string(p)).substr(3));
  return n;
}

Outcome RunDaemon(const Scenario& sc, const std::string& dir) {
  int per_link = sc.cars / sc.links;
  std::vector<int> ports;
  std::vector<std::string> tcp;
  for (int i = 0; i < sc.links; ++i) {
    ports.push_back(FreePort());
    tcp.push_back("127.0.0.1:" + std::to_string(ports.back()) + ":1-" + std::to_string(per_link));
  }
  int control = FreePort();
  std::vector<std::string> sim_argv = {"taskset", "-c", "1", lg::testing::LiftsimPath()};
  for (const auto& t : tcp) {
    sim_argv.push_back("--tcp");
    sim_argv.push_back(t);
  }
  sim_argv.insert(sim_argv.end(),
                  {"--control", "127.0.0.1:" + std::to_string(control), "--static"});
  Process sim(sim_argv, dir + "/liftsim.log");
  if (!sim.WaitForOutput("liftsim ready", 30s)) {
    std::fprintf(stderr, "liftsim did not start:\n%s\n", sim.Output().c_str());
    std::exit(1);
  }
  SimControl ctl(control);

  std::string cfg = dir + "/bench.toml";
  {
    std::ofstream f(cfg);
    f << "[site]\nname = \"bench\"\n[daemon]\ndatabase = \"bench.db\"\nlog_level = \"warn\"\n"
      << "[polling]\ninterval_ms = " << sc.interval_ms << "\ntimeout_ms = 300\n"
      << "comms_lost_after_ms = 10000\nbackoff_ms = [500, 30000]\n";
    for (int i = 0; i < sc.links; ++i) {
      f << "[[link]]\nid = \"l" << i
        << "\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = " << ports[i] << "\n";
    }
    for (int i = 0; i < sc.links; ++i) {
      for (int u = 1; u <= per_link; ++u) {
        f << "[[elevator]]\nid = \"c" << i << "-" << u << "\"\nlink = \"l" << i
          << "\"\nunit = " << u << "\n";
      }
    }
  }
  std::filesystem::remove(dir + "/bench.db");
  Process daemon({"taskset", "-c", "0", lg::testing::DaemonPath(), "--config", cfg},
                 dir + "/liftguardd.log");
  // Warm up: every car read at least once, the startup events written.
  std::this_thread::sleep_for(std::chrono::milliseconds(std::max(5000, 3 * sc.interval_ms)));
  if (!daemon.running()) {
    std::fprintf(stderr, "liftguardd exited:\n%s\n", daemon.Output().c_str());
    std::exit(1);
  }

  struct Injection {
    std::string car;
    std::string mode;
    int64_t mono;
  };
  std::vector<Injection> injections;
  std::mt19937 rng(7);
  int64_t offset = WallNs() - MonoNs();

  // Window 1: load only, for polls/s and CPU. Window 2: the same load plus
  // state changes, for state age (recording a mode change costs the daemon
  // a database write, which is not what a poll costs).
  ProcStat s0 = ReadProc(daemon.pid());
  long long r0 = SumRequests(ctl, ports);
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(sc.seconds));
  auto t1 = std::chrono::steady_clock::now();
  ProcStat s1 = ReadProc(daemon.pid());
  long long r1 = SumRequests(ctl, ports);
  double secs = std::chrono::duration<double>(t1 - t0).count();

  Outcome o;
  o.polls_per_s = static_cast<double>(r1 - r0) / secs;
  o.cpu_pct = 100.0 * (s1.cpu_s - s0.cpu_s) / secs;
  o.cpu_us_per_poll = 1e6 * (s1.cpu_s - s0.cpu_s) / static_cast<double>(r1 - r0);
  o.rss_kb = s1.rss_kb;

  std::vector<std::string> touched;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(sc.seconds);
  while (sc.measure_age && std::chrono::steady_clock::now() < end) {
    int link = static_cast<int>(rng() % static_cast<unsigned>(sc.links));
    int unit = 1 + static_cast<int>(rng() % static_cast<unsigned>(per_link));
    std::string car = std::to_string(ports[link]) + "/" + std::to_string(unit);
    std::string id = "c" + std::to_string(link) + "-" + std::to_string(unit);
    if (std::find(touched.begin(), touched.end(), id) == touched.end()) {
      touched.push_back(id);
      std::string reply = ctl.Must("fault " + car + " inspection on");
      injections.push_back({id, "inspection", ParseT(reply)});
    }
    // Not in step with the poll interval, so changes land at every phase.
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 100));
  }

  if (sc.measure_age) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * sc.interval_ms + 1500));
    auto reader = lg::db::Database::OpenReader(dir + "/bench.db");
    std::vector<double> ages;
    if (reader.ok()) {
      SQLite::Statement q(**reader,
                          "SELECT at FROM events WHERE elevator = ? AND kind = 'mode' AND "
                          "to_value = ? ORDER BY id LIMIT 1");
      for (const auto& inj : injections) {
        q.bind(1, inj.car);
        q.bind(2, inj.mode);
        if (q.executeStep()) {
          int64_t seen_wall = ParseAt(q.getColumn(0).getString());
          int64_t changed_wall = inj.mono + offset;
          // The event time has millisecond resolution (truncated).
          ages.push_back(static_cast<double>(seen_wall - changed_wall) / 1e6 + 0.5);
        }
        q.reset();
      }
    }
    o.age_samples = static_cast<int>(ages.size());
    o.age_p50_ms = Percentile(ages, 50);
    o.age_p99_ms = Percentile(ages, 99);
  }
  daemon.Stop();
  sim.Stop();
  return o;
}

// The plain loop: one thread, one request in flight per connection.
double PlainLoopCpuUsPerRead(int links, int seconds, const std::string& dir) {
  std::vector<int> ports;
  std::vector<std::string> argv = {"taskset", "-c", "1", lg::testing::LiftsimPath()};
  for (int i = 0; i < links; ++i) {
    ports.push_back(FreePort());
    argv.push_back("--tcp");
    argv.push_back("127.0.0.1:" + std::to_string(ports.back()) + ":1");
  }
  argv.insert(argv.end(), {"--control", "127.0.0.1:" + std::to_string(FreePort()), "--static"});
  Process sim(argv, dir + "/liftsim-plain.log");
  if (!sim.WaitForOutput("liftsim ready", 30s)) std::exit(1);

  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set);

  std::vector<modbus_t*> ctx;
  std::vector<pollfd> fds;
  for (int p : ports) {
    modbus_t* c = modbus_new_tcp("127.0.0.1", p);
    if (modbus_connect(c) != 0) std::exit(1);
    ctx.push_back(c);
    fds.push_back({modbus_get_socket(c), POLLIN, 0});
  }
  uint8_t req[6] = {1, 4, 0, 0, 0, 13};
  uint8_t rsp[MODBUS_TCP_MAX_ADU_LENGTH];
  for (auto* c : ctx) modbus_send_raw_request(c, req, 6);
  rusage u0, u1;
  getrusage(RUSAGE_THREAD, &u0);
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  long long reads = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      if (modbus_receive_confirmation(ctx[i], rsp) > 0) ++reads;
      modbus_send_raw_request(ctx[i], req, 6);
    }
  }
  getrusage(RUSAGE_THREAD, &u1);
  auto us = [](const rusage& r) {
    return r.ru_utime.tv_sec * 1e6 + r.ru_utime.tv_usec + r.ru_stime.tv_sec * 1e6 +
           r.ru_stime.tv_usec;
  };
  for (auto* c : ctx) {
    modbus_close(c);
    modbus_free(c);
  }
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  CPU_SET(1, &set);
  sched_setaffinity(0, sizeof set, &set);
  sim.Stop();
  std::printf("plain loop: %lld reads in %d s over %d connections (%.0f reads/s)\n", reads, seconds,
              links, static_cast<double>(reads) / seconds);
  return (us(u1) - us(u0)) / static_cast<double>(reads);
}

void Report(const char* title, const Outcome& o, double plain, int secs, bool targets) {
  std::printf("%s for %d s\n", title, secs);
  std::printf("  polls/s sustained:    %.0f\n", o.polls_per_s);
  std::printf("  liftguardd CPU:       %.1f %% of one core%s\n", o.cpu_pct,
              targets ? " (target <= 15 %)" : "");
  if (plain > 0) {
    std::printf("  CPU per poll:         %.2f us = %.2fx the plain loop (target <= 2x)\n",
                o.cpu_us_per_poll, o.cpu_us_per_poll / plain);
  } else {
    std::printf("  CPU per poll:         %.2f us\n", o.cpu_us_per_poll);
  }
  if (o.age_samples > 0) {
    std::printf("  state age:            p50 %.1f ms, p99 %.1f ms over %d changes%s\n",
                o.age_p50_ms, o.age_p99_ms, o.age_samples,
                targets ? " (target p99 <= interval + 50 ms)" : "");
  }
  std::printf("  RSS:                  %.1f MiB%s\n\n", o.rss_kb / 1024.0,
              targets ? " (target <= 64 MiB)" : "");
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string only;  // plain | 2000 | 10000
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    if (std::strncmp(argv[i], "--only=", 7) == 0) only = argv[i] + 7;
  }
  std::string dir = lg::testing::TempDir("bench-poll");
  int secs = quick ? 5 : 20;
  double plain = 0;
  if (only.empty() || only == "plain") {
    plain = PlainLoopCpuUsPerRead(50, quick ? 3 : 10, dir);
    std::printf("plain libmodbus loop: %.2f us CPU per read\n\n", plain);
  }
  if (only.empty() || only == "2000") {
    Report("2,000 cars / 50 links / 2 Hz (interval 500 ms)",
           RunDaemon({2000, 50, 500, secs, true}, dir), plain, secs, true);
  }
  if (only.empty() || only == "10000") {
    Report("10,000 cars / 50 links / 1 Hz (interval 1000 ms)",
           RunDaemon({10000, 50, 1000, secs, true}, dir), plain, secs, false);
  }
  return 0;
}
