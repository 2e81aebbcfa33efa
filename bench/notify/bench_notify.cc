// bench_notify: notification latency. The real liftsim serves 200 static
// cars over 10 links; the real liftguardd polls them at 2 Hz (both pinned,
// as in the other benchmarks) with a generic webhook channel (the safety
// manager's) and an [mqtt] broker (a real mosquitto). UCM faults (critical,
// no "sustained" threshold) are injected into distinct cars at random
// moments; each alarm is committed together with its outbox messages, among
// them one to the webhook and one to <prefix>/alarms.
//
// Measured per alarm and channel: from the alarm being committed to its
// first message accepted by the receiver. "Committed" is when the alarm's
// row becomes visible to a read-only connection that this process polls
// every 0.5 ms: the alarm and its outbox messages commit in one transaction.
// Shown beside it, from the outbox row's created_at (the time the daemon
// takes inside that transaction, just before the commit; it travels in
// every message as the envelope's created_at, in ms), which adds the
// commit's own fsync. "Accepted" is the wall time at which this process
// has read the whole request (a webhook receiver in this process, answering
// 200 at once) or the message arrives from mosquitto (a libmosquitto
// subscriber in this process, QoS 1).
//
// Target (issue "Alert the people responsible..."): p99 <= 200 ms for both.
//
// Usage: bench_notify [--quick]
#include <arpa/inet.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "db/database.h"
#include "tests/integration/harness.h"

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using lg::bench::Percentile;
using lg::bench::Rig;
using lg::bench::WallNs;

constexpr int kCars = 200, kLinks = 10, kIntervalMs = 500;
constexpr char kPrefix[] = "bench";

// Arrivals by idempotency key: (arrival wall ns, created_at as ns).
struct Arrivals {
  std::mutex mu;
  std::map<std::string, std::pair<int64_t, int64_t>> first;
  int total = 0;
  void Add(const std::string& payload, int64_t at) {
    json j = json::parse(payload, nullptr, false);
    if (!j.is_object()) return;
    std::string key = j.value("idempotency_key", "");
    int64_t created = lg::bench::ParseAt(j.value("created_at", ""));
    std::lock_guard lock(mu);
    ++total;
    first.emplace(key, std::make_pair(at, created));
  }
};

// A minimal HTTP/1.1 server: reads each request whole, notes the time,
// answers 200. One thread per connection (the daemon keeps one open).
class WebhookReceiver {
 public:
  explicit WebhookReceiver(Arrivals& arrivals) : arrivals_(arrivals) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) {
      std::perror("webhook receiver");
      std::exit(1);
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_ = std::thread([this] { Accept(); });
  }
  ~WebhookReceiver() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    accept_.join();
    for (auto& t : conns_) t.join();
  }
  int port() const { return port_; }

 private:
  void Accept() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      int one = 1;
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      conns_.emplace_back([this, c] { Serve(c); });
    }
  }

  void Serve(int c) {
    std::string buf;
    char chunk[16384];
    while (!stop_) {
      size_t head = buf.find("\r\n\r\n");
      if (head != std::string::npos) {
        size_t length = 0;
        std::string lower = buf.substr(0, head);
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        size_t cl = lower.find("content-length:");
        if (cl != std::string::npos) length = std::stoul(lower.substr(cl + 15));
        if (buf.size() >= head + 4 + length) {
          int64_t at = WallNs();
          arrivals_.Add(buf.substr(head + 4, length), at);
          buf.erase(0, head + 4 + length);
          static constexpr char kReply[] =
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
          (void)!::send(c, kReply, sizeof kReply - 1, MSG_NOSIGNAL);
          continue;
        }
      }
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::recv(c, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
    }
    ::close(c);
  }

  Arrivals& arrivals_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_;
  std::vector<std::thread> conns_;
};

class Subscriber {
 public:
  Subscriber(int port, Arrivals& arrivals) : arrivals_(arrivals) {
    mosquitto_lib_init();
    m_ = mosquitto_new("bench-notify-sub", true, this);
    mosquitto_message_callback_set(m_, [](mosquitto*, void* self, const mosquitto_message* msg) {
      int64_t at = WallNs();
      static_cast<Subscriber*>(self)->arrivals_.Add(
          std::string(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen)),
          at);
    });
    mosquitto_connect_callback_set(m_, [](mosquitto* m, void*, int rc) {
      if (rc == 0) mosquitto_subscribe(m, nullptr, (std::string(kPrefix) + "/alarms").c_str(), 1);
    });
    if (mosquitto_connect(m_, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(m_) != MOSQ_ERR_SUCCESS) {
      std::fprintf(stderr, "cannot subscribe to mosquitto on %d\n", port);
      std::exit(1);
    }
  }
  ~Subscriber() {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, true);
    mosquitto_destroy(m_);
    mosquitto_lib_cleanup();
  }

 private:
  Arrivals& arrivals_;
  mosquitto* m_ = nullptr;
};

struct Figures {
  std::vector<double> from_commit;   // committed (seen by a reader) -> accepted
  std::vector<double> from_created;  // created in the transaction -> accepted
  int missing = 0;
};

// `committed`: alarm id -> when a reader first saw its row.
Figures Measure(Arrivals& a, const std::vector<std::pair<int64_t, std::string>>& keys,
                const std::map<int64_t, int64_t>& committed) {
  Figures f;
  std::lock_guard lock(a.mu);
  for (const auto& [id, k] : keys) {
    auto it = a.first.find(k);
    auto c = committed.find(id);
    if (it == a.first.end() || it->second.second < 0 || c == committed.end()) {
      ++f.missing;
      continue;
    }
    f.from_commit.push_back(static_cast<double>(it->second.first - c->second) / 1e6);
    f.from_created.push_back(static_cast<double>(it->second.first - it->second.second) / 1e6);
  }
  return f;
}

// Polls the daemon's database every 0.5 ms on a read-only connection and
// notes when each alarm row becomes visible: the moment its transaction
// (and with it its outbox messages) was committed, give or take the poll.
class CommitWatcher {
 public:
  explicit CommitWatcher(const std::string& db_path) : path_(db_path) {
    thread_ = std::thread([this] { Run(); });
  }
  ~CommitWatcher() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::map<int64_t, int64_t> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void Run() {
    std::unique_ptr<SQLite::Database> reader;
    int64_t last = 0;
    while (!stop_) {
      if (!reader) {
        auto r = lg::db::Database::OpenReader(path_);
        if (r.ok()) reader = std::move(*r);
      }
      if (reader) {
        try {
          SQLite::Statement q(*reader, "SELECT id FROM alarms WHERE id > ? ORDER BY id");
          q.bind(1, last);
          int64_t now = WallNs();
          std::lock_guard lock(mu_);
          while (q.executeStep()) {
            last = q.getColumn(0).getInt64();
            seen_.emplace(last, now);
          }
        } catch (const std::exception&) {
          reader.reset();
        }
      }
      std::this_thread::sleep_for(500us);
    }
  }
  std::string path_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<int64_t, int64_t> seen_;
};

void Print(const char* what, const Figures& f) {
  std::printf("  committed -> %-34s p50 %6.1f ms, p99 %6.1f ms, max %6.1f ms (%zu, %d missing)\n",
              what, Percentile(f.from_commit, 50), Percentile(f.from_commit, 99),
              Percentile(f.from_commit, 100), f.from_commit.size(), f.missing);
  std::printf(
      "    (from the row's creation inside the transaction, the commit's fsync "
      "included: p50 %6.1f ms, p99 %6.1f ms)\n",
      Percentile(f.from_created, 50), Percentile(f.from_created, 99));
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int alarms = quick ? 60 : 180;
  std::string dir = lg::testing::TempDir("bench-notify");

  Arrivals hook_arrivals, mqtt_arrivals;
  WebhookReceiver hook(hook_arrivals);
  int mqtt_port = lg::testing::FreePort();
  {
    std::ofstream(dir + "/mosquitto.conf") << "listener " << mqtt_port << " 127.0.0.1\n"
                                           << "allow_anonymous true\npersistence false\n";
  }
  lg::testing::Process broker({"mosquitto", "-c", dir + "/mosquitto.conf"}, dir + "/mosquitto.log");
  std::this_thread::sleep_for(500ms);
  Subscriber sub(mqtt_port, mqtt_arrivals);

  std::string extra =
      "[rules]\nflood_count = 10000\n"
      "[notify]\ntest_interval_h = 0\n"
      "[[channel]]\nid = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:" +
      std::to_string(hook.port()) +
      "/hook\"\n"
      "[[contact]]\nid = \"safety-manager\"\nchannels = [\"webhook:hook\"]\n"
      "[mqtt]\nurl = \"mqtt://127.0.0.1:" +
      std::to_string(mqtt_port) + "\"\ntopic_prefix = \"" + kPrefix + "\"\n";
  Rig rig(dir, kCars, kLinks, kIntervalMs, extra);
  CommitWatcher watcher(rig.db_path());

  // Distinct cars at random moments, 30..150 ms apart: a few alarms are
  // in flight at once, as in a real incident that touches several cars.
  std::mt19937 rng(17);
  std::vector<int> cars(kCars);
  for (int i = 0; i < kCars; ++i) cars[i] = i;
  std::shuffle(cars.begin(), cars.end(), rng);
  for (int n = 0; n < alarms; ++n) {
    rig.sim().Must("fault " + rig.SimCar(cars[n]) + " ucm on");
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 120));
  }
  std::this_thread::sleep_for(3s);
  watcher.Stop();

  // The keys to expect, from the daemon's database: each UCM alarm's first
  // transition.
  std::vector<std::pair<int64_t, std::string>> hook_keys, mqtt_keys;
  {
    auto reader = lg::db::Database::OpenReader(rig.db_path());
    if (!reader.ok()) {
      std::fprintf(stderr, "%s\n", reader.error().message.c_str());
      return 1;
    }
    SQLite::Statement q(**reader, "SELECT id FROM alarms WHERE type = 'UCM'");
    while (q.executeStep()) {
      int64_t id = q.getColumn(0).getInt64();
      std::string name = "alarm:" + std::to_string(id) + ":r1:";
      hook_keys.emplace_back(id, name + "channel:hook");
      mqtt_keys.emplace_back(id, name + "mqtt:" + kPrefix + "/alarms");
    }
  }
  auto committed = watcher.seen();
  Figures h = Measure(hook_arrivals, hook_keys, committed);
  Figures m = Measure(mqtt_arrivals, mqtt_keys, committed);
  lg::bench::ProcStat ps = lg::bench::ReadProc(rig.daemon().pid());
  rig.daemon().Stop();

  std::printf(
      "bench_notify: %d cars / %d links / %d ms interval, %d UCM alarms injected, %zu "
      "committed\n",
      kCars, kLinks, kIntervalMs, alarms, hook_keys.size());
  Print("accepted by the webhook receiver:", h);
  Print("delivered by mosquitto:", m);
  std::printf("  daemon: %.1f s CPU, %ld MB RSS\n", ps.cpu_s, ps.rss_kb / 1024);
  bool pass = h.missing == 0 && m.missing == 0 && !h.from_commit.empty() &&
              !m.from_commit.empty() && Percentile(h.from_commit, 99) <= 200 &&
              Percentile(m.from_commit, 99) <= 200;
  std::printf("  target p99 <= 200 ms for both, none missing: %s\n", pass ? "PASS" : "FAIL");
  return 0;
}
