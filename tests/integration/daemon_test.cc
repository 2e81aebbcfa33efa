// The real liftguardd process against the real liftsim process: events in
// the SQLite file, SIGHUP reload, SIGTERM, refusal of bad configuration.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "db/database.h"
#include "db/event_store.h"
#include "tests/integration/harness.h"

namespace lg {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;
using testing::FreePort;
using testing::Process;
using testing::Sim;

struct Car {
  std::string id, link;
  int unit;
};

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("daemon");
    port_ = FreePort();
    p_ = std::to_string(port_);
  }

  std::string WriteConfig(const std::vector<Car>& cars, const std::string& extra = "") {
    std::string path = dir_ + "/liftguard.toml";
    std::ofstream f(path);
    f << "[site]\nname = \"Test hospital\"\n\n"
      << "[daemon]\ndatabase = \"lg.db\"\nlog_level = \"debug\"\n\n"
      << "[polling]\ninterval_ms = 200\ntimeout_ms = 150\ncomms_lost_after_ms = 1500\n"
      << "backoff_ms = [100, 1000]\n\n"
      << "[[link]]\nid = \"gw\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = " << port_
      << "\n\n";
    for (const auto& c : cars) {
      f << "[[elevator]]\nid = \"" << c.id << "\"\nname = \"Car " << c.id
        << "\"\nbuilding = \"Ward\"\nlink = \"" << c.link << "\"\nunit = " << c.unit << "\n\n";
    }
    f << extra;
    return path;
  }

  std::vector<db::Event> Events(const std::string& elevator) {
    auto reader = db::Database::OpenReader(dir_ + "/lg.db");
    if (!reader.ok()) return {};
    auto rows = db::EventLog::Query(**reader, elevator, 1000);
    return rows.ok() ? *rows : std::vector<db::Event>{};
  }

  bool HasEvent(const std::string& elevator, const std::string& kind, const std::string& to) {
    for (const auto& e : Events(elevator)) {
      if (e.kind == kind && e.to == to) return true;
    }
    return false;
  }

  Process StartDaemon(const std::string& config) {
    return Process({testing::DaemonPath(), "--config", config}, dir_ + "/liftguardd.log");
  }

  std::string dir_;
  int port_;
  std::string p_;
};

TEST_F(DaemonTest, RecordsOnlineOfflineAndModeChanges) {
  Sim sim({p_ + ":1-3"}, {}, true, dir_);
  auto cfg = WriteConfig({{"A1", "gw", 1}, {"A2", "gw", 2}, {"A3", "gw", 3}});
  Process d = StartDaemon(cfg);
  for (const char* id : {"A1", "A2", "A3"}) {
    EXPECT_TRUE(Eventually([&] { return HasEvent(id, "online", "online"); }, 10s)) << id << "\n"
                                                                                   << d.Output();
  }
  EXPECT_TRUE(HasEvent("A1", "mode", "auto"));
  sim.control().Must("fault " + p_ + "/1 inspection on");
  EXPECT_TRUE(Eventually([&] { return HasEvent("A1", "mode", "inspection"); }, 5s));
  sim.control().Must("fault " + p_ + "/1 inspection off");
  EXPECT_TRUE(Eventually(
      [&] {
        auto ev = Events("A1");
        return !ev.empty() && ev.front().kind == "mode" && ev.front().to == "auto";
      },
      5s));
  sim.control().Must("fault " + p_ + "/2 comms_lost on");
  EXPECT_TRUE(Eventually([&] { return HasEvent("A2", "offline", "offline"); }, 6s));
  sim.control().Must("fault " + p_ + "/2 comms_lost off");
  EXPECT_TRUE(Eventually(
      [&] {
        auto ev = Events("A2");
        return !ev.empty() && ev.front().kind == "online";
      },
      8s));
  EXPECT_EQ(d.Stop(), 0) << d.Output();
  // Nothing but reads reached the controller.
  for (const auto& [fc, n] : testing::SimControl::Pairs(sim.control().Must("fcodes"))) {
    EXPECT_TRUE(fc == "3" || fc == "4") << fc;
  }
}

TEST_F(DaemonTest, SighupReloadsWithoutDisturbingTheRest) {
  Sim sim({p_ + ":1-3"}, {}, true, dir_);
  auto cfg = WriteConfig({{"A1", "gw", 1}, {"A2", "gw", 2}});
  Process d = StartDaemon(cfg);
  ASSERT_TRUE(Eventually([&] { return HasEvent("A2", "online", "online"); }, 10s)) << d.Output();
  // Remove A2, add A3.
  WriteConfig({{"A1", "gw", 1}, {"A3", "gw", 3}});
  d.Signal(SIGHUP);
  EXPECT_TRUE(Eventually([&] { return HasEvent("A3", "online", "online"); }, 10s)) << d.Output();
  EXPECT_TRUE(d.WaitForOutput("configuration reloaded", 5s));
  auto requests = [&](const std::string& t) {
    return std::stoll(sim.control().Must("requests " + t).substr(3));
  };
  long long a2 = requests(p_ + "/2");
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(requests(p_ + "/2"), a2) << "a removed elevator is still polled";
  // The link was not reconnected: one "connected" line only.
  auto out = d.Output();
  size_t connects = 0;
  for (size_t pos = 0; (pos = out.find("link gw: connected", pos)) != std::string::npos; ++pos) {
    ++connects;
  }
  EXPECT_EQ(connects, 1u) << out;

  // A bad file on SIGHUP is refused and the daemon keeps polling.
  {
    std::ofstream f(cfg, std::ios::app);
    f << "[[elevator]]\nid = \"A4\"\nlink = \"nowhere\"\nunit = 1\n";
  }
  d.Signal(SIGHUP);
  EXPECT_TRUE(d.WaitForOutput("reload refused", 5s)) << d.Output();
  EXPECT_NE(d.Output().find("nowhere"), std::string::npos);
  long long a1 = requests(p_ + "/1");
  std::this_thread::sleep_for(1s);
  EXPECT_GT(requests(p_ + "/1"), a1 + 2);
  EXPECT_TRUE(d.running());
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(DaemonTest, BadConfigurationIsRefusedWithFileAndLine) {
  auto cfg = WriteConfig({{"A1", "gw", 1}, {"A2", "gw", 1}});
  Process d = StartDaemon(cfg);
  EXPECT_EQ(d.Wait(10s), 2);
  std::string out = d.Output();
  EXPECT_NE(out.find(cfg + ":"), std::string::npos) << out;
  EXPECT_NE(out.find("A1"), std::string::npos) << out;

  Process check({testing::DaemonPath(), "--check-config", cfg}, dir_ + "/check.log");
  EXPECT_EQ(check.Wait(10s), 2);
  auto good = WriteConfig({{"A1", "gw", 1}});
  Process check2({testing::DaemonPath(), "--check-config", good}, dir_ + "/check2.log");
  EXPECT_EQ(check2.Wait(10s), 0) << check2.Output();
}

TEST_F(DaemonTest, SurvivesADeadControllerAndStopsCleanly) {
  // No simulator at all: the link cannot connect; the daemon keeps running,
  // records the car offline and stops on SIGTERM.
  auto cfg = WriteConfig({{"A1", "gw", 1}});
  Process d = StartDaemon(cfg);
  EXPECT_TRUE(Eventually([&] { return HasEvent("A1", "offline", "offline"); }, 10s)) << d.Output();
  EXPECT_TRUE(d.running());
  EXPECT_EQ(d.Stop(), 0) << d.Output();
}

}  // namespace
}  // namespace lg
