// bench_api: the HTTP API at the size of a large hospital site. The real
// liftsim serves 2,000 static cars over 50 links; the real liftguardd polls
// them at 2 Hz (both pinned, as in bench_poll) and serves its API on a free
// port. A real operator user is created in the daemon's database and logs
// in through POST /api/v1/login.
//
// 1. GET /api/v1/elevators (all 2,000 cars, 1 % of them with an open alarm):
//    one keep-alive client, a fixed number of requests after a warm-up,
//    then four keep-alive clients at once. Latency p50/p90/p99/max,
//    requests per second, answer size. Target: p99 <= 20 ms (one client).
// 2. 100 clients on /api/v1/stream at once. Cars get state changes through
//    liftsim's control port (`set CAR floor N`, whose reply stamps the
//    moment the change took effect, CLOCK_MONOTONIC): first at a steady
//    rate, then every car at once (a power cut). A car changes again only
//    after far more than the poll interval plus the per-car state
//    throttle, so every change must reach every client as its own `state`
//    event. Measured per (client, change): change -> arrival, and sample
//    read (the event's updated_at) -> arrival; missing pairs are counted.
//    Target: p99 of sample read -> arrival <= 100 ms, none missing
//    (docs/design.md, "Live event delivery", says why that one).
//
// The Rig's daemon listens on the configuration's default address, so it
// is restarted here on a free port (same database, same cars).
//
// Usage: bench_api [--quick] [--only=list|stream] [--rate=CHANGES_PER_S]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "daemon/auth.h"
#include "db/database.h"
#include "tests/integration/harness.h"

namespace {

using namespace std::chrono_literals;
using lg::bench::MonoNs;
using lg::bench::Percentile;
using lg::bench::Rig;
using lg::bench::WallNs;

constexpr int kCars = 2000, kLinks = 50, kIntervalMs = 500;
constexpr const char* kUser = "bench-operator";
constexpr const char* kPassword = "bench-operator-password";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_api: %s\n", what.c_str());
  std::exit(1);
}

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void SendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) Die("send failed: " + std::string(std::strerror(errno)));
    off += static_cast<size_t>(n);
  }
}

// One keep-alive HTTP/1.1 connection; answers must carry Content-Length
// (the daemon's do).
class HttpConn {
 public:
  explicit HttpConn(int port) : fd_(Connect(port)) {
    if (fd_ < 0) Die("cannot connect to port " + std::to_string(port));
  }
  ~HttpConn() { ::close(fd_); }
  HttpConn(const HttpConn&) = delete;
  HttpConn& operator=(const HttpConn&) = delete;

  struct Answer {
    int status = 0;
    std::string body;
    size_t wire_bytes = 0;  // head + body
  };

  Answer Do(const std::string& method, const std::string& target, const std::string& token,
            const std::string& body = "") {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    if (!body.empty()) {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    }
    req += "\r\n" + body;
    SendAll(fd_, req);
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) Fill();
    Answer a;
    std::string head = buf_.substr(0, head_end);
    a.status = std::atoi(head.c_str() + head.find(' ') + 1);
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    size_t cl = lower.find("\r\ncontent-length:");
    if (cl == std::string::npos) Die("answer without Content-Length:\n" + head);
    size_t length = std::stoul(head.substr(cl + 17));
    while (buf_.size() < head_end + 4 + length) Fill();
    a.body = buf_.substr(head_end + 4, length);
    a.wire_bytes = head_end + 4 + length;
    buf_.erase(0, a.wire_bytes);
    return a;
  }

 private:
  void Fill() {
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) Die("connection closed by the daemon");
    buf_.append(tmp, static_cast<size_t>(n));
  }
  int fd_;
  std::string buf_;
};

// The Rig's daemon listens on the configuration's default address; restart
// it on a free port, with an operator user in its database.
int RestartWithApi(Rig& rig, const std::string& dir) {
  rig.daemon().Stop();
  int port = lg::testing::FreePort();
  std::string cfg_path = dir + "/bench.toml";
  std::string cfg;
  {
    std::ifstream in(cfg_path);
    std::stringstream ss;
    ss << in.rdbuf();
    cfg = ss.str();
  }
  size_t at = cfg.find("[daemon]\n");
  if (at == std::string::npos) Die("no [daemon] table in " + cfg_path);
  cfg.insert(at + 9, "listen = \"127.0.0.1:" + std::to_string(port) + "\"\n");
  std::ofstream(cfg_path) << cfg;
  {
    auto db = lg::db::Database::Open(rig.db_path());
    if (!db.ok()) Die(db.error().message);
    if (lg::Status st = lg::auth::CreateUser(**db, kUser, kPassword, lg::auth::Role::kOperator);
        !st) {
      Die(st.error().message);
    }
  }
  rig.daemon() =
      lg::testing::Process({"taskset", "-c", "0", lg::testing::DaemonPath(), "--config", cfg_path},
                           dir + "/liftguardd-api.log");
  auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    if (std::chrono::steady_clock::now() > deadline || !rig.daemon().running()) {
      Die("the daemon's API did not come up:\n" + rig.daemon().Output());
    }
    int fd = Connect(port);
    if (fd >= 0) {
      ::close(fd);
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  return port;
}

std::string Login(int port) {
  HttpConn c(port);
  nlohmann::json body = {{"username", kUser}, {"password", kPassword}};
  auto a = c.Do("POST", "/api/v1/login", "", body.dump());
  if (a.status != 200) Die("login failed: " + std::to_string(a.status) + " " + a.body);
  return nlohmann::json::parse(a.body).at("token").get<std::string>();
}

// Until every car has been read since the restart (and the faulted cars'
// alarms are open, if any are expected).
void WaitAllOnline(int port, const std::string& token, int alarms_expected) {
  HttpConn c(port);
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    auto a = c.Do("GET", "/api/v1/elevators", token);
    if (a.status != 200) Die("GET /api/v1/elevators: " + std::to_string(a.status) + " " + a.body);
    auto list = nlohmann::json::parse(a.body);
    int online = 0, with_alarms = 0;
    for (const auto& car : list) {
      if (car.at("online").get<bool>() && car.at("floor").is_number()) ++online;
      if (!car.at("active_alarms").empty()) ++with_alarms;
    }
    if (static_cast<int>(list.size()) == kCars && online == kCars &&
        with_alarms >= alarms_expected) {
      return;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      Die("after 60 s: " + std::to_string(online) + " of " + std::to_string(list.size()) +
          " cars online, " + std::to_string(with_alarms) + " with alarms");
    }
    std::this_thread::sleep_for(500ms);
  }
}

struct Figures {
  double p50, p90, p99, max;
};
Figures Summarize(const std::vector<double>& v) {
  return {Percentile(v, 50), Percentile(v, 90), Percentile(v, 99),
          v.empty() ? NAN : *std::max_element(v.begin(), v.end())};
}

// ---- 1. GET /api/v1/elevators ------------------------------------------------

bool BenchList(int port, const std::string& token, bool quick, pid_t daemon) {
  const int warmup = 20;
  const int requests = quick ? 200 : 1000;
  std::printf("GET /api/v1/elevators, %d cars (%d with an open alarm), polled at %d ms\n", kCars,
              kCars / 100, kIntervalMs);
  size_t body_bytes = 0, wire_bytes = 0;
  bool pass = true;
  for (int clients : {1, 4}) {
    std::vector<std::vector<double>> lat(static_cast<size_t>(clients));
    std::atomic<int> bad{0};
    int per_client = requests / clients;
    auto run = [&](int k) {
      HttpConn c(port);
      for (int i = 0; i < warmup; ++i) c.Do("GET", "/api/v1/elevators", token);
      for (int i = 0; i < per_client; ++i) {
        int64_t t0 = MonoNs();
        auto a = c.Do("GET", "/api/v1/elevators", token);
        int64_t t1 = MonoNs();
        if (a.status != 200) ++bad;
        lat[static_cast<size_t>(k)].push_back(static_cast<double>(t1 - t0) / 1e6);
        if (k == 0) {
          body_bytes = a.body.size();
          wire_bytes = a.wire_bytes;
        }
      }
    };
    // Warm-ups overlap the start of the others' runs by a few requests;
    // the figures are from the measured requests only.
    int64_t t0 = MonoNs();
    auto cpu0 = lg::bench::ReadProc(daemon);
    std::vector<std::thread> threads;
    for (int k = 0; k < clients; ++k) threads.emplace_back(run, k);
    for (auto& t : threads) t.join();
    double secs = static_cast<double>(MonoNs() - t0) / 1e9;
    double cpu_ms =
        1e3 * (lg::bench::ReadProc(daemon).cpu_s - cpu0.cpu_s) / (clients * (per_client + warmup));
    std::vector<double> all;
    for (const auto& l : lat) all.insert(all.end(), l.begin(), l.end());
    Figures f = Summarize(all);
    double rate = static_cast<double>(clients * (per_client + warmup)) / secs;
    std::printf(
        "  %d keep-alive client%s, %d requests: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
        "max %.2f ms; %.0f requests/s; liftguardd CPU %.1f ms per request (polling "
        "included)%s\n",
        clients, clients == 1 ? "" : "s", clients * per_client, f.p50, f.p90, f.p99, f.max, rate,
        cpu_ms, bad ? (", " + std::to_string(bad.load()) + " not 200").c_str() : "");
    if (clients == 1) {
      pass = f.p99 <= 20.0 && bad == 0;
      std::printf("  target (one client) p99 <= 20 ms: %s\n", pass ? "PASS" : "FAIL");
    }
  }
  std::printf("  answer: %zu bytes of JSON (%zu with the head), %.0f bytes per car\n\n", body_bytes,
              wire_bytes, static_cast<double>(body_bytes) / kCars);
  return pass;
}

// ---- 2. the event stream ---------------------------------------------------------

struct Arrival {
  int car;
  int floor;
  int64_t mono;        // when the bytes were read
  int64_t wall;        // the same moment, CLOCK_REALTIME
  int64_t updated_at;  // the event's updated_at, ns since the epoch
};

// The reader thread only stores what arrives, stamped; parsing waits until
// the end, so a burst is timed by when it arrived, not by how fast this
// process parses it.
struct StreamClient {
  struct Chunk {
    size_t end;    // raw.size() after it
    int64_t mono;  // when it was read
    int64_t wall;  // the same moment, CLOCK_REALTIME
  };
  int fd = -1;
  std::string raw;
  std::vector<Chunk> chunks;
  std::atomic<bool> open{true};
  std::atomic<bool> started{false};  // the head has arrived
  std::vector<Arrival> arrivals;
  long events = 0;
};

// "c12-7" -> index as Rig::CarId numbers it, or -1.
int CarIndex(std::string_view id, int per_link) {
  int link = 0, unit = 0;
  if (std::sscanf(std::string(id).c_str(), "c%d-%d", &link, &unit) != 2) return -1;
  return link * per_link + unit - 1;
}

std::string_view Field(std::string_view data, std::string_view key) {
  size_t at = data.find(key);
  if (at == std::string_view::npos) return {};
  at += key.size();
  size_t end = data.find_first_of(",}", at);
  return data.substr(at, end - at);
}

// Every event of the stream, each stamped with the read that completed it.
void ParseEvents(StreamClient& c, int per_link) {
  size_t head_end = c.raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return;
  if (c.raw.compare(0, 12, "HTTP/1.1 200") != 0) Die("stream refused: " + c.raw.substr(0, 200));
  size_t start = head_end + 4, end, chunk = 0;
  while ((end = c.raw.find("\n\n", start)) != std::string::npos) {
    std::string_view ev(c.raw.data() + start, end - start);
    start = end + 2;
    while (c.chunks[chunk].end < start) ++chunk;
    ++c.events;
    if (ev.rfind("event: state\ndata: ", 0) != 0) continue;
    std::string_view data = ev.substr(19);
    std::string_view id = Field(data, "\"id\":\"");
    std::string_view floor = Field(data, "\"floor\":");
    std::string_view at = Field(data, "\"updated_at\":\"");
    if (id.empty() || floor.empty() || floor == "null") continue;
    Arrival a{CarIndex(id.substr(0, id.size() - 1), per_link),
              std::atoi(std::string(floor).c_str()), c.chunks[chunk].mono, c.chunks[chunk].wall,
              -1};
    if (at.size() > 1) a.updated_at = lg::bench::ParseAt(std::string(at.substr(0, at.size() - 1)));
    c.arrivals.push_back(a);
  }
}

struct Change {
  int car;
  int floor;
  int64_t mono;  // when it took effect in the simulator
};

struct Delays {
  std::vector<double> e2e, delivery, sample_age;
  long missing = 0;
};

// Per client and car, the first event showing the change's floor that
// arrived after the change took effect.
Delays Match(const std::vector<StreamClient>& clients, const std::vector<Change>& changes) {
  Delays d;
  for (const auto& c : clients) {
    std::vector<std::vector<const Arrival*>> by_car(kCars);
    for (const auto& a : c.arrivals) {
      if (a.car >= 0 && a.car < kCars) by_car[static_cast<size_t>(a.car)].push_back(&a);
    }
    for (const auto& ch : changes) {
      const Arrival* hit = nullptr;
      for (const Arrival* a : by_car[static_cast<size_t>(ch.car)]) {
        if (a->mono > ch.mono && a->floor == ch.floor) {
          hit = a;
          break;
        }
      }
      if (!hit) {
        ++d.missing;
        continue;
      }
      d.e2e.push_back(static_cast<double>(hit->mono - ch.mono) / 1e6);
      if (hit->updated_at > 0) {
        // updated_at is truncated to the millisecond: +0.5 ms on average.
        d.delivery.push_back(static_cast<double>(hit->wall - hit->updated_at) / 1e6 - 0.5);
        int64_t change_wall = ch.mono + (hit->wall - hit->mono);
        d.sample_age.push_back(static_cast<double>(hit->updated_at - change_wall) / 1e6 + 0.5);
      }
    }
  }
  return d;
}

bool Report(const Delays& d, size_t pairs) {
  Figures fe = Summarize(d.e2e), fd = Summarize(d.delivery), fa = Summarize(d.sample_age);
  std::printf("    change -> SSE arrival:         p50 %6.1f ms, p99 %6.1f ms, max %6.1f ms\n",
              fe.p50, fe.p99, fe.max);
  std::printf(
      "      of it change -> sample read: p50 %6.1f ms, p99 %6.1f ms, max %6.1f ms"
      " (the poll wait)\n",
      fa.p50, fa.p99, fa.max);
  std::printf("    sample read -> SSE arrival:    p50 %6.1f ms, p99 %6.1f ms, max %6.1f ms\n",
              fd.p50, fd.p99, fd.max);
  std::printf("    missing (client, change) pairs: %ld of %zu\n", d.missing, pairs);
  bool pass = fd.p99 <= 100.0 && d.missing == 0;
  std::printf("    target sample read -> arrival p99 <= 100 ms, none missing: %s\n",
              pass ? "PASS" : "FAIL");
  return pass;
}

bool BenchStream(Rig& rig, int port, const std::string& token, bool quick, double rate) {
  const int kClients = 100;
  const int seconds = quick ? 10 : 40;
  std::vector<StreamClient> clients(kClients);
  int ep = ::epoll_create1(0);
  for (int i = 0; i < kClients; ++i) {
    auto& c = clients[static_cast<size_t>(i)];
    c.fd = Connect(port);
    if (c.fd < 0) Die("cannot connect a stream client");
    SendAll(c.fd, "GET /api/v1/stream?token=" + token +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u32 = static_cast<uint32_t>(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &e);
  }
  std::atomic<bool> stop{false};
  int per_link = rig.per_link();
  std::thread reader([&] {
    epoll_event evs[128];
    char tmp[65536];
    while (!stop) {
      int n = ::epoll_wait(ep, evs, 128, 50);
      for (int k = 0; k < n; ++k) {
        auto& c = clients[evs[k].data.u32];
        ssize_t got = ::recv(c.fd, tmp, sizeof tmp, 0);
        int64_t mono = MonoNs(), wall = WallNs();
        if (got <= 0) {
          c.open = false;
          ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
          continue;
        }
        c.raw.append(tmp, static_cast<size_t>(got));
        c.chunks.push_back({c.raw.size(), mono, wall});
        if (!c.started && c.raw.find("\r\n\r\n") != std::string::npos) c.started = true;
      }
    }
  });
  // All connected and subscribed; a client dropped right away (as when a
  // daemon sent every car to new subscribers) shows here.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    int started = 0;
    for (const auto& c : clients) started += c.started ? 1 : 0;
    if (started == kClients) break;
    std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(2s);
  int dropped_early = 0;
  for (const auto& c : clients) dropped_early += (!c.open || !c.started) ? 1 : 0;
  int64_t t0 = MonoNs();
  auto cpu0 = lg::bench::ReadProc(rig.daemon().pid());

  // Cars in a shuffled order, skipping the faulted ones; a car comes round
  // again only after all the others, i.e. seconds later.
  std::vector<int> order;
  for (int i = 0; i < kCars; ++i) {
    if (i % 100 != 0) order.push_back(i);
  }
  std::mt19937 rng(5);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<int> floor_of(kCars);
  for (int i = 0; i < kCars; ++i) floor_of[static_cast<size_t>(i)] = i % per_link % 10;
  auto change = [&](int car) {
    int& floor = floor_of[static_cast<size_t>(car)];
    floor = (floor + 1 + static_cast<int>(rng() % 8)) % 10;  // never the one it shows
    std::string reply =
        rig.sim().Must("set " + rig.SimCar(car) + " floor " + std::to_string(floor));
    return Change{car, floor, lg::bench::ParseT(reply)};
  };

  // Paced: changes at a steady rate.
  std::vector<Change> paced;
  const int total = static_cast<int>(rate * seconds);
  const double gap_ms = 1000.0 / rate;
  auto next = std::chrono::steady_clock::now();
  for (int k = 0; k < total; ++k) {
    paced.push_back(change(order[static_cast<size_t>(k) % order.size()]));
    // Jittered so changes land at every phase of the poll and scan cycles.
    next += std::chrono::microseconds(
        static_cast<int64_t>(gap_ms * 1000 * (0.5 + static_cast<double>(rng() % 1000) / 1000)));
    std::this_thread::sleep_until(next);
  }
  double cpu_pct = 100 * (lg::bench::ReadProc(rig.daemon().pid()).cpu_s - cpu0.cpu_s) /
                   (static_cast<double>(MonoNs() - t0) / 1e9);
  // Burst: every car at once (a power cut does that), once the paced
  // changes have been read and their throttle periods are over.
  std::this_thread::sleep_for(std::chrono::milliseconds(kIntervalMs) + 1500ms);
  std::vector<Change> burst;
  for (int car : order) burst.push_back(change(car));
  double burst_ms = static_cast<double>(burst.back().mono - burst.front().mono) / 1e6;
  // Late ones: one poll interval, one throttle period and more.
  std::this_thread::sleep_for(std::chrono::milliseconds(kIntervalMs) + 2s);
  stop = true;
  reader.join();
  ::close(ep);
  int dropped = 0;
  long events = 0;
  for (auto& c : clients) {
    ParseEvents(c, per_link);
    dropped += c.open ? 0 : 1;
    events += c.events;
    ::close(c.fd);
  }

  std::printf("GET /api/v1/stream: %d clients at once, %d cars polled at %d ms\n", kClients, kCars,
              kIntervalMs);
  std::printf(
      "  events received: %ld over all clients; clients dropped: %d (%d before the start)\n",
      events, dropped, dropped_early);
  std::printf("  paced: %zu floor changes in %d s (%.0f/s, each car at most once per %.1f s)\n",
              paced.size(), seconds, rate, static_cast<double>(order.size()) / rate);
  std::printf("    liftguardd CPU meanwhile: %.1f %% of one core (polling included)\n", cpu_pct);
  bool pass = Report(Match(clients, paced), paced.size() * kClients);
  std::printf("  burst: every car but the faulted ones, %zu changes within %.0f ms\n", burst.size(),
              burst_ms);
  pass &= Report(Match(clients, burst), burst.size() * kClients);
  pass &= dropped == 0;
  std::printf("\n");
  return pass;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string only;
  double rate = 50;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    if (std::strncmp(argv[i], "--only=", 7) == 0) only = argv[i] + 7;
    if (std::strncmp(argv[i], "--rate=", 7) == 0) rate = std::atof(argv[i] + 7);
  }
  if (rate <= 0) Die("--rate must be positive");
  std::string dir = lg::testing::TempDir("bench-api");
  Rig rig(dir, kCars, kLinks, kIntervalMs);
  int port = RestartWithApi(rig, dir);
  std::string token = Login(port);
  // 1 % of the cars with an open alarm, so the list carries some.
  for (int i = 0; i < kCars; i += 100)
    rig.sim().Must("fault " + rig.SimCar(i) + " controller_fault on");
  WaitAllOnline(port, token, kCars / 100);
  std::this_thread::sleep_for(2s);

  // Figures, not a test: a missed target is printed, and the other
  // benchmarks of scripts/bench still run.
  if (only.empty() || only == "list") BenchList(port, token, quick, rig.daemon().pid());
  if (only.empty() || only == "stream") BenchStream(rig, port, token, quick, rate);
  return 0;
}
