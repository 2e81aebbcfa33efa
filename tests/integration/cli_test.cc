// The `liftguard` CLI end to end: the real binary on a temporary database
// (user commands, audit rows, the no-echo prompt on a pseudo terminal), and
// against the real liftsim + liftguardd (login, status, alarms and ack,
// incidents, --json, exit codes, db backup while the daemon writes).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "daemon/auth.h"
#include "db/audit_log.h"
#include "db/database.h"
#include "tests/integration/harness.h"

extern char** environ;

namespace lg {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::Eventually;
using testing::FreePort;
using testing::Process;
using testing::Sim;

std::string CliPath() { return testing::BinaryDir() + "/daemon/liftguard"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
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

// The environment a CLI child gets: ours without LIFTGUARD_*, with HOME
// and XDG_CONFIG_HOME in the test's folder, plus `extra`.
std::vector<std::string> ChildEnv(const std::string& home,
                                  const std::map<std::string, std::string>& extra) {
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
  return env;
}

// Runs the CLI with `input` on stdin (a file, so not a terminal).
Ran Cli(const std::string& home, const std::vector<std::string>& args,
        const std::string& input = "", const std::map<std::string, std::string>& env = {}) {
  static int n = 0;
  std::string base = home + "/run" + std::to_string(++n);
  { std::ofstream(base + ".in") << input; }
  auto envs = ChildEnv(home, env);
  pid_t pid = ::fork();
  if (pid == 0) {
    int in = ::open((base + ".in").c_str(), O_RDONLY);
    int out = ::open((base + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open((base + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv{const_cast<char*>(CliPath().c_str())};
    std::string path = CliPath();
    argv[0] = path.data();
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> ep;
    for (auto& e : envs) ep.push_back(e.data());
    ep.push_back(nullptr);
    ::execve(argv[0], argv.data(), ep.data());
    _exit(127);
  }
  Ran r;
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
  r.exit = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = ReadFile(base + ".out");
  r.err = ReadFile(base + ".err");
  return r;
}

json Json(const Ran& r) {
  json j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r;
  return j;
}

// Terminal columns of a line whose only non-ASCII text is 3-byte CJK.
size_t Columns(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) == 0x80) continue;
    w += c >= 0xE0 ? 2 : 1;
  }
  return w;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

const std::string kAdminPw = "admin-password-1";
const std::string kOperatorPw = "operator-password";
const std::string kInspectorPw = "inspector-password";
const std::string kContractorPw = "contractor-password";

// ---------------------------------------------------------------- no daemon

class CliDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("cli-db");
    db_ = dir_ + "/lg.db";
  }
  Ran Run(const std::vector<std::string>& args, const std::string& input = "") {
    return Cli(dir_, args, input);
  }
  // Whether `password` logs `user` in, checked with the daemon's own code.
  bool CanLogIn(const std::string& user, const std::string& password) {
    auto db = db::Database::Open(db_);
    EXPECT_TRUE(db.ok());
    if (!db.ok()) return false;
    auto out = auth::Login(**db, user, password, std::chrono::system_clock::now(),
                           std::chrono::seconds(60));
    return out.session.has_value();
  }
  struct AuditRow {
    std::string who, address, method, path, detail;
    int status;
  };
  std::vector<AuditRow> Audit() {
    std::vector<AuditRow> rows;
    auto r = db::Database::OpenReader(db_);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return rows;
    SQLite::Statement q(**r,
                        "SELECT who, address, method, path, detail, status FROM audit_log "
                        "ORDER BY id");
    while (q.executeStep()) {
      rows.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(),
                      q.getColumn(2).getString(), q.getColumn(3).getString(),
                      q.getColumn(4).getString(), q.getColumn(5).getInt()});
    }
    return rows;
  }

  std::string dir_, db_;
};

TEST_F(CliDbTest, UserAddListPasswdDisable) {
  // A fresh file: the first admin comes before the daemon ever ran.
  Ran r = Run({"user", "add", "root-admin", "--role", "admin", "--password-stdin", "--db", db_},
              kAdminPw + "\n");
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_NE(r.out.find("added user root-admin (admin)"), std::string::npos) << r;
  EXPECT_TRUE(CanLogIn("root-admin", kAdminPw));
  EXPECT_FALSE(CanLogIn("root-admin", "wrong-password"));

  r = Run({"user", "add", "张伟", "--role", "operator", "--password-stdin", "--db", db_},
          kOperatorPw + "\n");
  ASSERT_EQ(r.exit, 0) << r;
  r = Run({"user", "add", "acme-tech", "--role", "contractor", "--contractor", "acme",
           "--password-stdin", "--db", db_},
          kContractorPw + "\n");
  ASSERT_EQ(r.exit, 0) << r;

  r = Run({"user", "list", "--db", db_});
  ASSERT_EQ(r.exit, 0) << r;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r;
  EXPECT_EQ(lines[0].rfind("USERNAME", 0), 0u) << r;
  // Aligned in terminal columns, the Chinese name included.
  size_t role_col = lines[0].find("ROLE");
  for (size_t i = 1; i < lines.size(); ++i) {
    bool found = false;
    for (const char* role : {"admin", "operator", "contractor"}) {
      auto p = lines[i].find(std::string("  ") + role);
      if (p != std::string::npos) {
        size_t start = p + 2;
        while (lines[i][start] == ' ') ++start;
        EXPECT_EQ(Columns(lines[i].substr(0, start)), role_col) << r;
        found = true;
        break;
      }
    }
    EXPECT_TRUE(found) << lines[i];
  }

  r = Run({"user", "list", "--db", db_, "--json"});
  ASSERT_EQ(r.exit, 0) << r;
  json users = Json(r);
  ASSERT_TRUE(users.is_array());
  ASSERT_EQ(users.size(), 3u);
  std::map<std::string, json> by;
  for (const auto& u : users) by[u["username"]] = u;
  EXPECT_EQ(by["root-admin"]["role"], "admin");
  EXPECT_EQ(by["张伟"]["role"], "operator");
  EXPECT_EQ(by["acme-tech"]["contractor"], "acme");
  EXPECT_EQ(by["acme-tech"]["disabled"], false);

  // Same name again: refused, the old password still the one.
  r = Run({"user", "add", "root-admin", "--role", "operator", "--password-stdin", "--db", db_},
          "another-password\n");
  EXPECT_EQ(r.exit, 1) << r;
  EXPECT_NE(r.err.find("there is a user root-admin already"), std::string::npos) << r;
  EXPECT_TRUE(CanLogIn("root-admin", kAdminPw));

  r = Run({"user", "passwd", "root-admin", "--password-stdin", "--db", db_},
          "a-new-admin-password\n");
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_FALSE(CanLogIn("root-admin", kAdminPw));
  EXPECT_TRUE(CanLogIn("root-admin", "a-new-admin-password"));

  r = Run({"user", "passwd", "root-admin", "--password-stdin", "--db", db_}, "short\n");
  EXPECT_EQ(r.exit, 2) << r;
  EXPECT_NE(r.err.find("at least 10 characters"), std::string::npos) << r;
  EXPECT_TRUE(CanLogIn("root-admin", "a-new-admin-password"));

  r = Run({"user", "passwd", "nobody", "--password-stdin", "--db", db_}, "whatever-password\n");
  EXPECT_EQ(r.exit, 1) << r;
  EXPECT_NE(r.err.find("there is no user nobody"), std::string::npos) << r;

  r = Run({"user", "disable", "张伟", "--db", db_});
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_FALSE(CanLogIn("张伟", kOperatorPw));
  r = Run({"user", "list", "--db", db_, "--json"});
  for (const auto& u : Json(r)) {
    EXPECT_EQ(u["disabled"].get<bool>(), u["username"] == "张伟") << u.dump();
  }

  // Every attempt that reached the database is in the audit log.
  auto audit = Audit();
  std::vector<std::pair<std::string, int>> seen;
  for (const auto& a : audit) {
    EXPECT_EQ(a.who.rfind("cli:", 0), 0u) << a.who;
    EXPECT_GT(a.who.size(), 4u);
    EXPECT_EQ(a.address, "local");
    EXPECT_EQ(a.method, "CLI");
    seen.emplace_back(a.path, a.status);
  }
  std::vector<std::pair<std::string, int>> want = {
      {"user add", 200},    {"user add", 200},    {"user add", 200},    {"user add", 409},
      {"user passwd", 200}, {"user passwd", 400}, {"user passwd", 404}, {"user disable", 200}};
  EXPECT_EQ(seen, want);
  ASSERT_GE(audit.size(), 4u);
  EXPECT_NE(audit[2].detail.find("acme-tech (contractor, contractor acme)"), std::string::npos)
      << audit[2].detail;
}

// `audit verify` and `audit list` on the file: intact after the CLI's own
// audited writes; each kind of tampering done with the sqlite3 library
// behind the triggers is named with its row.
TEST_F(CliDbTest, AuditVerifyFindsTampering) {
  Ran r = Run({"audit", "verify", "--db", db_});
  EXPECT_EQ(r.exit, 1) << r;
  EXPECT_NE(r.err.find("there is no database at"), std::string::npos) << r;

  for (const char* name : {"ann", "bob", "cy", "dee"}) {
    r = Run({"user", "add", name, "--role", "operator", "--password-stdin", "--db", db_},
            kOperatorPw + "\n");
    ASSERT_EQ(r.exit, 0) << r;
  }
  r = Run({"user", "disable", "nobody", "--db", db_});  // refused, audited too
  EXPECT_EQ(r.exit, 1) << r;

  r = Run({"audit", "verify", "--db", db_});
  ASSERT_EQ(r.exit, 0) << r;
  std::string head;
  {
    SQLite::Database h(db_, SQLite::OPEN_READONLY);
    head = h.execAndGet("SELECT hash FROM audit_log WHERE id = 5").getString();
  }
  EXPECT_EQ(r.out, "audit log intact: 5 rows in " + db_ + "; last row 5, hash " + head + "\n") << r;
  r = Run({"audit", "verify", "--db", db_, "--json"});
  ASSERT_EQ(r.exit, 0) << r;
  json j = Json(r);
  EXPECT_EQ(j["intact"], true);
  EXPECT_EQ(j["rows"], 5);
  EXPECT_EQ(j["head_id"], 5);
  EXPECT_EQ(j["head_hash"], head);

  r = Run({"audit", "list", "--db", db_, "--limit", "2"});
  ASSERT_EQ(r.exit, 0) << r;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r;
  EXPECT_EQ(lines[0].rfind("ID", 0), 0u) << r;
  EXPECT_EQ(lines[1].rfind("5 ", 0), 0u) << r;
  EXPECT_NE(lines[1].find("CLI user disable"), std::string::npos) << r;
  EXPECT_NE(lines[2].find("CLI user add"), std::string::npos) << r;
  r = Run({"audit", "list", "--db", db_, "--json"});
  ASSERT_EQ(r.exit, 0) << r;
  json rows = Json(r);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0]["status"], 404);
  EXPECT_EQ(rows[0]["hash"], head);
  EXPECT_EQ(rows[0]["prev_hash"], rows[1]["hash"]);
  r = Run({"audit", "list", "--db", db_, "--limit", "0"});
  EXPECT_EQ(r.exit, 2) << r;

  // Copies to tamper with, one per kind, made with the CLI's own backup.
  std::map<std::string, std::string> copy;
  for (const char* kind : {"changed", "deleted", "cut", "reordered", "forged"}) {
    copy[kind] = dir_ + "/" + kind + ".db";
    ASSERT_EQ(Run({"db", "backup", copy[kind], "--db", db_}).exit, 0);
  }
  // The triggers stop plain edits.
  {
    SQLite::Database h(copy["changed"], SQLite::OPEN_READWRITE);
    EXPECT_THROW(h.exec("UPDATE audit_log SET who = 'mallory' WHERE id = 2"), SQLite::Exception);
    EXPECT_THROW(h.exec("DELETE FROM audit_log WHERE id = 2"), SQLite::Exception);
  }
  auto tamper = [&](const std::string& kind, const std::string& sql) {
    SQLite::Database h(copy[kind], SQLite::OPEN_READWRITE);
    h.exec("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;");
    h.exec(sql);
  };
  tamper("changed", "UPDATE audit_log SET who = 'mallory' WHERE id = 2");
  tamper("deleted", "DELETE FROM audit_log WHERE id = 3");
  tamper("cut", "DELETE FROM audit_log WHERE id = 5");
  tamper("reordered",
         "UPDATE audit_log SET id = -1 WHERE id = 2; UPDATE audit_log SET id = 2 WHERE id = 3; "
         "UPDATE audit_log SET id = 3 WHERE id = -1");
  tamper("forged",
         "INSERT INTO audit_log(id, at, who, role, address, method, path, status, detail, "
         "prev_hash, hash) SELECT 6, at, 'mallory', '', 'local', 'CLI', 'user add', 200, "
         "'user eve (admin)', hash, hash FROM audit_log WHERE id = 5");
  struct Want {
    const char* kind;
    int bad_id;
    const char* problem;
    const char* words;
  };
  for (const Want& w : std::vector<Want>{
           {"changed", 2, "changed", "row 2 does not match its hash"},
           {"deleted", 3, "deleted", "row 3 was deleted"},
           {"cut", 5, "deleted", "row 5 was deleted from the end"},
           {"reordered", 2, "reordered", "row 2 follows row 3"},
           {"forged", 6, "changed", "row 6 does not match its hash"},
       }) {
    SCOPED_TRACE(w.kind);
    r = Run({"audit", "verify", "--db", copy[w.kind]});
    EXPECT_EQ(r.exit, 1) << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_NE(r.err.find("is broken at row " + std::to_string(w.bad_id) + " (" + w.problem + ")"),
              std::string::npos)
        << r;
    EXPECT_NE(r.err.find(w.words), std::string::npos) << r;
    r = Run({"audit", "verify", "--db", copy[w.kind], "--json"});
    EXPECT_EQ(r.exit, 1) << r;
    json v = Json(r);
    EXPECT_EQ(v["intact"], false);
    EXPECT_EQ(v["first_bad_id"], w.bad_id);
    EXPECT_EQ(v["problem"], w.problem);
  }
  // The original was not touched by any of it.
  EXPECT_EQ(Run({"audit", "verify", "--db", db_}).exit, 0);
}

TEST_F(CliDbTest, BadRoleAndContractorAreRefused) {
  Ran r = Run({"user", "add", "x", "--role", "superuser", "--password-stdin", "--db", db_},
              kAdminPw + "\n");
  EXPECT_EQ(r.exit, 2) << r;
  EXPECT_NE(r.err.find("unknown role \"superuser\"; one of operator, safety_manager, "
                       "contractor, inspector, admin"),
            std::string::npos)
      << r;

  r = Run({"user", "add", "x", "--role", "contractor", "--password-stdin", "--db", db_},
          kAdminPw + "\n");
  EXPECT_EQ(r.exit, 2) << r;
  EXPECT_NE(r.err.find("a contractor user needs --contractor ID"), std::string::npos) << r;

  r = Run({"user", "add", "x", "--role", "operator", "--contractor", "acme", "--password-stdin",
           "--db", db_},
          kAdminPw + "\n");
  EXPECT_EQ(r.exit, 2) << r;
  EXPECT_NE(r.err.find("--contractor goes only with --role contractor"), std::string::npos) << r;

  // With the configuration at hand, the contractor id is checked too.
  std::string cfg = dir_ + "/liftguard.toml";
  std::ofstream(cfg) << "[site]\nname = \"T\"\n\n[daemon]\ndatabase = \"cfg.db\"\n\n"
                     << "[[link]]\nid = \"gw\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\n"
                     << "port = 1502\n\n[[elevator]]\nid = \"A1\"\nlink = \"gw\"\nunit = 1\n"
                     << "contractor = \"acme\"\n\n[[contractor]]\nid = \"acme\"\nname = \"Acme\"\n"
                     << "duty_phone = \"+86 20 0000 0000\"\n";
  r = Run({"user", "add", "x", "--role", "contractor", "--contractor", "acne", "--password-stdin",
           "--config", cfg},
          kAdminPw + "\n");
  EXPECT_EQ(r.exit, 2) << r;
  EXPECT_NE(r.err.find("the configuration has no [[contractor]] \"acne\"; it defines: acme"),
            std::string::npos)
      << r;
  r = Run({"user", "add", "x", "--role", "contractor", "--contractor", "acme", "--password-stdin",
           "--config", cfg},
          kAdminPw + "\n");
  EXPECT_EQ(r.exit, 0) << r;
  EXPECT_TRUE(fs::exists(dir_ + "/cfg.db")) << "[daemon].database of --config is used";

  // Nothing was written for the refused ones.
  EXPECT_FALSE(fs::exists(db_));

  // Usage errors: no database named, both named, not a terminal to ask on.
  r = Run({"user", "list"});
  EXPECT_EQ(r.exit, 2) << r;
  EXPECT_NE(r.err.find("--db FILE or --config FILE"), std::string::npos) << r;
  r = Run({"user", "list", "--db", db_, "--config", cfg});
  EXPECT_EQ(r.exit, 2) << r;
  r = Run({"user", "add", "y", "--role", "admin", "--db", db_});
  EXPECT_EQ(r.exit, 2) << r;
  EXPECT_NE(r.err.find("stdin is not a terminal"), std::string::npos) << r;
  r = Run({"user", "frobnicate"});
  EXPECT_EQ(r.exit, 2) << r;
  r = Run({});
  EXPECT_EQ(r.exit, 2) << r;
  r = Run({"--help"});
  EXPECT_EQ(r.exit, 0) << r;
  EXPECT_NE(r.out.find("incident"), std::string::npos) << r;
}

// The password prompt on a real (pseudo) terminal: asked twice, never echoed.
TEST_F(CliDbTest, PromptsTwiceWithoutEcho) {
  auto run = [&](const std::string& first, const std::string& second, std::string& screen) {
    int master = ::posix_openpt(O_RDWR | O_NOCTTY);
    EXPECT_GE(master, 0);
    EXPECT_EQ(::grantpt(master), 0);
    EXPECT_EQ(::unlockpt(master), 0);
    std::string slave = ::ptsname(master);
    auto envs = ChildEnv(dir_, {});
    std::string path = CliPath();
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setsid();
      int s = ::open(slave.c_str(), O_RDWR);  // becomes the controlling terminal
      int out = ::open((dir_ + "/tty.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(s, 0);
      ::dup2(out, 1);
      ::dup2(s, 2);
      ::close(master);
      std::vector<std::string> args = {path,     "user",      "add",  "tty-user",
                                       "--role", "inspector", "--db", db_};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      std::vector<char*> ep;
      for (auto& e : envs) ep.push_back(e.data());
      ep.push_back(nullptr);
      ::execve(argv[0], argv.data(), ep.data());
      _exit(127);
    }
    screen.clear();
    auto read_until = [&](const std::string& text) {
      auto end = std::chrono::steady_clock::now() + 20s;
      while (screen.find(text) == std::string::npos && std::chrono::steady_clock::now() < end) {
        pollfd p{master, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
          char buf[256];
          ssize_t n = ::read(master, buf, sizeof buf);
          if (n <= 0) break;
          screen.append(buf, static_cast<size_t>(n));
        }
      }
      return screen.find(text) != std::string::npos;
    };
    EXPECT_TRUE(read_until("New password for tty-user")) << screen;
    std::string line = first + "\n";
    EXPECT_EQ(::write(master, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    EXPECT_TRUE(read_until("The same again")) << screen;
    line = second + "\n";
    EXPECT_EQ(::write(master, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    int st = 0;
    auto end = std::chrono::steady_clock::now() + 20s;
    while (::waitpid(pid, &st, WNOHANG) == 0 && std::chrono::steady_clock::now() < end) {
      read_until("\x01");  // drain what is written meanwhile
    }
    ::close(master);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  };
  std::string screen;
  EXPECT_EQ(run("tty-password-1", "tty-password-2", screen), 2);
  EXPECT_NE(screen.find("the two passwords differ"), std::string::npos) << screen;
  EXPECT_FALSE(CanLogIn("tty-user", "tty-password-1"));

  EXPECT_EQ(run("tty-password-1", "tty-password-1", screen), 0) << screen;
  EXPECT_EQ(screen.find("tty-password-1"), std::string::npos) << "echoed: " << screen;
  EXPECT_TRUE(CanLogIn("tty-user", "tty-password-1"));
}

// ------------------------------------------------------- against the daemon

class CliDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("cli");
    modbus_ = FreePort();
    http_ = FreePort();
    url_ = "http://127.0.0.1:" + std::to_string(http_);
    cfg_ = dir_ + "/liftguard.toml";
    std::ofstream f(cfg_);
    f << "[site]\nname = \"Test hospital\"\n\n[daemon]\ndatabase = \"lg.db\"\n"
      << "listen = \"127.0.0.1:" << http_ << "\"\nlog_level = \"info\"\n\n"
      << "[polling]\ninterval_ms = 200\ntimeout_ms = 150\ncomms_lost_after_ms = 3000\n"
      << "backoff_ms = [100, 1000]\n\n"
      << "[[link]]\nid = \"gw\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = " << modbus_
      << "\n\n";
    for (int u = 1; u <= 4; ++u) {
      bool outpatient = u <= 2;
      f << "[[elevator]]\nid = \"C" << u << "\"\nname = \"" << (outpatient ? "门诊" : "Ward ") << u
        << "\"\nbuilding = \"" << (outpatient ? "门诊楼" : "Ward") << "\"\nlink = \"gw\"\n"
        << "unit = " << u << "\nrated_speed_mm_s = 1750\n"
        << (outpatient ? "contractor = \"acme\"\n" : "") << "\n";
    }
    f << "[[contractor]]\nid = \"acme\"\nname = \"Acme Lift Service\"\n"
      << "duty_phone = \"+86 20 0000 0000\"\n";
  }

  // The users, made with the CLI before the daemon starts.
  void AddUsers() {
    struct U {
      std::string name, role, contractor, pw;
    };
    for (const U& u :
         {U{"olga", "operator", "", kOperatorPw}, U{"ivan", "inspector", "", kInspectorPw},
          U{"acme-tech", "contractor", "acme", kContractorPw}}) {
      std::vector<std::string> args = {
          "user", "add", u.name, "--role", u.role, "--password-stdin", "--config", cfg_};
      if (!u.contractor.empty()) {
        args.push_back("--contractor");
        args.push_back(u.contractor);
      }
      Ran r = Run(args, u.pw + "\n");
      ASSERT_EQ(r.exit, 0) << r;
    }
  }

  void Start() {
    AddUsers();
    sim_ = std::make_unique<Sim>(std::vector<std::string>{std::to_string(modbus_) + ":1-4"},
                                 std::vector<std::string>{}, true, dir_);
    daemon_ = Process({testing::DaemonPath(), "--config", cfg_}, dir_ + "/liftguardd.log");
    ASSERT_TRUE(daemon_.WaitForOutput("http: listening on", 20s)) << daemon_.Output();
  }

  Ran Run(const std::vector<std::string>& args, const std::string& input = "",
          std::map<std::string, std::string> env = {}) {
    env.emplace("LIFTGUARD_URL", url_);
    return Cli(dir_, args, input, env);
  }
  Ran As(const std::string& user, const std::string& pw) {
    return Run({"login", "--user", user}, "", {{"LIFTGUARD_PASSWORD", pw}});
  }
  std::string TokenFile() const { return dir_ + "/config/liftguard/token"; }

  std::string dir_, cfg_, url_;
  int modbus_ = 0, http_ = 0;
  std::unique_ptr<Sim> sim_;
  Process daemon_;
};

TEST_F(CliDaemonTest, LoginStatusAlarmsAck) {
  Start();
  // Not logged in yet.
  Ran r = Run({"status"});
  EXPECT_EQ(r.exit, 3) << r;
  EXPECT_NE(r.err.find("not logged in"), std::string::npos) << r;

  r = As("olga", "wrong-password-x");
  EXPECT_EQ(r.exit, 3) << r;
  EXPECT_NE(r.err.find("wrong username or password"), std::string::npos) << r;
  EXPECT_FALSE(fs::exists(TokenFile()));

  r = As("olga", kOperatorPw);
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_NE(r.out.find("logged in as olga (operator)"), std::string::npos) << r;
  struct stat st {};
  ASSERT_EQ(::stat(TokenFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/config/liftguard").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
  std::string token = ReadFile(TokenFile());
  EXPECT_EQ(token.size(), 65u) << token;  // 64 hex digits and a newline

  // Every car, once it has answered.
  ASSERT_TRUE(Eventually(
      [&] {
        r = Run({"status", "--json"});
        if (r.exit != 0) return false;
        json cars = json::parse(r.out, nullptr, false);
        if (!cars.is_array() || cars.size() != 4) return false;
        for (const auto& c : cars) {
          if (!c.value("online", false)) return false;
        }
        return true;
      },
      15s))
      << r;
  r = Run({"status"});
  ASSERT_EQ(r.exit, 0) << r;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 6u) << r;  // header, 4 cars, summary
  EXPECT_EQ(lines[0].rfind("ID", 0), 0u) << r;
  size_t floor_col = lines[0].find("FLOOR");
  size_t online_col = Columns(lines[0].substr(0, lines[0].find("ONLINE")));
  for (int u = 1; u <= 4; ++u) {
    const std::string& l = lines[static_cast<size_t>(u)];
    EXPECT_EQ(l.rfind("C" + std::to_string(u) + " ", 0), 0u) << r;
    EXPECT_NE(l.find(u <= 2 ? "门诊楼" : "Ward"), std::string::npos) << l;
    // The column after the building starts at the same screen column on
    // every line, whether the building is written in Chinese or not.
    size_t b = l.find(u <= 2 ? "门诊楼" : "Ward");
    size_t after = l.find_first_not_of(' ', l.find(' ', b));
    EXPECT_EQ(Columns(l.substr(0, after)), floor_col) << r;
    EXPECT_EQ(Columns(l.substr(0, l.find("yes"))), online_col) << r;
  }
  EXPECT_EQ(lines[5], "4 cars, 4 online, 0 with active alarms") << r;

  r = Run({"alarms"});
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_EQ(r.out, "no active alarms\n");

  // A door lock fault on C2 (raised after 2 s).
  sim_->control().Must("fault " + std::to_string(modbus_) + "/2 door_lock_fault on");
  json alarms;
  ASSERT_TRUE(Eventually(
      [&] {
        r = Run({"alarms", "--json", "--elevator", "C2"});
        alarms = json::parse(r.out, nullptr, false);
        return r.exit == 0 && alarms.is_array() && !alarms.empty();
      },
      15s))
      << r;
  ASSERT_EQ(alarms[0]["type"], "DOOR_LOCK_FAULT");
  int64_t id = alarms[0]["id"].get<int64_t>();
  std::string sid = std::to_string(id);

  r = Run({"alarms"});
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_NE(r.out.find("DOOR_LOCK_FAULT"), std::string::npos) << r;
  EXPECT_EQ(Lines(r.out).at(1).rfind(sid + " ", 0), 0u) << r;
  EXPECT_NE(Lines(r.out).at(1).find(" C2 "), std::string::npos) << r;
  EXPECT_NE(r.out.find("1 alarm\n"), std::string::npos) << r;
  r = Run({"status"});
  EXPECT_NE(r.out.find("DOOR_LOCK_FAULT"), std::string::npos) << r;
  EXPECT_NE(r.out.find("1 with active alarms"), std::string::npos) << r;

  // An inspector may look but not acknowledge: 403 is exit 3.
  r = As("ivan", kInspectorPw);
  ASSERT_EQ(r.exit, 0) << r;
  r = Run({"ack", sid, "--note", "looking"});
  EXPECT_EQ(r.exit, 3) << r;
  EXPECT_FALSE(r.err.empty());

  r = As("olga", kOperatorPw);
  ASSERT_EQ(r.exit, 0) << r;
  r = Run({"ack", sid, "--note", "technician called"});
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_NE(r.out.find("alarm " + sid + " (DOOR_LOCK_FAULT on C2) acknowledged"), std::string::npos)
      << r;
  // Twice: 409 from the API is exit 4, with the API's message.
  r = Run({"ack", sid});
  EXPECT_EQ(r.exit, 4) << r;
  EXPECT_NE(r.err.find("liftguard: "), std::string::npos) << r;
  r = Run({"alarms", "--all", "--elevator", "C2", "--json"});
  ASSERT_EQ(r.exit, 0) << r;
  json after = Json(r);
  ASSERT_TRUE(after.is_array() && !after.empty()) << r;
  EXPECT_EQ(after[0]["acked_by"], "olga");
  bool noted = false;
  for (const auto& h : after[0]["history"]) {
    if (h.value("note", "") == "technician called") noted = true;
  }
  EXPECT_TRUE(noted) << after.dump();

  // No such alarm: 404 is exit 4.
  r = Run({"ack", "987654"});
  EXPECT_EQ(r.exit, 4) << r;

  // The contractor sees only its own cars.
  r = As("acme-tech", kContractorPw);
  ASSERT_EQ(r.exit, 0) << r;
  r = Run({"status", "--json"});
  ASSERT_EQ(r.exit, 0) << r;
  json own = Json(r);
  std::vector<std::string> ids;
  for (const auto& c : own) ids.push_back(c["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"C1", "C2"}));

  // --token and LIFTGUARD_TOKEN beat the saved login.
  std::string saved = ReadFile(TokenFile());
  saved.pop_back();
  r = Run({"logout"});
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_FALSE(fs::exists(TokenFile()));
  r = Run({"status"});
  EXPECT_EQ(r.exit, 3) << r;
  r = Run({"status", "--token", saved, "--json"});
  EXPECT_EQ(r.exit, 0) << r;
  EXPECT_EQ(Json(r).size(), 2u);
  r = Run({"status", "--json"}, "", {{"LIFTGUARD_TOKEN", saved}});
  EXPECT_EQ(r.exit, 0) << r;
  r = Run({"status", "--token", std::string(64, 'a')});
  EXPECT_EQ(r.exit, 3) << r;
  EXPECT_NE(r.err.find("liftguard login"), std::string::npos) << r;
}

TEST_F(CliDaemonTest, ExitCodes) {
  Start();
  ASSERT_EQ(As("olga", kOperatorPw).exit, 0);
  // The daemon cannot be reached.
  int closed = FreePort();
  Ran r = Run({"status", "--url", "http://127.0.0.1:" + std::to_string(closed)});
  EXPECT_EQ(r.exit, 5) << r;
  EXPECT_NE(r.err.find("cannot reach liftguardd at http://127.0.0.1:"), std::string::npos) << r;
  r = Run({"status"}, "", {{"LIFTGUARD_URL", "http://127.0.0.1:" + std::to_string(closed)}});
  EXPECT_EQ(r.exit, 5) << r;
  // Usage.
  r = Run({"ack", "not-a-number"});
  EXPECT_EQ(r.exit, 2) << r;
  r = Run({"status", "--no-such-flag"});
  EXPECT_EQ(r.exit, 2) << r;
  r = Run({"incident", "step", "1", "teleported"});
  EXPECT_EQ(r.exit, 2) << r;
  EXPECT_NE(r.err.find("unknown step \"teleported\""), std::string::npos) << r;
  r = Run({"incident", "step", "1", "accepted"});
  EXPECT_EQ(r.exit, 2) << r;
  EXPECT_NE(r.err.find("accepted needs --eta"), std::string::npos) << r;
  r = Run({"incident", "step", "1", "on_site", "--eta", "5"});
  EXPECT_EQ(r.exit, 2) << r;
  r = Run({"incident", "step", "1", "accepted", "--eta", "500"});
  EXPECT_EQ(r.exit, 2) << r;
  r = Run({"login"});
  EXPECT_EQ(r.exit, 2) << r;
  r = Run({"login", "--user", "olga"});  // no password source, stdin not a terminal
  EXPECT_EQ(r.exit, 2) << r;
  // --password-stdin works for login too.
  r = Run({"login", "--user", "olga", "--password-stdin"}, kOperatorPw + "\n");
  EXPECT_EQ(r.exit, 0) << r;
  r = Run({"login", "--user", "olga", "--password-stdin", "--json"}, kOperatorPw + "\n");
  EXPECT_EQ(r.exit, 0) << r;
  EXPECT_EQ(Json(r)["role"], "operator");
}

// SQLite's online backup while the daemon runs and the file keeps being
// written (by a second writer, as busy as it can be): a complete, valid,
// owner-only copy.
TEST_F(CliDaemonTest, BackupWhileTheDaemonRuns) {
  Start();
  // Something of the daemon's in the file: a mode change event.
  sim_->control().Must("fault " + std::to_string(modbus_) + "/3 inspection on");
  auto count = [&](const std::string& path, const std::string& table) {
    auto r = db::Database::OpenReader(path);
    if (!r.ok()) return -1;
    try {
      return (*r)->execAndGet("SELECT COUNT(*) FROM " + table).getInt();
    } catch (const std::exception&) {
      return -1;
    }
  };
  std::string live = dir_ + "/lg.db";
  ASSERT_TRUE(Eventually([&] { return count(live, "events") > 0; }, 15s));

  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    auto db = db::Database::Open(live);
    if (!db.ok()) return;
    while (!stop) {
      db::AuditEntry e;
      e.at = std::chrono::system_clock::now();
      e.who = "load";
      e.method = "TEST";
      e.path = "/busy";
      if (db::AppendAudit(**db, e)) ++written;
    }
  });
  ASSERT_TRUE(Eventually([&] { return written > 50; }, 10s));
  int audit_before = count(live, "audit_log");
  int events_before = count(live, "events");
  std::string dest = dir_ + "/backup/lg-copy.db";
  fs::create_directories(dir_ + "/backup");
  int written_before = written;
  Ran r = Run({"db", "backup", dest, "--config", cfg_});
  int written_during = written;
  stop = true;
  writer.join();
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_GT(written_during, written_before) << "writes went on while the backup ran";
  EXPECT_NE(r.out.find("integrity_check ok"), std::string::npos) << r;
  EXPECT_FALSE(fs::exists(dest + ".partial"));
  EXPECT_FALSE(fs::exists(dest + "-wal")) << "the copy is one self-contained file";
  struct stat st {};
  ASSERT_EQ(::stat(dest.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  {
    SQLite::Database copy(dest, SQLite::OPEN_READONLY);
    EXPECT_EQ(copy.execAndGet("PRAGMA integrity_check").getString(), "ok");
    EXPECT_EQ(copy.execAndGet("PRAGMA journal_mode").getString(), "delete");
    EXPECT_EQ(copy.execAndGet("SELECT COUNT(*) FROM users").getInt(), 3);
    EXPECT_GE(copy.execAndGet("SELECT COUNT(*) FROM events").getInt(), events_before);
    EXPECT_GE(copy.execAndGet("SELECT COUNT(*) FROM audit_log").getInt(), audit_before);
    EXPECT_EQ(copy.execAndGet("SELECT MAX(version) FROM schema_migrations").getInt(),
              db::Database::LatestVersion());
  }
  // Again onto the same name, with --json, and the daemon still fine.
  r = Run({"db", "backup", dest, "--db", dir_ + "/lg.db", "--json"});
  ASSERT_EQ(r.exit, 0) << r;
  json j = Json(r);
  EXPECT_EQ(j["integrity_check"], "ok");
  EXPECT_GT(j["pages"].get<int>(), 0);
  EXPECT_TRUE(daemon_.running());
  // The users of the copy work with the daemon's own login code.
  {
    auto copy = db::Database::Open(dest);
    ASSERT_TRUE(copy.ok());
    auto out = auth::Login(**copy, "olga", kOperatorPw, std::chrono::system_clock::now(),
                           std::chrono::seconds(60));
    EXPECT_TRUE(out.session.has_value());
  }
  // Users can be added while the daemon runs, and log in at once.
  r = Run({"user", "add", "late", "--role", "safety_manager", "--password-stdin", "--config", cfg_},
          "late-user-password\n");
  ASSERT_EQ(r.exit, 0) << r;
  r = As("late", "late-user-password");
  EXPECT_EQ(r.exit, 0) << r;
  EXPECT_NE(r.out.find("(safety_manager)"), std::string::npos) << r;

  // The audit chain held with three writers on the file (this test's
  // thread, the daemon's logins, the CLI's user add), in the copy too.
  r = Run({"audit", "verify", "--config", cfg_, "--json"});
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_EQ(Json(r)["intact"], true) << r;
  EXPECT_GT(Json(r)["rows"].get<int>(), written_during) << r;
  r = Run({"audit", "verify", "--db", dest});
  EXPECT_EQ(r.exit, 0) << r;
  EXPECT_NE(r.out.find("audit log intact: "), std::string::npos) << r;

  r = Run({"db", "backup", dir_ + "/backup", "--config", cfg_});
  EXPECT_EQ(r.exit, 2) << r;
  r = Run({"db", "backup", dest, "--db", dir_ + "/missing.db"});
  EXPECT_EQ(r.exit, 1) << r;
  EXPECT_FALSE(fs::exists(dir_ + "/missing.db"));
}

// The incident commands against the daemon's incident endpoints
// (docs/incidents.md).
TEST_F(CliDaemonTest, IncidentCommands) {
  Start();
  ASSERT_EQ(As("olga", kOperatorPw).exit, 0);
  Ran r = Run({"incident", "list"});
  if (r.exit == 4 && r.err.find("there is no API call") != std::string::npos) {
    GTEST_SKIP() << "this liftguardd has no incident endpoints yet";
  }
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_EQ(r.out, "no open incidents\n");

  r = Run({"incident", "open", "C3", "--note", "passenger phoned the security room"});
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_NE(r.out.find("C3"), std::string::npos) << r;
  r = Run({"incident", "list", "--json"});
  ASSERT_EQ(r.exit, 0) << r;
  json list = Json(r);
  ASSERT_EQ(list["incidents"].size(), 1u) << r;
  int64_t id = list["incidents"][0]["id"].get<int64_t>();
  std::string sid = std::to_string(id);
  EXPECT_EQ(list["incidents"][0]["elevator"], "C3");

  // A second one for the same car is refused, naming the first.
  r = Run({"incident", "open", "C3"});
  EXPECT_EQ(r.exit, 4) << r;
  EXPECT_NE(r.err.find(sid), std::string::npos) << r;

  r = Run({"incident", "list"});
  ASSERT_EQ(r.exit, 0) << r;
  ASSERT_EQ(Lines(r.out).size(), 3u) << r;  // header, the incident, the count
  EXPECT_EQ(Lines(r.out)[1].rfind(sid + " ", 0), 0u) << r;
  EXPECT_NE(Lines(r.out)[1].find(" C3 "), std::string::npos) << r;

  // Out of order: released before on_site is the API's 409.
  r = Run({"incident", "step", sid, "released"});
  EXPECT_EQ(r.exit, 4) << r;
  EXPECT_FALSE(r.err.empty());

  r = Run({"incident", "step", sid, "acknowledged", "--note", "spoke to them"});
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_NE(r.out.find("latest step acknowledged"), std::string::npos) << r;
  for (const auto& l : Lines(r.out)) {
    EXPECT_FALSE(!l.empty() && l.back() == ' ') << "trailing blanks: [" << l << "]";
  }
  r = Run({"incident", "step", sid, "accepted", "--eta", "20"});
  ASSERT_EQ(r.exit, 0) << r;
  EXPECT_NE(r.out.find("ETA 20 min"), std::string::npos) << r;
  r = Run({"incident", "step", sid, "on_site"});
  ASSERT_EQ(r.exit, 0) << r;
  r = Run({"incident", "step", sid, "released"});
  ASSERT_EQ(r.exit, 0) << r;
  r = Run({"incident", "step", sid, "closed", "--cause", "door operator jammed", "--json"});
  ASSERT_EQ(r.exit, 0) << r;
  json closed = Json(r);
  EXPECT_EQ(closed["state"], "closed") << r;
  EXPECT_EQ(closed["cause"], "door operator jammed") << r;

  r = Run({"incident", "list"});
  EXPECT_EQ(r.out, "no open incidents\n") << r;
  r = Run({"incident", "list", "--all"});
  EXPECT_NE(r.out.find("closed"), std::string::npos) << r;

  // An inspector may not open one.
  ASSERT_EQ(As("ivan", kInspectorPw).exit, 0);
  r = Run({"incident", "open", "C4"});
  EXPECT_EQ(r.exit, 3) << r;
}

}  // namespace
}  // namespace lg
