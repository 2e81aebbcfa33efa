// `liftguard import`, `export` and `report` end to end: the real CLI binary
// on a temporary database (the line-numbered error report of an import that
// imports nothing, the audit rows, export), and against the real liftguardd
// (GET /api/v1/reports/... through `liftguard report`, and its headers).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "daemon/csv.h"
#include "db/database.h"
#include "tests/integration/harness.h"

extern char** environ;

namespace lg {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::FreePort;
using testing::Process;

std::string CliPath() { return testing::BinaryDir() + "/daemon/liftguard"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Ran {
  int exit = -1;
  std::string out, err;
};

std::ostream& operator<<(std::ostream& o, const Ran& r) {
  return o << "exit " << r.exit << "\n--- stdout\n" << r.out << "--- stderr\n" << r.err;
}

// Runs the CLI with HOME in `home`, without the caller's LIFTGUARD_*, and
// `input` on stdin.
Ran Cli(const std::string& home, const std::vector<std::string>& args,
        const std::map<std::string, std::string>& extra = {}, const std::string& input = "") {
  static int n = 0;
  std::string base = home + "/run" + std::to_string(++n);
  { std::ofstream(base + ".in") << input; }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (kv.rfind("LIFTGUARD_", 0) == 0 || kv.rfind("HOME=", 0) == 0 ||
        kv.rfind("XDG_CONFIG_HOME=", 0) == 0 || kv.rfind("SUDO_USER=", 0) == 0) {
      continue;
    }
    env.push_back(kv);
  }
  env.push_back("HOME=" + home);
  env.push_back("XDG_CONFIG_HOME=" + home + "/config");
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  pid_t pid = ::fork();
  if (pid == 0) {
    int in = ::open((base + ".in").c_str(), O_RDONLY);
    int out = ::open((base + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open((base + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::string path = CliPath();
    std::vector<char*> argv{path.data()};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> ep;
    for (auto& e : env) ep.push_back(e.data());
    ep.push_back(nullptr);
    ::execve(argv[0], argv.data(), ep.data());
    _exit(127);
  }
  int st = 0;
  auto end = std::chrono::steady_clock::now() + 60s;
  while (::waitpid(pid, &st, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > end) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  Ran r;
  r.exit = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = ReadFile(base + ".out");
  r.err = ReadFile(base + ".err");
  return r;
}

// One HTTP/1.1 GET; the whole answer (status line, headers, body).
std::string HttpGet(int port, const std::string& target, const std::string& token) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                    token + "\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

const std::string kSamPw = "safety-manager-pw";
const std::string kOlgaPw = "operator-password";

class CliReportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("cli-reports");
    http_ = FreePort();
    url_ = "http://127.0.0.1:" + std::to_string(http_);
    cfg_ = dir_ + "/liftguard.toml";
    db_ = dir_ + "/lg.db";
    // The car's link points at a port nobody listens on: the reports need
    // no live data.
    std::ofstream f(cfg_);
    f << "[site]\nname = \"Test hospital\"\ntimezone = \"+08:00\"\n\n[daemon]\ndatabase = "
         "\"lg.db\"\n"
      << "listen = \"127.0.0.1:" << http_ << "\"\n\n"
      << "[[link]]\nid = \"gw\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = " << FreePort()
      << "\n\n"
      << "[[elevator]]\nid = \"C1\"\nname = \"门诊 1\"\nlink = \"gw\"\nunit = 1\n"
      << "first_use = \"2018-06-01\"\ncontractor = \"acme\"\n\n"
      << "[[contractor]]\nid = \"acme\"\nname = \"Acme Lift Service\"\n"
      << "duty_phone = \"+86 20 0000 0000\"\n";
    f.close();
    Write("contractors.csv", "id,name,duty_phone\nacme,Acme Lift Service,+86 20 0000 0000\n");
    Write("assignments.csv", "elevator,contractor,starts_on,ends_on\nC1,acme,,\n");
    // A byte order mark, a quoted role with a comma, CRLF line ends.
    Write("certs.csv", std::string(csv::kBom) +
                           "holder,holder_contractor,holder_role,category,number,issued_on\r\n"
                           "Li Wei,acme,\"technician, senior\",T,T-0001,2021-08-15\r\n"
                           "Wang Fang,acme,technician,T,T-0002,2021-06-10\r\n");
  }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << text;
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  Ran Run(const std::vector<std::string>& args, std::map<std::string, std::string> env = {},
          const std::string& input = "") {
    env.emplace("LIFTGUARD_URL", url_);
    return Cli(dir_, args, env, input);
  }

  int64_t Count(const std::string& sql) {
    auto r = db::Database::OpenReader(db_);
    EXPECT_TRUE(r.ok());
    return r.ok() ? (*r)->execAndGet(sql).getInt64() : -1;
  }

  void ImportBasics() {
    for (const char* kind : {"contractors", "assignments"}) {
      Ran r = Run({"import", kind, Path(std::string(kind) + ".csv"), "--config", cfg_});
      ASSERT_EQ(r.exit, 0) << r;
    }
    Ran r = Run({"import", "certificates", Path("certs.csv"), "--config", cfg_});
    ASSERT_EQ(r.exit, 0) << r;
    EXPECT_NE(r.out.find("imported 2 certificates lines"), std::string::npos) << r;
  }

  std::string dir_, cfg_, db_, url_;
  int http_ = 0;
};

TEST_F(CliReportsTest, ImportReportsEveryBadLineAndImportsNothing) {
  ImportBasics();
  // Line 3: Wang Fang's certificate expired on 10 Jun 2025, before the work
  // of 20 Jun. Line 4 ends before it starts.
  Write("maint.csv",
        "elevator,kind,started_at,ended_at,technicians,items\n"
        "C1,half_monthly,2025-06-05T09:00:00+08:00,2025-06-05T10:00:00+08:00,Li "
        "Wei|T-0001,brake|ok\n"
        "C1,half_monthly,2025-06-20T09:00:00+08:00,2025-06-20T10:00:00+08:00,Wang "
        "Fang|T-0002,brake|ok\n"
        "C1,repair,2025-06-21T10:00:00+08:00,2025-06-21T09:00:00+08:00,Li Wei|T-0001,\n");
  Ran bad = Run({"import", "maintenance", Path("maint.csv"), "--config", cfg_});
  EXPECT_EQ(bad.exit, 1) << bad;
  std::string file = Path("maint.csv");
  EXPECT_NE(bad.err.find(file + ":3: column \"technicians\" entry 1 (Wang Fang)"),
            std::string::npos)
      << bad;
  EXPECT_NE(bad.err.find("2025-06-10"), std::string::npos) << bad;
  EXPECT_NE(bad.err.find(file + ":4: column \"ended_at\""), std::string::npos) << bad;
  EXPECT_EQ(bad.err.find(file + ":2:"), std::string::npos) << bad;
  EXPECT_NE(bad.err.find("nothing imported: 2 of 3 lines"), std::string::npos) << bad;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM maintenance_records"), 0);
  // The refused import is in the audit log, and the chain still holds.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE path = 'import maintenance' AND status = "
                  "400 AND detail LIKE '%nothing imported%'"),
            1);
  Ran verify = Run({"audit", "verify", "--db", db_});
  EXPECT_EQ(verify.exit, 0) << verify;

  // A dry run of the mended file writes nothing and audits nothing.
  Write("maint.csv",
        "elevator,kind,started_at,ended_at,technicians,items\n"
        "C1,half_monthly,2025-06-05T09:00:00+08:00,2025-06-05T10:00:00+08:00,Li "
        "Wei|T-0001,brake|ok\n"
        "C1,repair,2025-06-21T09:00:00+08:00,2025-06-21T10:00:00+08:00,Li Wei|T-0001,\n");
  Ran dry = Run({"import", "maintenance", Path("maint.csv"), "--config", cfg_, "--dry-run"});
  EXPECT_EQ(dry.exit, 0) << dry;
  EXPECT_NE(dry.out.find("nothing written"), std::string::npos) << dry;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM maintenance_records"), 0);
  Ran good = Run({"import", "maintenance", Path("maint.csv"), "--config", cfg_});
  EXPECT_EQ(good.exit, 0) << good;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM maintenance_records"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE path = 'import maintenance' AND status = "
                  "200"),
            1);

  // Export gives back what import takes; --out writes the file.
  Ran ex = Run({"export", "maintenance", "--db", db_});
  EXPECT_EQ(ex.exit, 0) << ex;
  EXPECT_TRUE(ex.out.starts_with(std::string(csv::kBom) + "elevator,kind,contractor,started_at"))
      << ex;
  EXPECT_NE(ex.out.find("C1,half_monthly,acme,2025-06-05T01:00:00.000Z"), std::string::npos) << ex;
  Ran exf = Run({"export", "certificates", "--db", db_, "--out", Path("certs-out.csv")});
  EXPECT_EQ(exf.exit, 0) << exf;
  EXPECT_NE(ReadFile(Path("certs-out.csv")).find("Li Wei,acme,\"technician, senior\",T,T-0001"),
            std::string::npos);

  // Kinds naming elevators need the configuration; unknown kinds are usage.
  Ran nocfg = Run({"import", "maintenance", Path("maint.csv"), "--db", db_});
  EXPECT_EQ(nocfg.exit, 2) << nocfg;
  EXPECT_NE(nocfg.err.find("--config"), std::string::npos) << nocfg;
  Ran kind = Run({"import", "lifts", Path("maint.csv"), "--db", db_});
  EXPECT_EQ(kind.exit, 2) << kind;
  EXPECT_NE(kind.err.find("one of contractors, assignments"), std::string::npos) << kind;
}

TEST_F(CliReportsTest, ReportThroughTheDaemon) {
  for (auto [user, role, pw] :
       {std::tuple{"sam", "safety_manager", kSamPw}, std::tuple{"olga", "operator", kOlgaPw}}) {
    Ran r = Run({"user", "add", user, "--role", role, "--password-stdin", "--config", cfg_}, {},
                pw + "\n");
    ASSERT_EQ(r.exit, 0) << r;
  }
  ImportBasics();
  Process daemon({testing::DaemonPath(), "--config", cfg_}, dir_ + "/liftguardd.log");
  ASSERT_TRUE(daemon.WaitForOutput("http: listening on", 20s)) << daemon.Output();

  Ran login = Run({"login", "--user", "sam"}, {{"LIFTGUARD_PASSWORD", kSamPw}});
  ASSERT_EQ(login.exit, 0) << login;
  // June 2025, counted from 30 Jun 2025: Wang Fang's certificate expired
  // on 10 Jun (-20 days), Li Wei's expires 15 Aug (46 days).
  Ran csv = Run({"report", "month", "--period", "2025-06"});
  ASSERT_EQ(csv.exit, 0) << csv;
  EXPECT_TRUE(csv.out.starts_with(std::string(csv::kBom) + "[report]\r\n")) << csv;
  for (const char* section :
       {"[summary]", "[alarms_by_type]", "[alarms_by_elevator]", "[alarms_per_month]",
        "[entrapment_targets]", "[maintenance]", "[inspections]", "[certificates]"}) {
    EXPECT_NE(csv.out.find(section), std::string::npos) << section;
  }
  EXPECT_NE(csv.out.find("personnel,person:2,Wang Fang,acme,T,T-0002,2025-06-10,-20,expired"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.out.find("personnel,person:1,Li Wei,acme,T,T-0001,2025-08-15,46,expiring"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.out.find("C1,门诊 1,half_monthly,"), std::string::npos) << csv;

  Ran html =
      Run({"report", "year", "--period", "2025", "--format", "html", "--out", Path("report.html")});
  ASSERT_EQ(html.exit, 0) << html;
  std::string page = ReadFile(Path("report.html"));
  EXPECT_TRUE(page.starts_with("<!DOCTYPE html>")) << page.substr(0, 200);
  EXPECT_NE(page.find("<svg class=\"chart\""), std::string::npos);
  EXPECT_FALSE(fs::exists(Path("report.html.partial")));

  Ran bad = Run({"report", "month", "--period", "2025-13"});
  EXPECT_EQ(bad.exit, 4) << bad;
  EXPECT_NE(bad.err.find("period must be a month written YYYY-MM"), std::string::npos) << bad;

  // The headers, straight from the daemon.
  std::string token = ReadFile(dir_ + "/config/liftguard/token");
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  std::string raw = HttpGet(http_, "/api/v1/reports/month?period=2025-06&format=csv", token);
  EXPECT_NE(raw.find("HTTP/1.1 200"), std::string::npos) << raw.substr(0, 300);
  EXPECT_NE(raw.find("Content-Type: text/csv; charset=utf-8"), std::string::npos);
  EXPECT_NE(raw.find("Content-Disposition: attachment; filename=\"liftguard-report-2025-06.csv\""),
            std::string::npos);
  raw = HttpGet(http_, "/api/v1/reports/month?period=2025-06&format=html", token);
  EXPECT_NE(raw.find("Content-Security-Policy: default-src 'none'; style-src 'sha256-"),
            std::string::npos)
      << raw.substr(0, 600);
  raw = HttpGet(http_, "/api/v1/reports/month?format=csv", token);
  EXPECT_NE(raw.find("HTTP/1.1 400"), std::string::npos);
  EXPECT_NE(raw.find("period is required"), std::string::npos);

  Ran as_olga = Run({"login", "--user", "olga"}, {{"LIFTGUARD_PASSWORD", kOlgaPw}});
  ASSERT_EQ(as_olga.exit, 0) << as_olga;
  Ran refused = Run({"report", "month", "--period", "2025-06"});
  EXPECT_EQ(refused.exit, 3) << refused;
  EXPECT_NE(refused.err.find("may not read reports"), std::string::npos) << refused;
  daemon.Stop();
}

}  // namespace
}  // namespace lg
