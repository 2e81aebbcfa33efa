#include "daemon/outbox_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "db/outbox_store.h"

namespace lg {

Millis Backoff(int failures, Millis first, Millis cap, double jitter, double u) {
  double ms = static_cast<double>(first.count());
  for (int i = 1; i < failures && ms < static_cast<double>(cap.count()); ++i) ms *= 2;
  ms = std::min(ms, static_cast<double>(cap.count()));
  ms -= ms * std::clamp(jitter, 0.0, 1.0) * std::clamp(u, 0.0, 1.0);
  return Millis(std::max<int64_t>(1, std::llround(ms)));
}

namespace {

// What the worker knows of a channel; kept by id across SetChannels.
struct Health {
  // Failures in a row (recoverable or not) that count against health.
  int consecutive_failures = 0;
  std::optional<SteadyTime> failing_since;
  WallTime failing_since_wall{};
  bool down = false;
  bool reported_up = false;
  SteadyTime rest_until{};
  std::string last_error;
  std::string last_logged_code;  // the error logged last, to log changes only
  uint64_t delivered = 0;
  uint64_t failed_attempts = 0;
  uint64_t given_up = 0;

  // Scheduled tests.
  bool test_loaded = false;
  WallTime next_test{};
  std::string watched_test;  // key of the test message not yet delivered
  WallTime watched_created{};
};

struct Lane {
  ChannelEntry entry;
  bool hastened = false;  // undelivered messages made due once, at the lane's start
  std::optional<SteadyTime> last_expiry;
  std::optional<SteadyTime> last_prune;
  std::thread thread;
};

struct Pass {
  int attempts = 0;
  Millis wait{0};  // 0: more to do at once
};

}  // namespace

class OutboxWorker::Impl {
 public:
  Impl(db::Database& db, const Clock& clock, OutboxWorkerOptions o)
      : store_(db), clock_(clock), options_(std::move(o)), rng_(Seed(options_.seed)) {}

  static uint32_t Seed(uint32_t s) { return s != 0 ? s : std::random_device{}(); }

  void SetChannels(std::vector<ChannelEntry> channels) {
    std::lock_guard control(control_mu_);
    bool was_running = running_;
    StopLanes();
    lanes_.clear();
    std::vector<std::pair<std::string, std::string>> shown;
    for (ChannelEntry& e : channels) {
      shown.emplace_back(e.channel->id(), std::string(e.channel->kind()));
      auto lane = std::make_unique<Lane>();
      lane->entry = std::move(e);
      lanes_.push_back(std::move(lane));
    }
    {
      std::lock_guard lock(mu_);
      shown_ = std::move(shown);
    }
    if (was_running) StartLanes();
  }

  void SetHealthListener(HealthListener l) {
    std::lock_guard lock(mu_);
    listener_ = std::move(l);
  }

  void Start() {
    std::lock_guard control(control_mu_);
    if (!running_) StartLanes();
  }

  void Stop() {
    std::lock_guard control(control_mu_);
    StopLanes();
  }

  void Wake() {
    std::lock_guard lock(mu_);
    ++wake_seq_;
    cv_.notify_all();
  }

  int RunOnce() {
    std::lock_guard control(control_mu_);
    int n = 0;
    for (auto& lane : lanes_) {
      // Passes until the lane has nothing left to do now; bounded, in case
      // a channel keeps accepting faster than it is fed.
      for (int i = 0; i < 1000; ++i) {
        Pass p = RunPass(*lane);
        n += p.attempts;
        if (p.wait.count() > 0) break;
      }
    }
    return n;
  }

  // Not under control_mu_: a reload waiting for a slow delivery must not
  // hold up whoever asks for the figures.
  std::vector<ChannelStats> Stats() {
    std::lock_guard lock(mu_);
    std::vector<ChannelStats> out;
    for (const auto& [id, kind] : shown_) {
      Health& h = health_[id];
      ChannelStats s;
      s.channel = id;
      s.kind = kind;
      s.down = h.down;
      s.failing = h.failing_since.has_value();
      s.consecutive_failures = h.consecutive_failures;
      s.delivered = h.delivered;
      s.failed_attempts = h.failed_attempts;
      s.given_up = h.given_up;
      s.last_error = h.last_error;
      out.push_back(std::move(s));
    }
    return out;
  }

 private:
  // control_mu_ held.
  void StartLanes() {
    {
      std::lock_guard lock(mu_);
      stopping_ = false;
    }
    running_ = true;
    for (auto& lane : lanes_) {
      Lane* l = lane.get();
      l->thread = std::thread([this, l] { RunLane(*l); });
    }
  }

  // control_mu_ held.
  void StopLanes() {
    if (!running_) return;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    for (auto& lane : lanes_) {
      if (lane->thread.joinable()) lane->thread.join();
    }
    running_ = false;
  }

  void RunLane(Lane& lane) {
    uint64_t seen = 0;
    {
      std::lock_guard lock(mu_);
      seen = wake_seq_;
    }
    for (;;) {
      Pass p;
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      p = RunPass(lane);
      if (p.wait.count() > 0) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::min(p.wait, options_.idle_wake),
                     [&] { return stopping_ || wake_seq_ != seen; });
        seen = wake_seq_;
        if (stopping_) return;
      }
      lane.entry.channel->Idle();
    }
  }

  bool Stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  double Uniform() {
    std::lock_guard lock(mu_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  }

  Millis BackoffFor(int failures) {
    return Backoff(failures, options_.backoff_first, options_.backoff_cap, options_.jitter,
                   Uniform());
  }

  // One pass of a lane: tests, expiry, then the due messages.
  Pass RunPass(Lane& lane) {
    Channel& ch = *lane.entry.channel;
    const std::string& id = ch.id();
    Pass pass;
    SteadyTime now = clock_.Now();
    WallTime wall = clock_.WallNow();

    if (!lane.hastened) {
      // After a restart (or a reload), what was not delivered goes at once,
      // with the keys it had.
      if (Status st = store_.Hasten(id, wall); !st) return DatabaseTrouble(id, st.error());
      lane.hastened = true;
    }
    ScheduleTest(lane, wall);
    WatchTest(id, wall);
    if (options_.give_up_after.count() > 0 &&
        (!lane.last_expiry || now - *lane.last_expiry >= std::chrono::minutes(1))) {
      lane.last_expiry = now;
      Result<int> n = store_.Expire(id, wall - options_.give_up_after, wall);
      if (n && *n > 0) {
        spdlog::error(
            "outbox: channel {}: gave up {} message(s) not delivered within {} min", id, *n,
            std::chrono::duration_cast<std::chrono::minutes>(options_.give_up_after).count());
        std::lock_guard lock(mu_);
        health_[id].given_up += static_cast<uint64_t>(*n);
      }
    }

    if (options_.prune_after.count() > 0 &&
        (!lane.last_prune || now - *lane.last_prune >= std::chrono::hours(1))) {
      lane.last_prune = now;
      Result<int> n = store_.Prune(id, wall - options_.prune_after);
      if (n && *n > 0) spdlog::debug("outbox: channel {}: pruned {} old message(s)", id, *n);
    }

    SteadyTime rest_until;
    {
      std::lock_guard lock(mu_);
      rest_until = health_[id].rest_until;
    }
    if (now < rest_until) {
      CheckHealth(id, now);
      pass.wait = std::chrono::duration_cast<Millis>(rest_until - now) + Millis(1);
      return pass;
    }

    Result<std::vector<db::OutboxMessage>> due = store_.Due(wall, {id}, options_.batch, Horizon());
    if (!due) return DatabaseTrouble(id, due.error());

    bool again = due->size() == static_cast<size_t>(options_.batch);
    for (const db::OutboxMessage& m : *due) {
      if (Stopping()) break;
      Status st = ch.Deliver(m);
      ++pass.attempts;
      now = clock_.Now();
      wall = clock_.WallNow();
      if (st) {
        if (Status mark = store_.MarkDelivered(m.id, wall); !mark) {
          // Delivered but not recorded: it goes again, with the same key.
          spdlog::error("outbox: {} delivered through {} but not marked: {}", m.key, id,
                        mark.error().message);
        }
        if (OnSuccess(id, wall)) {
          // The channel is back: what waited for it is due now, oldest first.
          (void)store_.Hasten(id, wall);
          again = true;
          break;
        }
        continue;
      }
      const Error& e = st.error();
      if (e.recoverable) {
        WallTime next = wall + BackoffFor(m.attempts + 1);
        (void)store_.MarkRetry(m.id, next, e.message);
        OnFailure(id, e, now, wall, /*rest=*/true);
        again = false;
        break;
      }
      (void)store_.MarkFailed(m.id, wall, e.message);
      spdlog::error("outbox: {} through {} given up: {}", m.key, id, e.message);
      {
        std::lock_guard lock(mu_);
        ++health_[id].given_up;
      }
      if (ChannelErrorCountsAgainstHealth(e)) {
        OnFailure(id, e, now, wall, /*rest=*/false);
      } else {
        std::lock_guard lock(mu_);
        health_[id].last_error = e.message;
      }
    }
    WatchTest(id, wall);
    CheckHealth(id, now);

    if (again) return pass;
    pass.wait = options_.idle_wake;
    Result<std::optional<WallTime>> next = store_.NextDue({id});
    if (next && *next) {
      auto until = std::chrono::duration_cast<Millis>(**next - wall);
      pass.wait = std::clamp(until, Millis(1), options_.idle_wake);
    }
    std::lock_guard lock(mu_);
    if (health_[id].rest_until > now) {
      pass.wait = std::max(
          pass.wait, std::chrono::duration_cast<Millis>(health_[id].rest_until - now) + Millis(1));
    }
    return pass;
  }

  // No backoff is longer than the cap, so a next attempt further away than
  // that means the wall clock was set back.
  Millis Horizon() const { return options_.backoff_cap * 2 + Millis(60000); }

  Pass DatabaseTrouble(const std::string& id, const Error& e) {
    spdlog::warn("outbox: channel {}: database: {}", id, e.message);
    Pass p;
    p.wait = options_.backoff_first;
    return p;
  }

  // Returns true if the channel had been failing.
  bool OnSuccess(const std::string& id, WallTime wall) {
    std::optional<ChannelHealthReport> report;
    bool was_failing = false;
    {
      std::lock_guard lock(mu_);
      Health& h = health_[id];
      was_failing = h.consecutive_failures > 0 || h.failing_since.has_value();
      ++h.delivered;
      if (h.down || !h.reported_up) {
        report = ChannelHealthReport{id, false, false, "", wall};
        h.reported_up = true;
      }
      if (was_failing) spdlog::info("outbox: channel {} works again", id);
      h.down = false;
      h.consecutive_failures = 0;
      h.failing_since.reset();
      h.rest_until = SteadyTime{};
      h.last_error.clear();
      h.last_logged_code.clear();
    }
    if (report) Tell(*report);
    return was_failing;
  }

  void OnFailure(const std::string& id, const Error& e, SteadyTime now, WallTime wall, bool rest) {
    std::lock_guard lock(mu_);
    Health& h = health_[id];
    ++h.failed_attempts;
    ++h.consecutive_failures;
    if (!h.failing_since) {
      h.failing_since = now;
      h.failing_since_wall = wall;
    }
    h.last_error = e.message;
    if (rest) h.rest_until = now + BackoffLocked(h.consecutive_failures);
    // Logged when the kind of error changes, not at every retry.
    if (e.code != h.last_logged_code) {
      spdlog::warn("outbox: channel {} failing: {}", id, e.message);
      h.last_logged_code = e.code;
    }
  }

  Millis BackoffLocked(int failures) {
    double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    return Backoff(failures, options_.backoff_first, options_.backoff_cap, options_.jitter, u);
  }

  void CheckHealth(const std::string& id, SteadyTime now) {
    std::optional<ChannelHealthReport> report;
    {
      std::lock_guard lock(mu_);
      Health& h = health_[id];
      if (h.failing_since && !h.down && now - *h.failing_since >= options_.down_after) {
        h.down = true;
        report = ChannelHealthReport{id, true, false, h.last_error, h.failing_since_wall};
        spdlog::error("outbox: channel {} is down: failing since {}: {}", id,
                      db::FormatTime(h.failing_since_wall), h.last_error);
      }
    }
    if (report) Tell(*report);
  }

  void ScheduleTest(Lane& lane, WallTime wall) {
    if (!lane.entry.test || options_.test_every.count() <= 0) return;
    const std::string& id = lane.entry.channel->id();
    bool loaded;
    {
      std::lock_guard lock(mu_);
      loaded = health_[id].test_loaded;
    }
    if (!loaded) {
      Result<std::optional<db::OutboxMessage>> last = store_.LatestTest(id);
      if (!last) return;
      std::lock_guard lock(mu_);
      Health& h = health_[id];
      h.next_test = wall;
      if (*last) {
        std::optional<WallTime> created = db::ParseTime((*last)->created_at);
        if (created) h.next_test = *created + options_.test_every;
        if (created && (*last)->delivered_at.empty() && (*last)->failed_at.empty()) {
          h.watched_test = (*last)->key;
          h.watched_created = *created;
        }
      }
      h.test_loaded = true;
    }
    {
      std::lock_guard lock(mu_);
      if (wall < health_[id].next_test) return;
    }
    db::OutboxMessage m = TestMessage(lane.entry, wall);
    Result<bool> r = store_.Enqueue(m, wall);
    if (!r) {
      spdlog::warn("outbox: cannot queue the test message of {}: {}", id, r.error().message);
      return;
    }
    spdlog::info("outbox: scheduled test message for channel {}", id);
    std::lock_guard lock(mu_);
    Health& h = health_[id];
    h.next_test = wall + options_.test_every;
    h.watched_test = m.key;
    h.watched_created = wall;
  }

  db::OutboxMessage TestMessage(const ChannelEntry& e, WallTime wall) const {
    const std::string& id = e.channel->id();
    std::string stamp = db::FormatTime(wall);
    std::string every =
        std::to_string(std::chrono::duration_cast<std::chrono::hours>(options_.test_every).count());
    std::string site = options_.site_name.empty() ? std::string("Liftguard") : options_.site_name;
    db::OutboxMessage m;
    m.event = "test:" + id;
    m.step = stamp;
    m.recipient = e.test_target.empty() ? "channel:" + id : e.test_target;
    m.key = db::MakeKey(m.event, m.step, m.recipient);
    m.channel = id;
    m.target = e.test_target;
    m.test = true;
    m.subject = "[测试 TEST] Liftguard 通知通道测试 / notification channel test: " + id;
    m.text = "这是 Liftguard 的定期测试消息（每 " + every + " 小时一次），无需处理。\n" +
             "This is Liftguard's scheduled test message (every " + every +
             " h). No action is needed.\n\n" + "站点 Site: " + site + "\n" + "通道 Channel: " + id +
             "\n" + "时间 Time: " + stamp + "\n";
    m.markdown = "### [测试 TEST] Liftguard\n" + std::string("这是定期测试消息（每 ") + every +
                 " 小时），无需处理。  \n" + "Scheduled test message (every " + every +
                 " h). No action is needed.  \n" + "**站点 Site:** " + site + "  \n" +
                 "**通道 Channel:** " + id + "  \n" + "**时间 Time:** " + stamp;
    return m;
  }

  void WatchTest(const std::string& id, WallTime wall) {
    std::string key;
    WallTime created;
    {
      std::lock_guard lock(mu_);
      Health& h = health_[id];
      key = h.watched_test;
      created = h.watched_created;
    }
    if (key.empty()) return;
    Result<std::optional<db::OutboxMessage>> m = store_.Find(key);
    if (!m) return;
    std::optional<ChannelHealthReport> report;
    {
      std::lock_guard lock(mu_);
      Health& h = health_[id];
      if (!*m || !(*m)->delivered_at.empty()) {
        h.watched_test.clear();
      } else if (!(*m)->failed_at.empty()) {
        h.watched_test.clear();
        report = ChannelHealthReport{id, true, true, "scheduled test failed: " + (*m)->last_error,
                                     created};
      } else if (wall - created >= options_.test_timeout) {
        h.watched_test.clear();
        std::string why =
            "scheduled test not delivered within " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(options_.test_timeout).count()) +
            " s";
        if (!(*m)->last_error.empty()) why += ": " + (*m)->last_error;
        report = ChannelHealthReport{id, true, true, why, created};
      }
      if (report) {
        h.down = true;
        spdlog::error("outbox: channel {}: {}", id, report->reason);
      }
    }
    if (report) Tell(*report);
  }

  void Tell(const ChannelHealthReport& r) {
    HealthListener l;
    {
      std::lock_guard lock(mu_);
      l = listener_;
    }
    if (l) l(r);
  }

  db::OutboxStore store_;
  const Clock& clock_;
  const OutboxWorkerOptions options_;

  std::mutex control_mu_;  // lanes_, running_: Start, Stop, SetChannels, RunOnce
  std::vector<std::unique_ptr<Lane>> lanes_;
  bool running_ = false;

  std::mutex mu_;  // everything below
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t wake_seq_ = 0;
  std::map<std::string, Health> health_;
  std::vector<std::pair<std::string, std::string>> shown_;  // (id, kind) of the channels
  HealthListener listener_;
  std::mt19937 rng_;
};

OutboxWorker::OutboxWorker(db::Database& db, const Clock& clock, OutboxWorkerOptions options)
    : impl_(std::make_unique<Impl>(db, clock, std::move(options))) {}

OutboxWorker::~OutboxWorker() { impl_->Stop(); }

void OutboxWorker::SetChannels(std::vector<ChannelEntry> channels) {
  impl_->SetChannels(std::move(channels));
}
void OutboxWorker::SetHealthListener(HealthListener listener) {
  impl_->SetHealthListener(std::move(listener));
}
void OutboxWorker::Start() { impl_->Start(); }
void OutboxWorker::Stop() { impl_->Stop(); }
void OutboxWorker::Wake() { impl_->Wake(); }
int OutboxWorker::RunOnce() { return impl_->RunOnce(); }
std::vector<ChannelStats> OutboxWorker::Stats() const { return impl_->Stats(); }

}  // namespace lg
