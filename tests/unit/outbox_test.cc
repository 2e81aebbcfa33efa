// The outbox (db/outbox_store.h), backoff, and the worker's state machine
// (daemon/outbox_worker.h) with a ManualClock and fake channels. The real
// channels against real servers are in tests/integration/notify_test.cc.
#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <map>
#include <mutex>

#include "core/alarm_type.h"
#include "daemon/channels.h"
#include "daemon/outbox_worker.h"
#include "db/database.h"
#include "db/outbox_store.h"

namespace lg {
namespace {

using namespace std::chrono_literals;
using db::OutboxMessage;
using db::OutboxStore;

std::string TempDb(const std::string& name) {
  auto dir = std::filesystem::path(LG_BINARY_DIR) / "tmp" / "outbox";
  std::filesystem::create_directories(dir);
  auto p = dir / (name + ".db");
  std::filesystem::remove(p);
  std::filesystem::remove(p.string() + "-wal");
  std::filesystem::remove(p.string() + "-shm");
  return p.string();
}

std::unique_ptr<db::Database> OpenDb(const std::string& name) {
  auto db = db::Database::Open(TempDb(name));
  EXPECT_TRUE(db.ok()) << db.error().message;
  return std::move(*db);
}

OutboxMessage Msg(const std::string& key, const std::string& channel = "hook") {
  OutboxMessage m;
  m.key = key;
  m.event = "alarm:1";
  m.channel = channel;
  m.subject = "subject " + key;
  m.text = "text " + key;
  return m;
}

// ---------------------------------------------------------------------------
// The store

TEST(OutboxStore, EnqueueingAKeyTwiceChangesNothing) {
  auto db = OpenDb("twice");
  OutboxStore store(*db);
  ManualClock clock;
  auto first = store.Enqueue(Msg("k1"), clock.WallNow());
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(*first);
  OutboxMessage changed = Msg("k1");
  changed.text = "a different text";
  auto second = store.Enqueue(changed, clock.WallNow());
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  auto found = store.Find("k1");
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_EQ((*found)->text, "text k1");
  EXPECT_EQ(store.Counts()->pending, 1);
}

TEST(OutboxStore, KeyFromEventStepRecipient) {
  auto db = OpenDb("parts");
  OutboxStore store(*db);
  ManualClock clock;
  OutboxMessage m;
  m.event = "incident:7";
  m.step = "esc:3m";
  m.recipient = "email:a@b.org";
  m.channel = "[smtp]";
  m.target = "a@b.org";
  ASSERT_TRUE(*store.Enqueue(m, clock.WallNow()));
  EXPECT_FALSE(*store.Enqueue(m, clock.WallNow()));
  auto found = store.Find("incident:7:esc:3m:email:a@b.org");
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_EQ((*found)->target, "a@b.org");

  OutboxMessage nothing;
  nothing.channel = "x";
  EXPECT_FALSE(store.Enqueue(nothing, clock.WallNow()).ok());
  OutboxMessage no_channel = Msg("k");
  no_channel.channel.clear();
  EXPECT_FALSE(store.Enqueue(no_channel, clock.WallNow()).ok());
}

TEST(OutboxStore, EnqueuedWithTheStateChangeOrNotAtAll) {
  auto db = OpenDb("atomic");
  ManualClock clock;
  // The state change fails after the enqueue: both roll back.
  Status st = db->Transaction([&](SQLite::Database& tx) -> Status {
    auto r = OutboxStore::Enqueue(tx, Msg("k1"), clock.WallNow());
    if (!r) return r.error();
    tx.exec("INSERT INTO events(at, elevator, kind) VALUES ('t', 'A', 'mode')");
    return Error::Permanent("test", "the state change failed");
  });
  EXPECT_FALSE(st.ok());
  OutboxStore store(*db);
  EXPECT_EQ(store.Counts()->pending, 0);
  // Committed: both there.
  st = db->Transaction([&](SQLite::Database& tx) -> Status {
    tx.exec("INSERT INTO events(at, elevator, kind) VALUES ('t', 'A', 'mode')");
    auto r = OutboxStore::Enqueue(tx, Msg("k1"), clock.WallNow());
    if (!r) return r.error();
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(store.Counts()->pending, 1);
  EXPECT_EQ(db->handle().execAndGet("SELECT COUNT(*) FROM events").getInt(), 1);
}

TEST(OutboxStore, DueOldestFirstPerChannelAndWallClockSetBack) {
  auto db = OpenDb("due");
  OutboxStore store(*db);
  ManualClock clock;
  WallTime t0 = clock.WallNow();
  ASSERT_TRUE(store.Enqueue(Msg("a"), t0).ok());
  ASSERT_TRUE(store.Enqueue(Msg("b"), t0).ok());
  ASSERT_TRUE(store.Enqueue(Msg("other", "mail"), t0).ok());
  auto due = store.Due(t0, {"hook"}, 10, 1min);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].key, "a");
  EXPECT_EQ((*due)[1].key, "b");

  ASSERT_TRUE(store.MarkRetry((*due)[0].id, t0 + 30s, "boom").ok());
  due = store.Due(t0 + 10s, {"hook"}, 10, 1min);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].key, "b");
  EXPECT_EQ(**store.NextDue({"hook"}), t0);
  // The wall clock jumped back an hour: "a"'s next attempt is far beyond
  // any backoff, so it counts as due rather than waiting an hour.
  due = store.Due(t0 - 1h, {"hook"}, 10, 1min);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].key, "a");
  EXPECT_EQ((*due)[0].attempts, 1);
  EXPECT_EQ((*due)[0].last_error, "boom");

  ASSERT_TRUE(store.Hasten("hook", t0 + 1s).ok());
  due = store.Due(t0 + 1s, {"hook"}, 10, 1min);
  EXPECT_EQ(due->size(), 2u);
}

TEST(OutboxStore, ANewerRetainedStateReplacesAnUndeliveredOne) {
  auto db = OpenDb("retain");
  OutboxStore store(*db);
  ManualClock clock;
  OutboxMessage s1 = Msg("state:OP-1:1", "[mqtt]");
  s1.target = "lg/elevators/OP-1/state";
  s1.retain = true;
  OutboxMessage s2 = s1;
  s2.key = "state:OP-1:2";
  OutboxMessage other = s1;
  other.key = "state:OP-2:1";
  other.target = "lg/elevators/OP-2/state";
  ASSERT_TRUE(store.Enqueue(s1, clock.WallNow()).ok());
  ASSERT_TRUE(store.Enqueue(other, clock.WallNow()).ok());
  ASSERT_TRUE(store.Enqueue(s2, clock.WallNow()).ok());
  auto due = store.Due(clock.WallNow(), {"[mqtt]"}, 10, 1min);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].key, "state:OP-2:1");
  EXPECT_EQ((*due)[1].key, "state:OP-1:2");
  auto old = store.Find("state:OP-1:1");
  EXPECT_NE((*old)->failed_at, "");
  EXPECT_NE((*old)->last_error.find("superseded"), std::string::npos);
}

TEST(OutboxStore, ExpireAndQuery) {
  auto db = OpenDb("expire");
  OutboxStore store(*db);
  ManualClock clock;
  ASSERT_TRUE(store.Enqueue(Msg("old"), clock.WallNow()).ok());
  clock.Advance(2h);
  ASSERT_TRUE(store.Enqueue(Msg("new"), clock.WallNow()).ok());
  auto n = store.Expire("hook", clock.WallNow() - 1h, clock.WallNow());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(store.Counts()->failed, 1);
  EXPECT_EQ(store.Counts()->pending, 1);
  auto reader = db::Database::OpenReader(db->path());
  ASSERT_TRUE(reader.ok());
  auto rows = OutboxStore::Query(**reader, "alarm:1", 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].key, "new");  // newest first
  EXPECT_NE((*rows)[1].last_error.find("expired"), std::string::npos);
}

TEST(OutboxStore, PruneDeletesOnlyOldStatesAndTests) {
  auto db = OpenDb("prune");
  OutboxStore store(*db);
  ManualClock clock;
  auto add = [&](const std::string& key, bool retain, bool test, bool deliver) {
    OutboxMessage m = Msg(key);
    m.retain = retain;
    m.test = test;
    m.target = key;  // retained ones do not replace each other here
    ASSERT_TRUE(*store.Enqueue(m, clock.WallNow()));
    if (deliver) {
      ASSERT_TRUE(store.MarkDelivered((*store.Find(key))->id, clock.WallNow()).ok());
    }
  };
  add("state-old", true, false, true);
  add("state-pending", true, false, false);
  add("alarm-old", false, false, true);
  add("test-1", false, true, true);
  clock.Advance(1min);
  add("test-2", false, true, true);
  clock.Advance(10 * 24h);
  add("state-new", true, false, true);
  auto n = store.Prune("hook", clock.WallNow() - 7 * 24h);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 2);
  EXPECT_FALSE(*store.Find("state-old"));
  EXPECT_FALSE(*store.Find("test-1"));
  EXPECT_TRUE(*store.Find("test-2"));  // the newest test: the schedule follows it
  EXPECT_TRUE(*store.Find("state-pending"));
  EXPECT_TRUE(*store.Find("state-new"));
  EXPECT_TRUE(*store.Find("alarm-old"));  // its key keeps a re-planned step from going twice
  EXPECT_EQ((*store.LatestTest("hook"))->key, "test-2");
}

// ---------------------------------------------------------------------------
// Backoff

TEST(Backoff, DoublesUpToTheCap) {
  std::vector<int64_t> got;
  for (int n = 1; n <= 9; ++n) got.push_back(Backoff(n, 1000ms, 60000ms, 0.0, 0.5).count());
  EXPECT_EQ(got, (std::vector<int64_t>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000}));
  EXPECT_EQ(Backoff(1000, 1000ms, 60000ms, 0.0, 0.0).count(), 60000);
}

TEST(Backoff, JitterOnlyShortens) {
  EXPECT_EQ(Backoff(3, 1000ms, 60000ms, 0.2, 0.0).count(), 4000);
  EXPECT_EQ(Backoff(3, 1000ms, 60000ms, 0.2, 0.5).count(), 3600);
  EXPECT_EQ(Backoff(20, 1000ms, 60000ms, 0.2, 0.999).count(), 48012);
  for (double u = 0; u < 1; u += 0.01) {
    Millis b = Backoff(20, 1000ms, 60000ms, 0.25, u);
    EXPECT_LE(b, 60000ms);
    EXPECT_GE(b, 45000ms);
  }
}

// ---------------------------------------------------------------------------
// The worker

// A channel whose answers the test scripts: `next` is popped per delivery,
// `always` answers once it is empty.
class FakeChannel final : public Channel {
 public:
  explicit FakeChannel(std::string id, bool needs_target = false)
      : Channel(std::move(id)), needs_target_(needs_target) {}
  std::string_view kind() const override { return "fake"; }
  bool needs_target() const override { return needs_target_; }
  Status Deliver(const OutboxMessage& m) override {
    std::lock_guard lock(mu);
    tried.push_back(m.key);
    Status st = always;
    if (!next.empty()) {
      st = next.front();
      next.pop_front();
    }
    if (st) accepted.push_back(m.key);
    return st;
  }

  std::mutex mu;
  std::deque<Status> next;
  Status always;
  std::vector<std::string> tried;
  std::vector<std::string> accepted;

 private:
  bool needs_target_;
};

Status Down() { return Error::Transient("unreachable", "connection refused"); }
Status Refused() { return Error::Permanent("refused", "HTTP 404"); }
Status Rejected() { return Error::Permanent("rejected", "550 no such user"); }

struct Rig {
  std::unique_ptr<db::Database> db;
  ManualClock clock;
  std::shared_ptr<FakeChannel> hook = std::make_shared<FakeChannel>("hook");
  std::unique_ptr<OutboxWorker> worker;
  std::vector<ChannelHealthReport> reports;
  std::mutex mu;

  explicit Rig(const std::string& name, OutboxWorkerOptions o = Options(), bool test = false) {
    db = OpenDb(name);
    Make(o, test);
  }
  static OutboxWorkerOptions Options() {
    OutboxWorkerOptions o;
    o.seed = 42;
    o.jitter = 0;  // exact times below
    return o;
  }
  void Make(OutboxWorkerOptions o, bool test) {
    worker = std::make_unique<OutboxWorker>(*db, clock, o);
    worker->SetChannels({ChannelEntry{hook, "", test}});
    worker->SetHealthListener([this](const ChannelHealthReport& r) {
      std::lock_guard lock(mu);
      reports.push_back(r);
    });
  }
  void Enqueue(const std::string& key) {
    ASSERT_TRUE(OutboxStore(*db).Enqueue(Msg(key), clock.WallNow()).ok());
  }
  std::optional<OutboxMessage> Find(const std::string& key) { return *OutboxStore(*db).Find(key); }
  int Downs() {
    std::lock_guard lock(mu);
    return static_cast<int>(std::count_if(reports.begin(), reports.end(),
                                          [](const ChannelHealthReport& r) { return r.down; }));
  }
  int Ups() {
    std::lock_guard lock(mu);
    return static_cast<int>(std::count_if(reports.begin(), reports.end(),
                                          [](const ChannelHealthReport& r) { return !r.down; }));
  }
};

TEST(OutboxWorker, DeliversAndMarksDelivered) {
  Rig rig("deliver");
  rig.Enqueue("a");
  rig.Enqueue("b");
  EXPECT_EQ(rig.worker->RunOnce(), 2);
  EXPECT_EQ(rig.hook->accepted, (std::vector<std::string>{"a", "b"}));
  EXPECT_NE(rig.Find("a")->delivered_at, "");
  EXPECT_EQ(rig.Find("a")->attempts, 1);
  EXPECT_EQ(rig.worker->RunOnce(), 0);  // nothing twice
  EXPECT_EQ(rig.Ups(), 1);              // first success after start
}

TEST(OutboxWorker, RetriesWithBackoffAndRestsTheChannel) {
  Rig rig("retry");
  rig.hook->always = Down();
  rig.Enqueue("a");
  rig.Enqueue("b");
  EXPECT_EQ(rig.worker->RunOnce(), 1);  // "a" fails; "b" is not knocked on
  EXPECT_EQ(rig.Find("a")->attempts, 1);
  EXPECT_EQ(rig.Find("b")->attempts, 0);
  rig.clock.Advance(900ms);
  EXPECT_EQ(rig.worker->RunOnce(), 0);  // resting: 1 s
  rig.clock.Advance(100ms);
  EXPECT_EQ(rig.worker->RunOnce(), 1);  // one probe: "a"'s own backoff has passed too
  rig.clock.Advance(1s);
  EXPECT_EQ(rig.worker->RunOnce(), 0);  // resting: 2 s now
  rig.clock.Advance(1s);
  EXPECT_EQ(rig.worker->RunOnce(), 1);
  EXPECT_EQ(rig.hook->tried.size(), 3u);

  // Back: the probe goes through and everything waiting follows, in order.
  rig.hook->always = Status::Ok();
  rig.clock.Advance(60s);
  EXPECT_EQ(rig.worker->RunOnce(), 2);
  EXPECT_EQ(rig.hook->accepted.size(), 2u);
  EXPECT_EQ(rig.Find("a")->attempts, 4);
  EXPECT_EQ(rig.Find("a")->last_error, "connection refused");
  EXPECT_NE(rig.Find("b")->delivered_at, "");
  EXPECT_EQ(rig.Downs(), 0);  // a minute of trouble is not "down"
}

TEST(OutboxWorker, APermanentRefusalIsGivenUpNotRetried) {
  Rig rig("permanent");
  rig.hook->next = {Refused()};
  rig.Enqueue("a");
  rig.Enqueue("b");
  EXPECT_EQ(rig.worker->RunOnce(), 2);  // no rest after a permanent error
  EXPECT_NE(rig.Find("a")->failed_at, "");
  EXPECT_EQ(rig.Find("a")->last_error, "HTTP 404");
  EXPECT_NE(rig.Find("b")->delivered_at, "");
  rig.clock.Advance(1h);
  EXPECT_EQ(rig.worker->RunOnce(), 0);
}

TEST(OutboxWorker, DownAfterFiveMinutesOfFailureAndUpAgain) {
  Rig rig("down");
  rig.hook->always = Down();
  rig.Enqueue("a");
  int elapsed = 0;
  for (; elapsed < 299; ++elapsed) {
    rig.worker->RunOnce();
    rig.clock.Advance(1s);
  }
  rig.worker->RunOnce();  // 4:59 after the first failure
  EXPECT_EQ(rig.Downs(), 0);
  rig.clock.Advance(1s);
  rig.worker->RunOnce();  // 5:00
  ASSERT_EQ(rig.Downs(), 1);
  EXPECT_EQ(rig.reports.back().channel, "hook");
  EXPECT_FALSE(rig.reports.back().test);
  EXPECT_EQ(rig.reports.back().reason, "connection refused");
  // Probes at 0, 1, 3, 7, 15, 31, 63 s, then once a minute (the cap).
  EXPECT_EQ(rig.hook->tried.size(), 10u);
  // Still failing ten minutes more: reported once, not again; probed once
  // a minute.
  for (int i = 0; i < 600; ++i) {
    rig.clock.Advance(1s);
    rig.worker->RunOnce();
  }
  EXPECT_EQ(rig.Downs(), 1);
  EXPECT_EQ(rig.hook->tried.size(), 20u);

  rig.hook->always = Status::Ok();
  rig.clock.Advance(61s);
  rig.worker->RunOnce();
  EXPECT_EQ(rig.Ups(), 1);
  EXPECT_FALSE(rig.reports.back().down);
  EXPECT_NE(rig.Find("a")->delivered_at, "");
}

TEST(OutboxWorker, ARecipientRejectedSaysNothingAboutTheChannel) {
  Rig rig("rejected");
  rig.hook->always = Rejected();
  for (int i = 0; i < 10; ++i) {
    rig.Enqueue("m" + std::to_string(i));
    rig.worker->RunOnce();
    rig.clock.Advance(1min);
  }
  rig.worker->RunOnce();
  EXPECT_EQ(rig.Downs(), 0);
  EXPECT_EQ(OutboxStore(*rig.db).Counts()->failed, 10);
}

TEST(OutboxWorker, UndeliveredMessagesGoAgainAfterARestartWithTheirKeys) {
  Rig rig("restart");
  rig.hook->always = Down();
  rig.Enqueue("a");
  for (int i = 0; i < 7; ++i) {
    rig.worker->RunOnce();
    rig.clock.Advance(2s);
  }
  auto before = rig.Find("a");
  ASSERT_EQ(before->delivered_at, "");
  ASSERT_GT(db::ParseTime(before->next_attempt_at).value(), rig.clock.WallNow());
  // A new worker on the same file (the daemon restarted): at once, not at
  // the next attempt the old one had planned.
  rig.worker.reset();
  rig.hook->always = Status::Ok();
  rig.Make(Rig::Options(), false);
  EXPECT_EQ(rig.worker->RunOnce(), 1);
  EXPECT_EQ(rig.hook->accepted, (std::vector<std::string>{"a"}));
}

TEST(OutboxWorker, GivesUpAfterTheLimit) {
  OutboxWorkerOptions o = Rig::Options();
  o.give_up_after = 1h;
  Rig rig("giveup", o);
  rig.hook->always = Down();
  rig.Enqueue("a");
  rig.worker->RunOnce();
  rig.clock.Advance(61min);
  rig.worker->RunOnce();
  EXPECT_NE(rig.Find("a")->failed_at, "");
  EXPECT_NE(rig.Find("a")->last_error.find("expired"), std::string::npos);
}

std::vector<OutboxMessage> Tests(db::Database& db) {
  auto reader = db::Database::OpenReader(db.path());
  std::vector<OutboxMessage> out;
  auto rows = OutboxStore::Query(**reader, "test:hook", 100);
  for (const OutboxMessage& m : *rows) {
    if (m.test) out.push_back(m);
  }
  return out;
}

TEST(OutboxWorker, TestsEveryChannelOnSchedule) {
  Rig rig("tests", Rig::Options(), /*test=*/true);
  rig.worker->RunOnce();
  ASSERT_EQ(Tests(*rig.db).size(), 1u);  // never tested: at once
  EXPECT_EQ(rig.hook->accepted.size(), 1u);
  EXPECT_NE(rig.hook->accepted[0].find("test:hook:"), std::string::npos);
  rig.clock.Advance(71h);
  rig.worker->RunOnce();
  EXPECT_EQ(Tests(*rig.db).size(), 1u);
  // A restart does not reset the schedule.
  rig.worker.reset();
  rig.Make(Rig::Options(), true);
  rig.worker->RunOnce();
  EXPECT_EQ(Tests(*rig.db).size(), 1u);
  rig.clock.Advance(1h);
  rig.worker->RunOnce();
  auto tests = Tests(*rig.db);
  ASSERT_EQ(tests.size(), 2u);
  EXPECT_NE(tests[0].delivered_at, "");
  EXPECT_NE(tests[0].text.find("72"), std::string::npos);
  EXPECT_EQ(rig.Downs(), 0);
}

TEST(OutboxWorker, AFailedTestReportsTheChannelDown) {
  Rig rig("testfail", Rig::Options(), /*test=*/true);
  rig.hook->next = {Refused()};
  rig.worker->RunOnce();
  ASSERT_EQ(rig.Downs(), 1);
  EXPECT_TRUE(rig.reports.back().test);
  EXPECT_NE(rig.reports.back().reason.find("HTTP 404"), std::string::npos);
  // The next success clears it.
  rig.Enqueue("a");
  rig.worker->RunOnce();
  EXPECT_FALSE(rig.reports.back().down);
}

TEST(OutboxWorker, ATestStillUndeliveredAfterItsTimeoutReportsDown) {
  OutboxWorkerOptions o = Rig::Options();
  o.test_timeout = 2min;
  o.down_after = 1h;  // so that only the test speaks
  Rig rig("testtimeout", o, /*test=*/true);
  rig.hook->always = Down();
  for (int i = 0; i < 119; ++i) {
    rig.worker->RunOnce();
    rig.clock.Advance(1s);
  }
  EXPECT_EQ(rig.Downs(), 0);
  rig.clock.Advance(1s);
  rig.worker->RunOnce();
  ASSERT_EQ(rig.Downs(), 1);
  EXPECT_TRUE(rig.reports.back().test);
  EXPECT_NE(rig.reports.back().reason.find("not delivered within 120 s"), std::string::npos);
}

TEST(OutboxWorker, ThreadsDeliverWhenWoken) {
  auto db = OpenDb("threads");
  auto hook = std::make_shared<FakeChannel>("hook");
  auto mail = std::make_shared<FakeChannel>("mail", true);
  mail->always = Down();  // one channel failing does not hold up another
  OutboxWorkerOptions o;
  o.backoff_first = 10ms;
  o.backoff_cap = 50ms;
  OutboxWorker worker(*db, SystemClock::Instance(), o);
  worker.SetChannels({{hook, "", false}, {mail, "", false}});
  worker.Start();
  OutboxStore store(*db);
  for (int i = 0; i < 20; ++i) {
    OutboxMessage m = Msg("m" + std::to_string(i));
    ASSERT_TRUE(store.Enqueue(m, std::chrono::system_clock::now()).ok());
    m.key += "-mail";
    m.channel = "mail";
    ASSERT_TRUE(store.Enqueue(m, std::chrono::system_clock::now()).ok());
    worker.Wake();
  }
  auto end = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < end) {
    {
      std::lock_guard lock(hook->mu);
      if (hook->accepted.size() == 20) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  worker.Stop();
  EXPECT_EQ(hook->accepted.size(), 20u);
  EXPECT_EQ(store.Counts()->pending, 20);  // the mail ones
  auto stats = worker.Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].delivered, 20u);
  EXPECT_TRUE(stats[1].failing);
}

// ---------------------------------------------------------------------------
// Formats and routes (pure)

TEST(ChannelFormat, WireKeyFitsAHeader) {
  EXPECT_EQ(channel_format::WireKey("incident:7:esc:3m:email:a@b.org"),
            "incident:7:esc:3m:email:a@b.org");
  EXPECT_EQ(channel_format::WireKey("mqtt:site/大楼 1%"), "mqtt:site/%E5%A4%A7%E6%A5%BC%201%25");
}

TEST(ChannelFormat, SmsTemplateIsJsonEscaped) {
  OutboxMessage m = Msg("k\"1");
  m.target = "+86 138 0000 0000";
  m.subject = "困人 \"OP-1\"";
  m.text = "line1\nline2\\";
  std::string body = channel_format::FillSmsTemplate(
      R"({"to":"{{phone}}","msg":"{{subject}}","long":"{{text}}","id":"{{key}}","x":"{{other}}"})",
      m);
  EXPECT_EQ(body, R"({"to":"+86 138 0000 0000","msg":"困人 \"OP-1\"","long":"line1\nline2\\",)"
                  R"("id":"k\"1","x":"{{other}}"})");
}

TEST(ChannelFormat, SubjectEncodedWordsNeverSplitACharacter) {
  EXPECT_EQ(channel_format::EncodeSubject("Plain subject"), "Plain subject");
  std::string zh;
  for (int i = 0; i < 40; ++i) zh += "困";  // 3 bytes each
  std::string enc = channel_format::EncodeSubject(zh);
  EXPECT_EQ(enc.rfind("=?UTF-8?B?", 0), 0u);
  // 120 bytes in words of 45 bytes: three words, two folds.
  size_t folds = 0;
  for (size_t p = enc.find("\r\n "); p != std::string::npos; p = enc.find("\r\n ", p + 1)) ++folds;
  EXPECT_EQ(folds, 2u);
  size_t start = 0;
  while (start < enc.size()) {
    size_t end = enc.find("\r\n ", start);
    std::string word =
        enc.substr(start, end == std::string::npos ? std::string::npos : end - start);
    EXPECT_LE(word.size(), 75u);
    // 45 bytes = 15 whole characters = 60 base64 characters, no padding.
    if (end != std::string::npos) {
      EXPECT_EQ(word.size(), 12u + 60u);
    }
    start = end == std::string::npos ? enc.size() : end + 3;
  }
  EXPECT_EQ(channel_format::EncodeSubject("a\r\nBcc: x@y"), "a  Bcc: x@y");
}

TEST(ChannelFormat, MessageIdFollowsTheKey) {
  std::string a = channel_format::MessageId("alarm:1:r1:email:a@b.org", "example.org");
  EXPECT_EQ(a, channel_format::MessageId("alarm:1:r1:email:a@b.org", "example.org"));
  EXPECT_NE(a, channel_format::MessageId("alarm:1:r2:email:a@b.org", "example.org"));
  EXPECT_EQ(a.size(), std::string("<lg.@example.org>").size() + 32);
}

TEST(Channels, RoutesAndTestTargets) {
  Config c;
  c.smtp = SmtpConfig{"smtp://127.0.0.1:2525", "liftguard@example.org", "", ""};
  c.mqtt = MqttConfig{"mqtt://127.0.0.1:1883", "lg/site"};
  ChannelConfig hook;
  hook.id = "wecom";
  hook.url = "http://127.0.0.1:9/hook";
  hook.format = ChannelConfig::Format::kWecom;
  ChannelConfig sms;
  sms.id = "sms-gw";
  sms.kind = ChannelConfig::Kind::kSms;
  sms.url = "http://127.0.0.1:9/sms";
  sms.body_template = "{{text}}";
  c.channels = {hook, sms};
  ContactConfig person;
  person.id = "safety-manager";
  person.routes = {{ContactRoute::Kind::kSms, "+8613800000000"},
                   {ContactRoute::Kind::kEmail, "safety@example.org"}};
  c.contacts = {person};

  using K = rules::Recipient::Kind;
  auto route = [&](K kind, std::string address) {
    rules::Recipient r;
    r.kind = kind;
    r.address = std::move(address);
    return RouteFor(c, r);
  };
  EXPECT_EQ(route(K::kEmail, "a@b.org")->channel, "[smtp]");
  EXPECT_EQ(route(K::kEmail, "a@b.org")->target, "a@b.org");
  EXPECT_EQ(route(K::kChannel, "wecom")->channel, "wecom");
  EXPECT_EQ(route(K::kChannel, "wecom")->target, "");
  EXPECT_FALSE(route(K::kChannel, "nope"));
  EXPECT_EQ(route(K::kSms, "+861")->channel, "sms-gw");
  EXPECT_EQ(route(K::kMqtt, "x/y")->channel, "[mqtt]");
  EXPECT_EQ(route(K::kSecurityRoom, "")->channel, "security-room");

  auto entries = MakeChannels(c);
  ASSERT_EQ(entries.size(), 4u);
  std::map<std::string, ChannelEntry> by_id;
  for (auto& e : entries) by_id[e.channel->id()] = e;
  EXPECT_EQ(by_id["wecom"].channel->kind(), "webhook");
  EXPECT_TRUE(by_id["wecom"].test);
  EXPECT_EQ(by_id["sms-gw"].test_target, "+8613800000000");
  EXPECT_EQ(by_id["[smtp]"].test_target, "safety@example.org");
  EXPECT_EQ(by_id["[mqtt]"].test_target, "lg/site/test");
  EXPECT_EQ(MqttStateTopic("lg/site", "OP-1"), "lg/site/elevators/OP-1/state");
}

TEST(AlarmTypes, ChannelDownIsAMajorSiteAlarm) {
  ASSERT_EQ(AlarmTypeFromName("CHANNEL_DOWN"), AlarmType::kChannelDown);
  EXPECT_EQ(DefaultSeverity(AlarmType::kChannelDown), Severity::kMajor);
  EXPECT_TRUE(IsShelvable(AlarmType::kChannelDown));
  EXPECT_FALSE(IsSuppressible(AlarmType::kChannelDown, SuppressionCause::kMaintenanceWindow));
  EXPECT_FALSE(IsCarAlarm(AlarmType::kChannelDown));
  EXPECT_TRUE(IsCarAlarm(AlarmType::kTrapped));
}

}  // namespace
}  // namespace lg
