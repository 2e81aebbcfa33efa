// Records end to end: the real liftguardd, records written through its HTTP
// API, and the compliance alarms they cause in GET /api/v1/alarms, across a
// restart of the daemon.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/auth.h"
#include "db/database.h"
#include "rules/compliance.h"
#include "tests/integration/harness.h"

namespace lg {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::Eventually;
using testing::FreePort;
using testing::Process;

constexpr char kPassword[] = "correct horse battery";

struct Reply {
  int status = 0;
  json body;
};

Reply Call(int port, const std::string& method, const std::string& target,
           const std::string& token = "", const std::string& body = "") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return {};
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (method != "GET") {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  for (size_t off = 0; off < req.size();) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[8192];
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  Reply r;
  std::sscanf(raw.c_str(), "HTTP/1.1 %d", &r.status);
  size_t end = raw.find("\r\n\r\n");
  if (end != std::string::npos) r.body = json::parse(raw.substr(end + 4), nullptr, false);
  return r;
}

class RecordsFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("records");
    http_ = FreePort();
    // Nothing listens on the link: the cars are offline, the records work.
    std::ofstream f(dir_ + "/liftguard.toml");
    f << "[site]\nname = \"Test hospital\"\ntimezone = \"Asia/Shanghai\"\n\n"
      << "[daemon]\ndatabase = \"lg.db\"\nlisten = \"127.0.0.1:" << http_
      << "\"\nlog_level = \"info\"\n\n"
      << "[records]\nevaluate_at = \"06:30\"\n\n"
      << "[[link]]\nid = \"gw\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = " << FreePort()
      << "\n\n"
      << "[[elevator]]\nid = \"C1\"\nlink = \"gw\"\nunit = 1\nfirst_use = \"2018-06-01\"\n"
      << "contractor = \"acme\"\n\n"
      << "[[elevator]]\nid = \"C2\"\nlink = \"gw\"\nunit = 2\ncontractor = \"beta\"\n\n"
      << "[[contractor]]\nid = \"acme\"\nname = \"Acme Lifts\"\nduty_phone = \"+86 20 1\"\n\n"
      << "[[contractor]]\nid = \"beta\"\nname = \"Beta Lifts\"\nduty_phone = \"+86 20 2\"\n";
    f.close();
    auto db = db::Database::Open(dir_ + "/lg.db");
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE(auth::CreateUser(**db, "sam", kPassword, auth::Role::kSafetyManager).ok());
    ASSERT_TRUE(auth::CreateUser(**db, "carl", kPassword, auth::Role::kContractor, "acme").ok());
    ASSERT_TRUE(auth::CreateUser(**db, "bea", kPassword, auth::Role::kContractor, "beta").ok());
  }

  Process Start(const std::string& log) {
    Process p({testing::DaemonPath(), "--config", dir_ + "/liftguard.toml"}, dir_ + "/" + log);
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

  // The open alarm of `type` the user sees, or null.
  json Alarm(const std::string& token, const std::string& type) {
    Reply r = Call(http_, "GET", "/api/v1/alarms", token);
    if (r.status != 200) return nullptr;
    for (const auto& a : r.body) {
      if (a["type"] == type) return a;
    }
    return nullptr;
  }

  std::string dir_;
  int http_ = 0;
};

TEST_F(RecordsFlowTest, ComplianceFindingsAreAlarmsThatSurviveARestart) {
  Process d = Start("liftguardd.log");
  std::string sam = Login("sam"), carl = Login("carl"), bea = Login("bea");
  // Days since the start of records: nothing is due yet.
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(Alarm(sam, "MAINTENANCE_OVERDUE").is_null());
  EXPECT_TRUE(Alarm(sam, "DRILL_OVERDUE").is_null());

  const rules::Date today{std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now() +
                                                                std::chrono::hours(8))};
  // A technician's certificate issued five years ago has expired.
  Reply c = Call(http_, "POST", "/api/v1/certificates", sam,
                 json{{"kind", "personnel"},
                      {"holder", "Li Wei"},
                      {"holder_contractor", "acme"},
                      {"category", "T"},
                      {"number", "T-0001"},
                      {"issued", rules::FormatDate(rules::AddYears(today, -5))}}
                     .dump());
  ASSERT_EQ(c.status, 201) << c.body.dump();
  EXPECT_EQ(c.body["state"], "expired");
  json cert;
  ASSERT_TRUE(
      Eventually([&] { return !(cert = Alarm(sam, "CERTIFICATE_EXPIRED")).is_null(); }, 10s))
      << d.Output();
  EXPECT_EQ(cert["elevator"], "person:1");
  EXPECT_EQ(cert["severity"], "major");
  EXPECT_NE(cert["message"].get<std::string>().find("Li Wei"), std::string::npos);
  // The technician can no longer sign maintenance.
  WallTime y = std::chrono::system_clock::now() - 24h;
  Reply m = Call(http_, "POST", "/api/v1/maintenance", carl,
                 json{{"elevator", "C1"},
                      {"kind", "half_monthly"},
                      {"started_at", db::FormatTime(y)},
                      {"ended_at", db::FormatTime(y + 1h)},
                      {"technicians", {{{"name", "Li Wei"}, {"certificate", "T-0001"}}}},
                      {"items", {{{"item", "brake"}, {"result", "ok"}}}}}
                     .dump());
  EXPECT_EQ(m.status, 400) << m.body.dump();
  EXPECT_NE(m.body["error"]["message"].get<std::string>().find("expired"), std::string::npos);

  // C1's inspection mark ran out yesterday: critical, and C1's contractor sees it.
  Reply mark = Call(http_, "POST", "/api/v1/certificates", sam,
                    json{{"kind", "inspection_mark"},
                         {"elevator", "C1"},
                         {"expires", rules::FormatDate(rules::AddDays(today, -1))}}
                        .dump());
  ASSERT_EQ(mark.status, 201) << mark.body.dump();
  json over;
  ASSERT_TRUE(
      Eventually([&] { return !(over = Alarm(carl, "INSPECTION_OVERDUE")).is_null(); }, 10s))
      << d.Output();
  EXPECT_EQ(over["elevator"], "C1");
  EXPECT_EQ(over["severity"], "critical");
  EXPECT_TRUE(Alarm(bea, "INSPECTION_OVERDUE").is_null());
  EXPECT_TRUE(Alarm(carl, "CERTIFICATE_EXPIRED").is_null());  // a person's, no car's

  // After a restart the same alarms go on (confirmed by the first evaluation).
  EXPECT_EQ(d.Stop(), 0);
  Process again = Start("liftguardd-2.log");
  sam = Login("sam");
  std::this_thread::sleep_for(1500ms);
  json cert2 = Alarm(sam, "CERTIFICATE_EXPIRED"), over2 = Alarm(sam, "INSPECTION_OVERDUE");
  ASSERT_FALSE(cert2.is_null());
  ASSERT_FALSE(over2.is_null());
  EXPECT_EQ(cert2["id"], cert["id"]);
  EXPECT_EQ(over2["id"], over["id"]);
  EXPECT_EQ(cert2["active"], true);

  // A new mark clears INSPECTION_OVERDUE.
  mark = Call(http_, "POST", "/api/v1/certificates", sam,
              json{{"kind", "inspection_mark"},
                   {"elevator", "C1"},
                   {"expires", rules::FormatDate(rules::AddYears(today, 1))}}
                  .dump());
  ASSERT_EQ(mark.status, 201);
  EXPECT_TRUE(Eventually(
      [&] {
        json a = Alarm(sam, "INSPECTION_OVERDUE");
        return !a.is_null() && a["active"] == false && a["state"] == "rtn_unack";
      },
      10s))
      << again.Output();
}

}  // namespace
}  // namespace lg
