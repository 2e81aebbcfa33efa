// Notifications end to end: the real liftguardd polls the real liftsim and
// sends through real servers the test starts on loopback: an HTTP receiver
// (webhook and SMS gateway; tests/integration/http_receiver.py), an SMTP
// server (smtp_receiver.py on Debian's python3-aiosmtpd) and mosquitto, with
// mosquitto_sub listening, and the dashboard's event stream for the security
// room.
//
// Shown here:
//   - a trapped passenger: the incident's escalation step 1 reaches the
//     security room (a `notice` on the stream), the on-call contractor (SMS)
//     and the duty group (webhook); MQTT carries the incident and the car's
//     retained state; a major alarm reaches the safety manager by e-mail;
//   - a webhook receiver that is down for a while gets everything once it is
//     back, each message once;
//   - kill -9 of the daemon at random moments while it delivers, 20 times:
//     every committed transition that notifies has its messages, every one
//     of them arrives, and a message that arrives twice carries the same
//     idempotency key both times.
#include <SQLiteCpp/SQLiteCpp.h>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "daemon/auth.h"
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

constexpr char kPython[] = "/usr/bin/python3";
constexpr char kPassword[] = "correct horse battery";
constexpr char kPrefix[] = "lgtest";
constexpr char kContractorPhone[] = "+8613900000000";

std::string Script(const std::string& name) {
  return testing::SourceDir() + "/tests/integration/" + name;
}

std::vector<json> JsonLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

// ---- loopback HTTP ---------------------------------------------------------------

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
  std::string raw;
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
  Reply r;
  r.raw = ReadSome(fd, 10s);
  ::close(fd);
  std::sscanf(r.raw.c_str(), "HTTP/1.1 %d", &r.status);
  size_t end = r.raw.find("\r\n\r\n");
  if (end != std::string::npos) r.body = json::parse(r.raw.substr(end + 4), nullptr, false);
  return r;
}

// ---- the receivers ---------------------------------------------------------------

// http_receiver.py: the webhook (/hook) and the SMS gateway (/sms).
class HttpReceiver {
 public:
  HttpReceiver(const std::string& dir, int port) : port_(port), log_(dir + "/http-requests.log") {}
  void Start(int delay_ms = 0, int status = 200) {
    proc_ =
        Process({kPython, Script("http_receiver.py"), "--port", std::to_string(port_), "--log",
                 log_, "--delay-ms", std::to_string(delay_ms), "--status", std::to_string(status)},
                log_ + ".out");
    ASSERT_TRUE(proc_.WaitForOutput("listening", 10s)) << proc_.Output();
  }
  void Control(const std::string& query) {
    Reply r = Call(port_, "GET", "/__control?" + query);
    ASSERT_EQ(r.status, 200) << r.raw;
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<json> Requests() const { return JsonLines(log_); }
  // Idempotency-Key of each request answered 200 on `path`, and how often.
  std::map<std::string, int> Accepted(const std::string& path) const {
    std::map<std::string, int> out;
    for (const json& r : Requests()) {
      if (r["status"] == 200 && r["path"] == path) ++out[r["headers"].value("idempotency-key", "")];
    }
    return out;
  }
  json Find(const std::string& key) const {
    for (const json& r : Requests()) {
      if (r["headers"].value("idempotency-key", "") == key) return r;
    }
    return nullptr;
  }

 private:
  int port_;
  std::string log_;
  Process proc_;
};

class SmtpReceiver {
 public:
  SmtpReceiver(const std::string& dir, int port) : port_(port), log_(dir + "/smtp-messages.log") {
    proc_ = Process(
        {kPython, Script("smtp_receiver.py"), "--port", std::to_string(port_), "--log", log_},
        log_ + ".out");
    if (!proc_.WaitForOutput("listening", 15s)) ADD_FAILURE() << proc_.Output();
  }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  std::vector<json> Messages() const { return JsonLines(log_); }
  std::map<std::string, int> Accepted() const {
    std::map<std::string, int> out;
    for (const json& m : Messages()) ++out[m.value("key", "")];
    return out;
  }

 private:
  int port_;
  std::string log_;
  Process proc_;
};

class Mosquitto {
 public:
  Mosquitto(const std::string& dir, int port) : port_(port) {
    std::string conf = dir + "/mosquitto.conf";
    std::ofstream(conf) << "listener " << port_ << " 127.0.0.1\n"
                        << "allow_anonymous true\npersistence false\nlog_dest stdout\n";
    proc_ = Process({"mosquitto", "-c", conf}, dir + "/mosquitto.log");
    bool up = Eventually(
        [&] {
          int fd = Connect(port_);
          if (fd >= 0) ::close(fd);
          return fd >= 0;
        },
        10s);
    if (!up) ADD_FAILURE() << "mosquitto did not start: " << proc_.Output();
  }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  int port_;
  Process proc_;
};

// mosquitto_sub printing "RETAIN TOPIC PAYLOAD" per message.
class Subscriber {
 public:
  Subscriber(const std::string& log, int port, const std::string& topic) {
    proc_ = Process({"stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p",
                     std::to_string(port), "-t", topic, "-q", "1", "-d", "-F", "%r %t %p"},
                    log);
    if (!proc_.WaitForOutput("SUBACK", 10s)) ADD_FAILURE() << proc_.Output();
  }
  struct Line {
    bool retained;
    std::string topic;
    json payload;
  };
  std::vector<Line> Lines() {
    std::vector<Line> out;
    std::istringstream in(proc_.Output());
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() < 3 || (line[0] != '0' && line[0] != '1') || line[1] != ' ') continue;
      size_t sp = line.find(' ', 2);
      if (sp == std::string::npos) continue;
      out.push_back({line[0] == '1', line.substr(2, sp - 2),
                     json::parse(line.substr(sp + 1), nullptr, false)});
    }
    return out;
  }
  // Idempotency keys of the messages on topics other than car states.
  std::map<std::string, int> Keys() {
    std::map<std::string, int> out;
    for (const Line& l : Lines()) {
      if (l.topic.find("/elevators/") != std::string::npos || !l.payload.is_object()) continue;
      ++out[l.payload.value("idempotency_key", "")];
    }
    return out;
  }

 private:
  Process proc_;
};

// ---- the fixture --------------------------------------------------------------------

class NotifyDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_port_ = FreePort();
    http_ = FreePort();
    hook_port_ = FreePort();
    smtp_port_ = FreePort();
    mqtt_port_ = FreePort();
  }

  void Dir(const std::string& name) { dir_ = testing::TempDir(name); }

  std::string WriteConfig(int cars, const std::string& rules = "", int test_interval_h = 0) {
    std::string path = dir_ + "/liftguard.toml";
    std::ofstream f(path);
    f << "[site]\nname = \"Test hospital\"\ntimezone = \"+08:00\"\nlanguage = \"both\"\n\n"
      << "[daemon]\ndatabase = \"lg.db\"\nlisten = \"127.0.0.1:" << http_
      << "\"\nlog_level = \"info\"\n\n"
      << "[polling]\ninterval_ms = 200\ntimeout_ms = 100\ncomms_lost_after_ms = 5000\n"
      << "backoff_ms = [100, 1000]\n\n"
      << "[rules]\ntrapped_between_floors_s = 5\n"
      << rules << "\n"
      << "[notify]\nretry_cap_s = 2\ntest_interval_h = " << test_interval_h << "\n\n"
      << "[[link]]\nid = \"gw\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = " << sim_port_
      << "\n\n";
    for (int u = 1; u <= cars; ++u) {
      f << "[[elevator]]\nid = \"C" << u << "\"\nname = \"Outpatient car " << u
        << "\"\nbuilding = \"Outpatient\"\nlink = \"gw\"\nunit = " << u
        << "\nrated_speed_mm_s = 1750\ncontractor = \"acme\"\n\n";
    }
    f << "[[contractor]]\nid = \"acme\"\nname = \"Acme Lifts\"\nduty_phone = \"" << kContractorPhone
      << "\"\n\n"
      << "[[channel]]\nid = \"duty\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:" << hook_port_
      << "/hook\"\n\n"
      << "[[channel]]\nid = \"sms\"\nkind = \"sms\"\nurl = \"http://127.0.0.1:" << hook_port_
      << "/sms\"\nbody_template = '{\"to\":\"{{phone}}\",\"text\":\"{{subject}}\"}'\n\n"
      << "[[contact]]\nid = \"safety-manager\"\nname = \"Safety manager\"\n"
      << "channels = [\"email:safety@example.org\", \"webhook:duty\"]\n\n"
      << "[smtp]\nurl = \"smtp://127.0.0.1:" << smtp_port_
      << "\"\nfrom = \"liftguard@example.org\"\n\n"
      << "[mqtt]\nurl = \"mqtt://127.0.0.1:" << mqtt_port_ << "\"\ntopic_prefix = \"" << kPrefix
      << "\"\n\n"
      << "[[escalation]]\nafter_min = 0\nnotify = [\"security-room\", \"contractor:on-call\", "
         "\"channel:duty\"]\n\n"
      << "[[escalation]]\nafter_min = 3\nunless = \"acknowledged\"\nnotify = "
         "[\"safety-manager\"]\n";
    return path;
  }

  void CreateUser() {
    auto db = db::Database::Open(dir_ + "/lg.db");
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE(auth::CreateUser(**db, "olga", kPassword, auth::Role::kOperator).ok());
  }

  Process StartDaemon(const std::string& cfg, const std::string& log) {
    Process p({testing::DaemonPath(), "--config", cfg}, dir_ + "/" + log);
    EXPECT_TRUE(Eventually([&] { return Call(http_, "GET", "/healthz").status == 200; }, 20s))
        << p.Output();
    return p;
  }

  std::string Login() {
    Reply r = Call(http_, "POST", "/api/v1/login", "",
                   json{{"username", "olga"}, {"password", kPassword}}.dump());
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body.is_object() ? r.body.value("token", "") : "";
  }

  std::unique_ptr<SQLite::Database> Reader() {
    auto r = db::Database::OpenReader(dir_ + "/lg.db");
    EXPECT_TRUE(r.ok());
    return std::move(*r);
  }

  std::vector<std::string> Column(const std::string& sql) {
    std::vector<std::string> out;
    try {
      auto reader = Reader();
      SQLite::Statement q(*reader, sql);
      while (q.executeStep()) out.push_back(q.getColumn(0).getString());
    } catch (const std::exception&) {
    }
    return out;
  }
  int64_t Count(const std::string& sql) {
    try {
      auto reader = Reader();
      return reader->execAndGet(sql).getInt64();
    } catch (const std::exception&) {
      return -1;
    }
  }

  std::string dir_;
  int sim_port_ = 0, http_ = 0, hook_port_ = 0, smtp_port_ = 0, mqtt_port_ = 0;
};

// ---------------------------------------------------------------------------

TEST_F(NotifyDaemonTest, TrappedPassengerStepOneAndAMajorAlarmByEmail) {
  Dir("notify-daemon-trapped");
  HttpReceiver rx(dir_, hook_port_);
  rx.Start();
  SmtpReceiver smtp(dir_, smtp_port_);
  Mosquitto broker(dir_, mqtt_port_);
  Subscriber sub(dir_ + "/sub.log", mqtt_port_, std::string(kPrefix) + "/#");
  Sim sim({std::to_string(sim_port_) + ":1-2"}, {}, true, dir_);
  CreateUser();
  Process d = StartDaemon(WriteConfig(2), "liftguardd.log");

  // The security room's dashboard listens.
  std::string token = Login();
  int stream = Connect(http_);
  ASSERT_GE(stream, 0);
  SendAll(stream, "GET /api/v1/stream?token=" + token + " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(ReadSome(stream, 5s, "retry:").find("200 OK"), std::string::npos);

  // Each car's state, retained, before anything happens.
  ASSERT_TRUE(Eventually(
      [&] {
        for (const auto& l : sub.Lines()) {
          if (l.topic == std::string(kPrefix) + "/elevators/C2/state") return true;
        }
        return false;
      },
      10s))
      << d.Output();

  std::string p = std::to_string(sim_port_);
  sim.control().Must("fault " + p + "/1 trapped_between_floors on");
  // Step 1 of the chain: the duty group's webhook and the contractor's SMS.
  const std::string webhook_key = "incident:1:esc:0m:always:channel:duty";
  const std::string sms_key = std::string("incident:1:esc:0m:always:sms:") + kContractorPhone;
  ASSERT_TRUE(Eventually([&] { return !rx.Find(webhook_key).is_null(); }, 20s)) << d.Output();
  ASSERT_TRUE(Eventually([&] { return !rx.Find(sms_key).is_null(); }, 5s)) << d.Output();
  json hook = json::parse(rx.Find(webhook_key)["body"].get<std::string>());
  EXPECT_EQ(hook["idempotency_key"], webhook_key);
  EXPECT_EQ(hook["event"], "incident:1");
  EXPECT_EQ(hook["data"]["elevator"], "C1");
  EXPECT_EQ(hook["data"]["escalation"]["step"], 1);
  EXPECT_NE(hook["subject"].get<std::string>().find("困人"), std::string::npos) << hook["subject"];
  EXPECT_NE(hook["text"].get<std::string>().find("Outpatient car 1"), std::string::npos);
  EXPECT_NE(hook["text"].get<std::string>().find("Acme Lifts"), std::string::npos);
  json sms = json::parse(rx.Find(sms_key)["body"].get<std::string>());
  EXPECT_EQ(sms["to"], kContractorPhone);

  // The security room: a notice on the stream.
  std::string events = ReadSome(stream, 10s, "incident:1:esc:0m:always:security-room");
  EXPECT_NE(events.find("event: notice"), std::string::npos) << events;
  EXPECT_NE(events.find("incident:1:esc:0m:always:security-room"), std::string::npos) << events;
  ::close(stream);

  // The incident is dispatched, in the same transaction as step 1.
  Reply incidents = Call(http_, "GET", "/api/v1/incidents", token);
  ASSERT_EQ(incidents.status, 200);
  ASSERT_EQ(incidents.body["incidents"].size(), 1u);
  EXPECT_EQ(incidents.body["incidents"][0]["steps"][1]["step"], "dispatched");

  // MQTT: the incident, and the trapped car's state (retained: a late
  // subscriber gets it at once).
  ASSERT_TRUE(Eventually(
      [&] {
        for (const auto& l : sub.Lines()) {
          if (l.topic == std::string(kPrefix) + "/incidents" &&
              l.payload.value("idempotency_key", "") ==
                  "incident:1:open:mqtt:" + std::string(kPrefix) + "/incidents") {
            EXPECT_EQ(l.payload["data"]["elevator"], "C1");
            EXPECT_EQ(l.payload["data"]["state"], "open");
            return true;
          }
        }
        return false;
      },
      10s));
  Subscriber late(dir_ + "/sub-late.log", mqtt_port_, std::string(kPrefix) + "/elevators/C1/state");
  ASSERT_TRUE(Eventually([&] { return !late.Lines().empty(); }, 5s));
  auto state = late.Lines().back();
  EXPECT_TRUE(state.retained);
  EXPECT_EQ(state.payload["data"]["elevator"], "C1");
  EXPECT_EQ(state.payload["data"]["occupied"], true);
  EXPECT_EQ(state.payload["data"]["moving"], false);
  // TRAPPED is told through its incident only: no alarm message to people.
  std::string trapped_id = Column("SELECT id FROM alarms WHERE type = 'TRAPPED'").at(0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE event = 'alarm:" + trapped_id +
                  "' AND channel != '[mqtt]'"),
            0);

  // A major alarm on the other car: by severity, to the safety manager's
  // e-mail (and webhook) and the security room.
  sim.control().Must("fault " + p + "/2 safety_circuit_open on");
  std::string id;
  ASSERT_TRUE(Eventually(
      [&] {
        auto ids = Column(
            "SELECT id FROM alarms WHERE elevator = 'C2' AND type = "
            "'SAFETY_CIRCUIT_OPEN'");
        if (ids.empty()) return false;
        id = ids[0];
        return true;
      },
      15s));
  const std::string mail_key = "alarm:" + id + ":r1:email:safety@example.org";
  json mail;
  ASSERT_TRUE(Eventually(
      [&] {
        for (const json& m : smtp.Messages()) {
          if (m["key"] == mail_key) mail = m;
        }
        return !mail.is_null();
      },
      15s))
      << d.Output();
  EXPECT_EQ(mail["to"], json::array({"safety@example.org"}));
  EXPECT_NE(mail["subject"].get<std::string>().find("SAFETY_CIRCUIT_OPEN"), std::string::npos);
  EXPECT_NE(mail["subject"].get<std::string>().find("安全回路断路"), std::string::npos);
  EXPECT_NE(mail["body"].get<std::string>().find("Outpatient car 2 (C2)"), std::string::npos);
  EXPECT_TRUE(
      Eventually([&] { return !rx.Find("alarm:" + id + ":r1:channel:duty").is_null(); }, 10s));
  // And the machine feed.
  EXPECT_TRUE(Eventually(
      [&] { return sub.Keys().count("alarm:" + id + ":r1:mqtt:" + kPrefix + "/alarms") == 1; },
      10s));

  // /metrics counts it.
  Reply metrics = Call(http_, "GET", "/metrics");
  EXPECT_NE(
      metrics.raw.find("liftguard_notifications_sent_total{channel=\"[smtp]\",kind=\"email\"}"),
      std::string::npos)
      << metrics.raw;
  EXPECT_NE(metrics.raw.find("liftguard_outbox_pending{channel=\"duty\"} 0"), std::string::npos)
      << metrics.raw;
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(NotifyDaemonTest, AFailedScheduledTestRaisesChannelDownThroughTheOtherChannels) {
  Dir("notify-daemon-channel-down");
  HttpReceiver rx(dir_, hook_port_);
  rx.Start(0, 404);  // the webhook's URL is wrong: refused for good
  SmtpReceiver smtp(dir_, smtp_port_);
  Mosquitto broker(dir_, mqtt_port_);
  Sim sim({std::to_string(sim_port_) + ":1-2"}, {}, true, dir_);
  // Scheduled tests on: a channel never tested gets its test at once.
  Process d = StartDaemon(WriteConfig(2, "", 1), "liftguardd.log");

  std::string id;
  ASSERT_TRUE(Eventually(
      [&] {
        auto ids = Column(
            "SELECT id FROM alarms WHERE type = 'CHANNEL_DOWN' AND elevator = 'channel:duty'");
        if (ids.empty()) return false;
        id = ids[0];
        return true;
      },
      20s))
      << d.Output();
  EXPECT_EQ(Column("SELECT severity FROM alarms WHERE id = " + id).at(0), "major");
  EXPECT_NE(Column("SELECT message FROM alarms WHERE id = " + id).at(0).find("HTTP 404"),
            std::string::npos);
  // Told through the other channels: the safety manager's e-mail, not the
  // safety manager's webhook, which is the channel that is down.
  const std::string mail_key = "alarm:" + id + ":r1:email:safety@example.org";
  ASSERT_TRUE(Eventually([&] { return smtp.Accepted().count(mail_key) == 1; }, 15s));
  for (const json& m : smtp.Messages()) {
    if (m["key"] != mail_key) continue;
    EXPECT_NE(m["subject"].get<std::string>().find("CHANNEL_DOWN"), std::string::npos);
    EXPECT_NE(m["body"].get<std::string>().find("duty"), std::string::npos);
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE idempotency_key = 'alarm:" + id +
                  ":r1:channel:duty'"),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE idempotency_key = 'alarm:" + id +
                  ":r1:security-room'"),
            1);

  // A reload keeps it: the channel is still configured.
  d.Signal(SIGHUP);
  ASSERT_TRUE(d.WaitForOutput("configuration reloaded", 10s)) << d.Output();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(Column("SELECT state FROM alarms WHERE id = " + id).at(0), "unack");

  // The receiver is fixed; the next message through the channel (a major
  // alarm to the safety manager's webhook) gets through, and the alarm
  // returns to normal, waiting for someone to acknowledge it.
  rx.Control("status=200");
  sim.control().Must("fault " + std::to_string(sim_port_) + "/1 safety_circuit_open on");
  ASSERT_TRUE(Eventually(
      [&] { return Column("SELECT state FROM alarms WHERE id = " + id).at(0) == "rtn_unack"; },
      20s))
      << d.Output();
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(NotifyDaemonTest, AReceiverDownForAWhileGetsEverythingOnceBack) {
  Dir("notify-daemon-down");
  HttpReceiver rx(dir_, hook_port_);  // not started: connection refused
  SmtpReceiver smtp(dir_, smtp_port_);
  Mosquitto broker(dir_, mqtt_port_);
  Sim sim({std::to_string(sim_port_) + ":1-4"}, {}, true, dir_);
  Process d = StartDaemon(WriteConfig(4), "liftguardd.log");
  std::string p = std::to_string(sim_port_);
  const char* faults[] = {"safety_circuit_open", "power_failure", "brake_fault", "ucm"};
  for (int u = 1; u <= 4; ++u) {
    sim.control().Must("fault " + p + "/" + std::to_string(u) + " " + faults[u - 1] + " on");
  }
  ASSERT_TRUE(Eventually(
      [&] { return Count("SELECT COUNT(*) FROM outbox WHERE channel = 'duty'") >= 4; }, 15s));
  std::this_thread::sleep_for(4s);  // several failed attempts
  Reply metrics = Call(http_, "GET", "/metrics");
  EXPECT_NE(metrics.raw.find("liftguard_notifications_failed_total{channel=\"duty\""),
            std::string::npos);
  EXPECT_EQ(metrics.raw.find("liftguard_notifications_failed_total{channel=\"duty\",kind="
                             "\"webhook\"} 0"),
            std::string::npos)
      << metrics.raw;
  EXPECT_GE(Count("SELECT COUNT(*) FROM outbox WHERE channel IN ('duty', 'sms') AND "
                  "delivered_at = ''"),
            5);  // 4 alarms to the duty webhook, the UCM one also by SMS

  rx.Start();
  ASSERT_TRUE(Eventually(
      [&] {
        return Count(
                   "SELECT COUNT(*) FROM outbox WHERE channel IN ('duty', 'sms') AND "
                   "delivered_at = ''") == 0;
      },
      20s))
      << d.Output();
  std::set<std::string> want;
  for (const auto& k : Column("SELECT idempotency_key FROM outbox WHERE channel = 'duty'")) {
    want.insert(k);
  }
  auto got = rx.Accepted("/hook");
  std::set<std::string> keys;
  for (const auto& [k, n] : got) {
    keys.insert(k);
    EXPECT_EQ(n, 1) << k;
  }
  EXPECT_EQ(keys, want);
  EXPECT_EQ(rx.Accepted("/sms").size(),
            static_cast<size_t>(Count("SELECT COUNT(*) FROM outbox WHERE channel = 'sms'")));
  EXPECT_EQ(d.Stop(), 0);
}

TEST_F(NotifyDaemonTest, KillNineOfTheDaemonDuringDeliveryLosesNothingAndDuplicatesOnlyByKey) {
  Dir("notify-daemon-kill");
  HttpReceiver rx(dir_, hook_port_);
  rx.Start(100);  // slow, so that kills land in the middle of deliveries
  SmtpReceiver smtp(dir_, smtp_port_);
  Mosquitto broker(dir_, mqtt_port_);
  Subscriber sub(dir_ + "/sub.log", mqtt_port_, std::string(kPrefix) + "/#");
  const int kCars = 20;
  Sim sim({std::to_string(sim_port_) + ":1-" + std::to_string(kCars)}, {}, true, dir_);
  // No flood digests and no chattering: every transition that notifies is
  // notified at once, so the test knows what to expect from the database.
  std::string cfg = WriteConfig(kCars, "flood_count = 10000\nchatter_count = 100\n");
  std::string p = std::to_string(sim_port_);
  const char* faults[] = {"safety_circuit_open", "power_failure", "brake_fault", "ucm",
                          "controller_fault"};
  std::random_device rd;
  unsigned seed = rd();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::vector<bool> on(kCars + 1, false);
  std::vector<int> fault_of(kCars + 1, 0);
  auto toggle = [&](int n) {
    for (int i = 0; i < n; ++i) {
      int u = 1 + static_cast<int>(rng() % kCars);
      if (!on[u]) fault_of[u] = static_cast<int>(rng() % 5);
      on[u] = !on[u];
      sim.control().Must("fault " + p + "/" + std::to_string(u) + " " + faults[fault_of[u]] +
                         (on[u] ? " on" : " off"));
    }
  };

  // Each round: start the daemon, change faults, wait until the first new
  // messages are committed, then kill it a random moment later, while it
  // delivers them (the receiver takes 100 ms per request).
  const int kKills = 20;
  const std::string pending_sql =
      "SELECT COUNT(*) FROM outbox WHERE delivered_at = '' AND failed_at = '' AND channel != "
      "'security-room'";
  int kills = 0, in_flight = 0;
  std::uniform_int_distribution<int> when(0, 250);
  for (int round = 0; round < kKills; ++round) {
    Process d = StartDaemon(cfg, "liftguardd-" + std::to_string(round) + ".log");
    int64_t before = Count("SELECT COUNT(*) FROM outbox");
    toggle(8);
    Eventually([&] { return Count("SELECT COUNT(*) FROM outbox") > before; }, 6s);
    std::this_thread::sleep_for(std::chrono::milliseconds(when(rng)));
    ASSERT_TRUE(d.running()) << d.Output();
    if (Count(pending_sql) > 0) ++in_flight;
    d.Signal(SIGKILL);
    EXPECT_EQ(d.Wait(5s), -SIGKILL);
    ++kills;
  }
  EXPECT_GE(in_flight, kKills / 2) << "too few kills landed while messages were being delivered";
  // Let the last one deliver everything.
  Process last = StartDaemon(cfg, "liftguardd-last.log");
  // Settled: nothing pending, and no new transition for a while (the faults
  // stay as the last round left them). Then a clean stop, so that the
  // database holds still while it is compared with what arrived.
  int64_t history = -1;
  int quiet = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        int64_t h = Count("SELECT COUNT(*) FROM alarm_history");
        quiet = (h == history && Count(pending_sql) == 0) ? quiet + 1 : 0;
        history = h;
        std::this_thread::sleep_for(100ms);
        return quiet >= 30;
      },
      90s))
      << last.Output();
  EXPECT_EQ(last.Stop(), 0);
  EXPECT_EQ(Count(pending_sql), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE failed_at != ''"), 0);

  // Every committed transition that notifies has its messages: a history row
  // (stored with the alarm, in one transaction) with notify = 'now' of a
  // major or critical alarm goes to the safety manager's webhook and e-mail,
  // and every transition to the MQTT feed.
  auto reader = Reader();
  SQLite::Statement q(*reader,
                      "SELECT h.alarm_id, h.revision, h.notify, a.severity, a.type FROM "
                      "alarm_history h JOIN alarms a ON a.id = h.alarm_id");
  std::set<std::string> outbox;
  for (const auto& k : Column("SELECT idempotency_key FROM outbox")) outbox.insert(k);
  int transitions = 0, notified = 0;
  while (q.executeStep()) {
    std::string name = "alarm:" + q.getColumn(0).getString() + ":r" + q.getColumn(1).getString();
    ++transitions;
    EXPECT_TRUE(outbox.count(name + ":mqtt:" + kPrefix + "/alarms")) << name;
    if (q.getColumn(2).getString() != "now" || q.getColumn(4).getString() == "TRAPPED") continue;
    ++notified;
    std::string sev = q.getColumn(3).getString();
    if (sev == "major" || sev == "critical") {
      EXPECT_TRUE(outbox.count(name + ":channel:duty")) << name;
      EXPECT_TRUE(outbox.count(name + ":email:safety@example.org")) << name;
      EXPECT_TRUE(outbox.count(name + ":security-room")) << name;
    }
    if (sev == "critical") {
      EXPECT_TRUE(outbox.count(name + ":sms:" + std::string(kContractorPhone))) << name;
    }
  }
  EXPECT_GE(notified, 20) << "too few alarms for the kills to mean much";

  // Every message in the outbox arrived, through its channel; nothing
  // arrived that is not in the outbox; a repeat is the same key again (a
  // kill between the receiver's acceptance and the mark).
  std::map<std::string, std::set<std::string>> want;  // channel -> keys
  {
    SQLite::Statement m(*reader, "SELECT channel, idempotency_key FROM outbox");
    while (m.executeStep()) want[m.getColumn(0).getString()].insert(m.getColumn(1).getString());
  }
  int repeats = 0;
  auto check = [&](const std::string& channel, const std::map<std::string, int>& got) {
    std::set<std::string> keys;
    for (const auto& [k, n] : got) {
      keys.insert(k);
      repeats += n - 1;
    }
    EXPECT_EQ(keys, want[channel]) << channel;
  };
  check("duty", rx.Accepted("/hook"));
  check("sms", rx.Accepted("/sms"));
  check("[smtp]", smtp.Accepted());
  ASSERT_TRUE(Eventually([&] { return sub.Keys().size() == want["[mqtt]"].size(); }, 10s));
  check("[mqtt]", sub.Keys());
  EXPECT_LE(repeats, 4 * kills);  // at most one per channel per kill
  std::cout << "kills: " << kills << " (" << in_flight
            << " with messages undelivered), transitions: " << transitions
            << ", notified: " << notified << ", outbox messages: " << outbox.size()
            << ", repeated deliveries (same key): " << repeats << ", seed: " << seed << "\n";
  EXPECT_EQ(reader->execAndGet("PRAGMA integrity_check").getString(), "ok");
}

}  // namespace
}  // namespace lg
