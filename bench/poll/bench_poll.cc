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

#include "bench/bench_util.h"
#include "db/database.h"
#include "tests/integration/harness.h"

namespace {

using namespace std::chrono_literals;
using lg::bench::ParseAt;
using lg::bench::Percentile;
using lg::bench::ReadProc;
using lg::bench::Rig;
using lg::testing::FreePort;
using lg::testing::Process;

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

Outcome RunDaemon(const Scenario& sc, const std::string& dir) {
  Rig rig(dir, sc.cars, sc.links, sc.interval_ms);
  // Window 1: load only, for polls/s and CPU. Window 2: the same load plus
  // state changes, for state age (recording a mode change costs the daemon
  // a database write, which is not what a poll costs).
  // Three windows, the median reported: a 2-core VM has moments when
  // something else runs, and one window can catch one.
  pid_t pid = rig.daemon().pid();
  std::vector<double> per_poll, pct, rate;
  long rss = 0;
  for (int w = 0; w < 3; ++w) {
    auto s0 = ReadProc(pid);
    long long r0 = rig.Requests();
    auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(sc.seconds) / 3);
    auto t1 = std::chrono::steady_clock::now();
    auto s1 = ReadProc(pid);
    long long r1 = rig.Requests();
    double secs = std::chrono::duration<double>(t1 - t0).count();
    rate.push_back(static_cast<double>(r1 - r0) / secs);
    pct.push_back(100.0 * (s1.cpu_s - s0.cpu_s) / secs);
    per_poll.push_back(1e6 * (s1.cpu_s - s0.cpu_s) / static_cast<double>(r1 - r0));
    rss = s1.rss_kb;
  }
  std::printf("  (windows: CPU per poll %.2f / %.2f / %.2f us)\n", per_poll[0], per_poll[1],
              per_poll[2]);

  Outcome o;
  o.polls_per_s = Percentile(rate, 50);
  o.cpu_pct = Percentile(pct, 50);
  o.cpu_us_per_poll = Percentile(per_poll, 50);
  o.rss_kb = rss;
  if (!sc.measure_age) return o;

  struct Injection {
    std::string car;
    int64_t mono;
  };
  std::vector<Injection> injections;
  std::mt19937 rng(7);
  int64_t offset = lg::bench::WallNs() - lg::bench::MonoNs();
  std::vector<bool> touched(static_cast<size_t>(sc.cars));
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(sc.seconds);
  while (std::chrono::steady_clock::now() < end) {
    int i = static_cast<int>(rng() % static_cast<unsigned>(sc.cars));
    if (touched[static_cast<size_t>(i)]) continue;
    touched[static_cast<size_t>(i)] = true;
    std::string reply = rig.sim().Must("fault " + rig.SimCar(i) + " inspection on");
    injections.push_back({rig.CarId(i), lg::bench::ParseT(reply)});
    // Not in step with the poll interval, so changes land at every phase.
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * sc.interval_ms + 1500));
  auto reader = lg::db::Database::OpenReader(rig.db_path());
  std::vector<double> ages;
  if (reader.ok()) {
    SQLite::Statement q(**reader,
                        "SELECT at FROM events WHERE elevator = ? AND kind = 'mode' AND "
                        "to_value = 'inspection' ORDER BY id LIMIT 1");
    for (const auto& inj : injections) {
      q.bind(1, inj.car);
      if (q.executeStep()) {
        int64_t seen_wall = ParseAt(q.getColumn(0).getString());
        // The event time has millisecond resolution (truncated).
        ages.push_back(static_cast<double>(seen_wall - (inj.mono + offset)) / 1e6 + 0.5);
      }
      q.reset();
    }
  }
  o.age_samples = static_cast<int>(ages.size());
  o.age_p50_ms = Percentile(ages, 50);
  o.age_p99_ms = Percentile(ages, 99);
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
  int secs = quick ? 6 : 30;
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
