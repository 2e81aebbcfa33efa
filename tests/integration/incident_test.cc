// Rescue incidents end to end: liftsim traps a passenger, the real
// liftguardd raises TRAPPED and opens the incident by itself; people walk it
// through the HTTP API to closed, with a kill -9 of the daemon between two
// steps. And: a TRAPPED alarm stored without its incident (the daemon died
// in between) gets one when the daemon starts.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/auth.h"
#include "db/alarm_store.h"
#include "db/database.h"
#include "tests/integration/harness.h"

namespace lg {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::Eventually;
using testing::FreePort;
using testing::Process;
using testing::Sim;

constexpr char kPassword[] = "correct horse battery";

// ---- a minimal HTTP/1.1 client over loopback ---------------------------------

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

std::string ReadSome(int fd, std::chrono::milliseconds timeout, const std::string& until = "") {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[8192];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (!until.empty() && out.find(until) != std::string::npos) break;
  }
  return out;
}

struct Reply {
  int status = 0;
  json body;
};

Reply Call(int port, const std::string& method, const std::string& target,
           const std::string& token = "", const std::string& body = "") {
  int fd = Connect(port);
  if (fd < 0) return {};
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (method == "POST") {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  SendAll(fd, req + "\r\n" + body);
  std::string raw = ReadSome(fd, 10s);
  ::close(fd);
  Reply r;
  std::sscanf(raw.c_str(), "HTTP/1.1 %d", &r.status);
  size_t end = raw.find("\r\n\r\n");
  if (end != std::string::npos) r.body = json::parse(raw.substr(end + 4), nullptr, false);
  return r;
}

// ---- the test -------------------------------------------------------------------

class IncidentFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("incidents");
    port_ = FreePort();
    p_ = std::to_string(port_);
    http_ = FreePort();
  }

  std::string WriteConfig() {
    std::string path = dir_ + "/liftguard.toml";
    std::ofstream f(path);
    f << "[site]\nname = \"Test hospital\"\narrival_target_min = 20\n\n"
      << "[daemon]\ndatabase = \"lg.db\"\nlisten = \"127.0.0.1:" << http_
      << "\"\nlog_level = \"info\"\n\n"
      << "[polling]\ninterval_ms = 500\ntimeout_ms = 100\ncomms_lost_after_ms = 3000\n"
      << "backoff_ms = [100, 1000]\n\n"
      << "[rules]\ntrapped_between_floors_s = 5\n\n"
      << "[[link]]\nid = \"gw\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = " << port_
      << "\n\n";
    for (int u = 1; u <= 2; ++u) {
      f << "[[elevator]]\nid = \"C" << u << "\"\nname = \"Outpatient car " << u
        << "\"\nbuilding = \"Outpatient\"\nlink = \"gw\"\nunit = " << u
        << "\nrated_speed_mm_s = 1750\ncontractor = \"acme\"\n\n";
    }
    f << "[[contractor]]\nid = \"acme\"\nname = \"Acme Lifts\"\nduty_phone = \"+86 20 0000 "
         "0000\"\n";
    return path;
  }

  // The users, straight into the database (as the CLI does), before the
  // daemon starts.
  void CreateUsers() {
    auto db = db::Database::Open(dir_ + "/lg.db");
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE(auth::CreateUser(**db, "olga", kPassword, auth::Role::kOperator).ok());
    ASSERT_TRUE(auth::CreateUser(**db, "carl", kPassword, auth::Role::kContractor, "acme").ok());
    ASSERT_TRUE(auth::CreateUser(**db, "sam", kPassword, auth::Role::kSafetyManager).ok());
  }

  Process StartDaemon(const std::string& cfg, const std::string& log) {
    Process p({testing::DaemonPath(), "--config", cfg}, dir_ + "/" + log);
    EXPECT_TRUE(Eventually([&] { return Call(http_, "GET", "/healthz").status == 200; }, 15s))
        << p.Output();
    return p;
  }

  std::string Login(const std::string& user) {
    Reply r = Call(http_, "POST", "/api/v1/login", "",
                   json{{"username", user}, {"password", kPassword}}.dump());
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body.value("token", "");
  }

  json Incidents(const std::string& token, const std::string& query = "?state=all") {
    Reply r = Call(http_, "GET", "/api/v1/incidents" + query, token);
    return r.status == 200 ? r.body["incidents"] : json::array();
  }

  Reply Step(const std::string& token, int64_t id, const json& body) {
    return Call(http_, "POST", "/api/v1/incidents/" + std::to_string(id) + "/steps", token,
                body.dump());
  }

  std::vector<db::AlarmRow> Trapped(const std::string& car) {
    std::vector<db::AlarmRow> out;
    auto reader = db::Database::OpenReader(dir_ + "/lg.db");
    if (!reader.ok()) return out;
    auto rows = db::AlarmStore::QueryAlarms(**reader, car, false, 100);
    if (!rows.ok()) return out;
    for (auto& a : *rows) {
      if (a.type == "TRAPPED") out.push_back(std::move(a));
    }
    return out;
  }

  std::string dir_;
  int port_ = 0;
  std::string p_;
  int http_ = 0;
};

TEST_F(IncidentFlowTest, ATrappedPassengerIsRescuedThroughTheApiAcrossAKillNine) {
  Sim sim({p_ + ":1-2"}, {}, true, dir_);
  CreateUsers();
  std::string cfg = WriteConfig();
  Process d = StartDaemon(cfg, "liftguardd.log");
  std::string olga = Login("olga"), carl = Login("carl"), sam = Login("sam");
  ASSERT_EQ(Incidents(olga).size(), 0u);

  // The security room's screen is listening.
  int stream = Connect(http_);
  ASSERT_GE(stream, 0);
  SendAll(stream, "GET /api/v1/stream?token=" + olga + " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(ReadSome(stream, 5s, "retry:").find("200 OK"), std::string::npos);

  std::this_thread::sleep_for(1s);
  sim.control().Must("fault " + p_ + "/1 trapped_between_floors on");
  json inc;
  ASSERT_TRUE(Eventually(
      [&] {
        json list = Incidents(olga);
        if (list.size() != 1) return false;
        inc = list[0];
        return true;
      },
      15s))
      << d.Output();
  auto alarms = Trapped("C1");
  ASSERT_EQ(alarms.size(), 1u);
  int64_t id = inc["id"].get<int64_t>();
  EXPECT_EQ(inc["elevator"], "C1");
  EXPECT_EQ(inc["elevator_name"], "Outpatient car 1");
  EXPECT_EQ(inc["building"], "Outpatient");
  EXPECT_EQ(inc["alarm_id"], alarms[0].id);
  EXPECT_EQ(inc["state"], "open");
  EXPECT_EQ(inc["step"], "dispatched");
  ASSERT_EQ(inc["steps"].size(), 2u);
  EXPECT_EQ(inc["steps"][0]["step"], "open");
  EXPECT_EQ(inc["steps"][0]["by"], "system");
  EXPECT_NE(inc["steps"][0]["note"].get<std::string>().find("TRAPPED (between_floors)"),
            std::string::npos);
  EXPECT_EQ(inc["steps"][1]["step"], "dispatched");
  EXPECT_EQ(inc["targets"]["on_site_min"], 20);  // [site] arrival_target_min
  EXPECT_EQ(inc["targets"]["acknowledged_min"], 3);
  EXPECT_EQ(inc["targets"]["accepted_min"], 5);
  // The stream told the security room.
  std::string events = ReadSome(stream, 5s, "event: incident");
  EXPECT_NE(events.find("event: incident"), std::string::npos) << events;
  ::close(stream);

  Reply r = Step(olga, id, {{"step", "acknowledged"}, {"note", "spoke to the passenger"}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  r = Step(carl, id, {{"step", "accepted"}, {"eta_min", 15}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  json before = r.body;

  // The daemon dies between two steps.
  d.Signal(SIGKILL);
  EXPECT_EQ(d.Wait(5s), -SIGKILL);
  Process again = StartDaemon(cfg, "liftguardd-2.log");
  // Tokens live in the database: the same sessions go on.
  json list = Incidents(olga);
  ASSERT_EQ(list.size(), 1u) << again.Output();
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(list[0]["steps"], before["steps"]);
  EXPECT_EQ(list[0]["eta_min"], 15);
  EXPECT_EQ(list[0]["step"], "accepted");
  // The passenger is still trapped: once the detectors have seen it again
  // (5 s), it is the same alarm and the same incident, nothing new.
  std::this_thread::sleep_for(7s);
  EXPECT_EQ(Incidents(olga).size(), 1u);
  ASSERT_EQ(Trapped("C1").size(), 1u);
  EXPECT_EQ(Trapped("C1")[0].id, alarms[0].id);

  r = Step(olga, id, {{"step", "released"}});
  EXPECT_EQ(r.status, 409) << r.body.dump();  // the rescuer is not there yet
  EXPECT_EQ(r.body["error"]["code"], "out_of_order");
  r = Step(carl, id, {{"step", "on_site"}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  sim.control().Must("fault " + p_ + "/1 trapped_between_floors off");
  r = Step(olga, id, {{"step", "released"}, {"note", "out at floor 3"}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  r = Step(sam, id, {{"step", "closed"}, {"cause", "door operator fault"}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["state"], "closed");
  EXPECT_EQ(r.body["cause"], "door operator fault");
  EXPECT_EQ(r.body["steps"].size(), 7u);
  EXPECT_EQ(r.body["over_target"], json::array());
  EXPECT_EQ(Incidents(olga, "").size(), 0u);  // no open incident left
  // Every step is in the audit log.
  Reply audit = Call(http_, "GET", "/api/v1/audit?limit=100", sam);
  ASSERT_EQ(audit.status, 200);
  int steps = 0;
  for (const auto& e : audit.body["entries"]) {
    if (e["path"] == "/api/v1/incidents/" + std::to_string(id) + "/steps" && e["status"] == 200)
      ++steps;
  }
  EXPECT_EQ(steps, 5);
  EXPECT_EQ(again.Stop(), 0);
}

TEST_F(IncidentFlowTest, AnAlarmStoredWithoutItsIncidentGetsOneAtStart) {
  Sim sim({p_ + ":1-2"}, {}, true, dir_);
  CreateUsers();
  std::string cfg = WriteConfig();
  sim.control().Must("fault " + p_ + "/2 trapped_between_floors on");
  // What the daemon had stored when it died: the alarm, not its incident.
  auto raised = std::chrono::system_clock::now() - 2min;
  {
    auto db = db::Database::Open(dir_ + "/lg.db");
    ASSERT_TRUE(db.ok());
    db::AlarmRow a;
    a.id = 1;
    a.elevator = "C2";
    a.type = "TRAPPED";
    a.severity = "critical";
    a.subtype = "between_floors";
    a.message = "stopped outside the door zone with a passenger";
    a.state = "unack";
    a.active = true;
    a.raised_at = a.last_raised_at = a.updated_at = db::FormatTime(raised);
    a.revision = 1;
    db::HistoryRow h;
    h.alarm_id = 1;
    h.revision = 1;
    h.at = a.raised_at;
    h.to_state = "unack";
    h.kind = "raised";
    h.who = "system";
    h.notify = "now";
    ASSERT_TRUE(db::AlarmStore(**db).Apply({a}, {h}).ok());
  }
  Process d = StartDaemon(cfg, "liftguardd.log");
  std::string olga = Login("olga");
  json list = Incidents(olga);
  ASSERT_EQ(list.size(), 1u) << d.Output();
  EXPECT_EQ(list[0]["elevator"], "C2");
  EXPECT_EQ(list[0]["alarm_id"], 1);
  EXPECT_EQ(list[0]["opened_at"], db::FormatTime(raised));  // the wait began at the raise
  EXPECT_NE(list[0]["steps"][0]["note"].get<std::string>().find("when Liftguard started"),
            std::string::npos);
  // Two minutes in and nobody acknowledged: nothing over target yet.
  EXPECT_EQ(list[0]["over_target"], json::array());
  // The detectors find the passenger again: the same alarm, no second incident.
  std::this_thread::sleep_for(7s);
  EXPECT_EQ(Incidents(olga).size(), 1u);
  EXPECT_EQ(Trapped("C2").size(), 1u);
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace lg
