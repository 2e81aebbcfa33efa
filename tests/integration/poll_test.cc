// The poll engine against the real liftsim process over loopback TCP and a
// socat pty pair (RTU). Every test also checks that the simulator never saw
// a function code other than 03 and 04.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>

#include "drivers/poll_engine.h"
#include "tests/integration/harness.h"

namespace lg {
namespace {

using namespace std::chrono_literals;
using drivers::LinkError;
using drivers::LinkSettings;
using drivers::UnitSettings;
using testing::Eventually;
using testing::FreePort;
using testing::Sim;
using testing::SimControl;

class RecordingSink : public drivers::PollSink {
 public:
  struct Car {
    std::vector<SteadyTime> sample_times;
    Sample last;
    std::vector<LinkError> errors;
    int infos = 0;
    ControllerInfo info;
  };

  void OnSample(uint32_t car, const Sample& s) override {
    std::lock_guard lock(mu_);
    cars_[car].sample_times.push_back(s.read_at);
    cars_[car].last = s;
  }
  void OnControllerInfo(uint32_t car, const ControllerInfo& info) override {
    std::lock_guard lock(mu_);
    ++cars_[car].infos;
    cars_[car].info = info;
  }
  void OnPollError(uint32_t car, const LinkError& e) override {
    std::lock_guard lock(mu_);
    cars_[car].errors.push_back(e);
  }
  void OnLinkStatus(const std::string& link, drivers::LinkStatus st) override {
    std::lock_guard lock(mu_);
    link_status_[link].push_back(st);
  }

  Car Get(uint32_t car) {
    std::lock_guard lock(mu_);
    return cars_[car];
  }
  size_t Samples(uint32_t car) { return Get(car).sample_times.size(); }
  size_t SamplesSince(uint32_t car, SteadyTime t) {
    auto c = Get(car);
    return static_cast<size_t>(std::count_if(c.sample_times.begin(), c.sample_times.end(),
                                             [&](SteadyTime x) { return x >= t; }));
  }
  bool HasError(uint32_t car, LinkError::Kind kind) {
    auto c = Get(car);
    return std::any_of(c.errors.begin(), c.errors.end(),
                       [&](const LinkError& e) { return e.kind == kind; });
  }
  // Largest gap between consecutive samples at or after `since`.
  Millis MaxGap(uint32_t car, SteadyTime since) {
    auto c = Get(car);
    Millis worst{0};
    for (size_t i = 1; i < c.sample_times.size(); ++i) {
      if (c.sample_times[i - 1] < since) continue;
      worst = std::max(
          worst, std::chrono::duration_cast<Millis>(c.sample_times[i] - c.sample_times[i - 1]));
    }
    return worst;
  }

 private:
  std::mutex mu_;
  std::map<uint32_t, Car> cars_;
  std::map<std::string, std::vector<drivers::LinkStatus>> link_status_;
};

LinkSettings Tcp(const std::string& id, int port, int timeout_ms = 150) {
  LinkSettings l;
  l.id = id;
  l.host = "127.0.0.1";
  l.port = port;
  l.timeout_ms = timeout_ms;
  l.backoff_first_ms = 100;
  l.backoff_cap_ms = 1000;
  return l;
}

UnitSettings Unit(uint32_t car, const std::string& link, int unit, int interval_ms = 200) {
  UnitSettings u;
  u.car = car;
  u.link = link;
  u.unit = unit;
  u.map = drivers::RegisterMap::Ref1();
  u.interval_ms = interval_ms;
  return u;
}

// "requests TARGET" answers "ok N".
long long Requests(SimControl& sim, const std::string& target) {
  return std::stoll(sim.Must("requests " + target).substr(3));
}

void ExpectOnlyReads(SimControl& sim) {
  auto codes = SimControl::Pairs(sim.Must("fcodes"));
  EXPECT_FALSE(codes.empty());
  for (const auto& [fc, n] : codes) {
    EXPECT_TRUE(fc == "3" || fc == "4")
        << "function code " << fc << " reached the simulator " << n << " times";
  }
}

class PollTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::TempDir("poll"); }
  std::string dir_;
  RecordingSink sink_;
};

TEST_F(PollTest, TcpReadsEveryCarAndItsValues) {
  int p1 = FreePort(), p2 = FreePort();
  Sim sim({std::to_string(p1) + ":1-3", std::to_string(p2) + ":1-3"}, {}, true, dir_);
  sim.control().Must("set " + std::to_string(p1) + "/2 floor -2");
  sim.control().Must("set " + std::to_string(p2) + "/3 floor 17");
  drivers::PollEngine engine({}, sink_, SystemClock::Instance());
  std::vector<UnitSettings> units;
  for (int u = 1; u <= 3; ++u) {
    units.push_back(Unit(u, "a", u));
    units.push_back(Unit(10 + u, "b", u));
  }
  ASSERT_TRUE(engine.Reconcile({Tcp("a", p1), Tcp("b", p2)}, units).ok());
  ASSERT_TRUE(Eventually(
      [&] {
        for (const auto& u : units) {
          if (sink_.Samples(u.car) < 5) return false;
        }
        return true;
      },
      10s));
  EXPECT_EQ(sink_.Get(2).last.floor(), -2);
  EXPECT_EQ(sink_.Get(13).last.floor(), 17);
  auto car = sink_.Get(1);
  EXPECT_EQ(car.last.mode(), Mode::kAuto);
  EXPECT_TRUE(car.last.Flag(Field::kSafetyChainOk));
  EXPECT_EQ(car.infos, 1);
  EXPECT_TRUE(car.info.rated_speed_mm_s.has_value());
  // The heartbeat moves (the simulator bumps it at least once a second).
  uint32_t hb = car.last.heartbeat();
  ASSERT_TRUE(Eventually([&] { return sink_.Get(1).last.heartbeat() != hb; }, 3s));
  engine.Stop();
  ExpectOnlyReads(sim.control());
}

TEST_F(PollTest, RtuOverPtyPair) {
  testing::PtyPair pty(dir_);
  Sim sim({}, {pty.a + ":9600:N:8:1:1-2"}, true, dir_);
  sim.control().Must("set rtu0/2 floor 9");
  drivers::PollEngine engine({}, sink_, SystemClock::Instance());
  LinkSettings l;
  l.id = "bus";
  l.transport = LinkSettings::Transport::kRtu;
  l.device = pty.b;
  l.baud = 9600;
  l.timeout_ms = 300;
  l.backoff_first_ms = 100;
  l.backoff_cap_ms = 1000;
  ASSERT_TRUE(engine.Reconcile({l}, {Unit(1, "bus", 1), Unit(2, "bus", 2)}).ok());
  ASSERT_TRUE(Eventually([&] { return sink_.Samples(1) >= 5 && sink_.Samples(2) >= 5; }, 15s))
      << sim.process().Output();
  EXPECT_EQ(sink_.Get(2).last.floor(), 9);
  EXPECT_EQ(sink_.Get(1).infos, 1);
  engine.Stop();
  ExpectOnlyReads(sim.control());
}

TEST_F(PollTest, SilentLinkDoesNotDelayOtherLinks) {
  int p1 = FreePort(), p2 = FreePort();
  Sim sim({std::to_string(p1) + ":1-4", std::to_string(p2) + ":1-4"}, {}, true, dir_);
  drivers::PollEngine engine({}, sink_, SystemClock::Instance());
  std::vector<UnitSettings> units;
  for (int u = 1; u <= 4; ++u) {
    units.push_back(Unit(u, "quiet", u));
    units.push_back(Unit(10 + u, "live", u));
  }
  ASSERT_TRUE(engine.Reconcile({Tcp("quiet", p1, 300), Tcp("live", p2, 300)}, units).ok());
  ASSERT_TRUE(Eventually([&] { return sink_.Samples(1) >= 3 && sink_.Samples(11) >= 3; }, 10s));
  sim.control().Must("misbehave " + std::to_string(p1) + " silent");
  SteadyTime since = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(3s);
  EXPECT_TRUE(sink_.HasError(1, LinkError::Kind::kTimeout));
  for (uint32_t car = 11; car <= 14; ++car) {
    // 200 ms interval: 3 s is 15 polls; the live link keeps its pace.
    EXPECT_GE(sink_.SamplesSince(car, since), 12u) << "car " << car;
    EXPECT_LE(sink_.MaxGap(car, since).count(), 200 + 100) << "car " << car;
  }
  // The silent link comes back by itself once its controller answers again.
  sim.control().Must("misbehave " + std::to_string(p1) + " normal");
  SteadyTime back = std::chrono::steady_clock::now();
  EXPECT_TRUE(Eventually([&] { return sink_.SamplesSince(1, back) >= 3; }, 10s));
  engine.Stop();
  ExpectOnlyReads(sim.control());
}

TEST_F(PollTest, DeadUnitOnSharedLinkIsBackedOffAndComesBack) {
  int port = FreePort();
  std::string p = std::to_string(port);
  Sim sim({p + ":1-4"}, {}, true, dir_);
  drivers::PollEngine engine({}, sink_, SystemClock::Instance());
  std::vector<UnitSettings> units;
  for (int u = 1; u <= 4; ++u) units.push_back(Unit(u, "gw", u));
  ASSERT_TRUE(engine.Reconcile({Tcp("gw", port, 150)}, units).ok());
  ASSERT_TRUE(Eventually([&] { return sink_.Samples(2) >= 3; }, 10s));
  sim.control().Must("fault " + p + "/2 comms_lost on");
  std::this_thread::sleep_for(1500ms);  // let the backoff grow
  long long before = Requests(sim.control(), p + "/2");
  SteadyTime since = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(4s);
  long long after = Requests(sim.control(), p + "/2");
  // At a 200 ms interval it would be asked 20 times; backed off, a handful.
  EXPECT_LE(after - before, 6);
  for (uint32_t car : {1u, 3u, 4u}) {
    EXPECT_GE(sink_.SamplesSince(car, since), 16u) << "car " << car;
    EXPECT_LE(sink_.MaxGap(car, since).count(), 200 + 150 + 100) << "car " << car;
  }
  sim.control().Must("fault " + p + "/2 comms_lost off");
  SteadyTime back = std::chrono::steady_clock::now();
  EXPECT_TRUE(Eventually([&] { return sink_.SamplesSince(2, back) >= 2; }, 5s));
  engine.Stop();
  ExpectOnlyReads(sim.control());
}

struct FaultCase {
  std::string kind;  // misbehave KIND [ARG]
  LinkError::Kind expect;
};

class LinkFaultTest : public PollTest, public ::testing::WithParamInterface<FaultCase> {};

TEST_P(LinkFaultTest, IsReportedThenRecoversWithoutRestart) {
  const FaultCase& fc = GetParam();
  int port = FreePort();
  std::string p = std::to_string(port);
  Sim sim({p + ":1-2"}, {}, true, dir_);
  drivers::PollEngine engine({}, sink_, SystemClock::Instance());
  ASSERT_TRUE(engine.Reconcile({Tcp("gw", port, 200)}, {Unit(1, "gw", 1), Unit(2, "gw", 2)}).ok());
  ASSERT_TRUE(Eventually([&] { return sink_.Samples(1) >= 3; }, 10s));
  sim.control().Must("misbehave " + p + "/1 " + fc.kind);
  EXPECT_TRUE(Eventually([&] { return sink_.HasError(1, fc.expect); }, 5s))
      << fc.kind << " was not reported as " << drivers::LinkErrorKindName(fc.expect);
  // The other unit on the same link is not held up for long.
  SteadyTime mid = std::chrono::steady_clock::now();
  EXPECT_TRUE(Eventually([&] { return sink_.SamplesSince(2, mid) >= 3; }, 5s));
  sim.control().Must("misbehave " + p + "/1 normal");
  SteadyTime back = std::chrono::steady_clock::now();
  EXPECT_TRUE(Eventually([&] { return sink_.SamplesSince(1, back) >= 3; }, 10s))
      << "no recovery after " << fc.kind;
  engine.Stop();
  ExpectOnlyReads(sim.control());
}

INSTANTIATE_TEST_SUITE_P(EveryKind, LinkFaultTest,
                         ::testing::Values(FaultCase{"silent", LinkError::Kind::kTimeout},
                                           FaultCase{"drop", LinkError::Kind::kIo},
                                           FaultCase{"delay 600", LinkError::Kind::kTimeout},
                                           FaultCase{"exception 4", LinkError::Kind::kException},
                                           FaultCase{"short", LinkError::Kind::kBadFrame},
                                           FaultCase{"truncate", LinkError::Kind::kBadFrame},
                                           FaultCase{"garbage", LinkError::Kind::kBadFrame},
                                           FaultCase{"bad_tid", LinkError::Kind::kBadTransaction},
                                           FaultCase{"bytewise 100", LinkError::Kind::kBadFrame}),
                         [](const ::testing::TestParamInfo<FaultCase>& info) {
                           std::string n = info.param.kind.substr(0, info.param.kind.find(' '));
                           return n;
                         });

TEST_F(PollTest, DelayBelowTimeoutIsJustSlow) {
  int port = FreePort();
  std::string p = std::to_string(port);
  Sim sim({p + ":1"}, {}, true, dir_);
  drivers::PollEngine engine({}, sink_, SystemClock::Instance());
  ASSERT_TRUE(engine.Reconcile({Tcp("gw", port, 300)}, {Unit(1, "gw", 1)}).ok());
  sim.control().Must("misbehave " + p + " delay 50");
  SteadyTime since = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return sink_.SamplesSince(1, since) >= 5; }, 10s));
  EXPECT_FALSE(sink_.HasError(1, LinkError::Kind::kTimeout));
  engine.Stop();
}

TEST_F(PollTest, SimulatorRestartIsReconnected) {
  int port = FreePort();
  std::string p = std::to_string(port);
  auto sim = std::make_unique<Sim>(std::vector<std::string>{p + ":1"}, std::vector<std::string>{},
                                   true, dir_);
  drivers::PollEngine engine({}, sink_, SystemClock::Instance());
  ASSERT_TRUE(engine.Reconcile({Tcp("gw", port, 200)}, {Unit(1, "gw", 1)}).ok());
  ASSERT_TRUE(Eventually([&] { return sink_.Samples(1) >= 3; }, 10s));
  sim->process().Signal(SIGKILL);
  sim.reset();
  EXPECT_TRUE(Eventually([&] { return sink_.HasError(1, LinkError::Kind::kNotConnected); }, 5s));
  sim = std::make_unique<Sim>(std::vector<std::string>{p + ":1"}, std::vector<std::string>{}, true,
                              dir_);
  SteadyTime back = std::chrono::steady_clock::now();
  EXPECT_TRUE(Eventually([&] { return sink_.SamplesSince(1, back) >= 3; }, 10s));
  EXPECT_EQ(sink_.Get(1).infos, 2);  // controller info is read again after reconnecting
  engine.Stop();
}

TEST_F(PollTest, ReconcileLeavesUnchangedLinksAlone) {
  int p1 = FreePort(), p2 = FreePort();
  Sim sim({std::to_string(p1) + ":1-2", std::to_string(p2) + ":1"}, {}, true, dir_);
  drivers::PollEngine engine({}, sink_, SystemClock::Instance());
  ASSERT_TRUE(engine.Reconcile({Tcp("a", p1)}, {Unit(1, "a", 1)}).ok());
  ASSERT_TRUE(Eventually([&] { return sink_.Samples(1) >= 3; }, 10s));
  SteadyTime since = std::chrono::steady_clock::now();
  // Add a unit to "a" and a whole new link "b".
  ASSERT_TRUE(engine
                  .Reconcile({Tcp("a", p1), Tcp("b", p2)},
                             {Unit(1, "a", 1), Unit(2, "a", 2), Unit(3, "b", 1)})
                  .ok());
  ASSERT_TRUE(Eventually([&] { return sink_.Samples(2) >= 3 && sink_.Samples(3) >= 3; }, 10s));
  EXPECT_EQ(sink_.Get(1).infos, 1) << "car 1's link was reconnected by an unrelated change";
  EXPECT_LE(sink_.MaxGap(1, since).count(), 200 + 100);
  // Remove link "b": its car stops being polled.
  ASSERT_TRUE(engine.Reconcile({Tcp("a", p1)}, {Unit(1, "a", 1), Unit(2, "a", 2)}).ok());
  std::this_thread::sleep_for(300ms);
  size_t n = sink_.Samples(3);
  std::this_thread::sleep_for(800ms);
  EXPECT_EQ(sink_.Samples(3), n);
  // A unit on an unknown link is refused and nothing changes.
  EXPECT_FALSE(engine.Reconcile({Tcp("a", p1)}, {Unit(9, "nope", 1)}).ok());
  engine.Stop();
}

}  // namespace
}  // namespace lg
