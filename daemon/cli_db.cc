#include "daemon/cli_db.h"

#include <fcntl.h>
#include <pwd.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/auth.h"
#include "daemon/cli_output.h"
#include "daemon/config.h"
#include "db/audit_log.h"
#include "db/database.h"

namespace lg::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kDefaultConfig = "/etc/liftguard/liftguard.toml";

std::string UnixUser() {
  if (passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_name != nullptr) {
    return pw->pw_name;
  }
  return "uid" + std::to_string(getuid());
}

// The HTTP status the API gives for the same outcome, so audit rows from
// the CLI read like the daemon's.
int StatusFor(const Status& st) {
  if (st.ok()) return 200;
  const std::string& c = st.error().code;
  if (c == "bad_request") return 400;
  if (c == "not_found") return 404;
  if (c == "exists") return 409;
  return 503;
}

int ExitFor(const Status& st) {
  if (st.ok()) return kExitOk;
  return st.error().code == "bad_request" ? kExitUsage : kExitFailed;
}

void AuditCli(db::Database& db, const std::string& command, const Status& outcome,
              const std::string& detail, Streams s) {
  db::AuditEntry e;
  e.at = std::chrono::system_clock::now();
  e.who = "cli:" + UnixUser();
  e.address = "local";
  e.method = "CLI";
  e.path = command;
  e.status = StatusFor(outcome);
  e.detail = detail;
  // sudo keeps who really asked; worth having in the record.
  const char* sudo = std::getenv("SUDO_USER");
  if (sudo != nullptr && sudo[0] != '\0') e.detail += " (sudo by " + std::string(sudo) + ")";
  if (!outcome.ok()) e.detail += ": " + outcome.error().message;
  if (Status st = db::AppendAudit(db, e); !st) {
    s.err << "liftguard: warning: could not write the audit log: " << st.error().message << "\n";
  }
}

// Opens (and migrates) the database; `must_exist` refuses to create a new
// file, for commands that only make sense on an existing one.
Result<std::unique_ptr<db::Database>> Open(const DbContext& c, bool must_exist) {
  if (must_exist && !fs::exists(c.path)) {
    return Error::Permanent("failed", "there is no database at " + c.path);
  }
  return db::Database::Open(c.path);
}

int Fail(const std::string& message, int code, Streams s) {
  s.err << "liftguard: " << message << "\n";
  return code;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
  return out;
}

}  // namespace

Result<DbContext> ResolveDb(const std::string& db, const std::string& config) {
  DbContext c;
  if (!db.empty()) {
    if (!config.empty()) {
      return Error::Permanent("usage", "give either --db or --config, not both");
    }
    c.path = db;
    return c;
  }
  std::string path = config;
  if (path.empty()) {
    if (!fs::exists(kDefaultConfig)) {
      return Error::Permanent("usage", std::string("which database? give --db FILE or --config "
                                                   "FILE (there is no ") +
                                           kDefaultConfig + ")");
    }
    path = kDefaultConfig;
  }
  auto cfg = LoadConfig(path);
  if (!cfg.ok()) return Error::Permanent("config", cfg.error().message);
  c.path = cfg->daemon.database;
  std::vector<std::string> ids;
  for (const auto& k : cfg->contractors) ids.push_back(k.id);
  c.contractors = std::move(ids);
  return c;
}

int UserAdd(const DbContext& c, const std::string& name, const std::string& role_name,
            const std::string& contractor, const PasswordSource& password, bool json, Streams s) {
  auto role = auth::RoleFromName(role_name);
  if (!role) {
    return Fail("unknown role \"" + Printable(role_name) +
                    "\"; one of operator, safety_manager, contractor, inspector, admin",
                kExitUsage, s);
  }
  if (*role == auth::Role::kContractor && contractor.empty()) {
    return Fail(
        "a contractor user needs --contractor ID (a [[contractor]] id of the "
        "configuration): they see only that contractor's elevators",
        kExitUsage, s);
  }
  if (*role != auth::Role::kContractor && !contractor.empty()) {
    return Fail("--contractor goes only with --role contractor", kExitUsage, s);
  }
  if (!contractor.empty() && c.contractors) {
    const auto& ids = *c.contractors;
    if (std::find(ids.begin(), ids.end(), contractor) == ids.end()) {
      return Fail(
          "the configuration has no [[contractor]] \"" + Printable(contractor) + "\"" +
              (ids.empty() ? std::string("; it defines none") : "; it defines: " + Join(ids)),
          kExitUsage, s);
    }
  }
  auto db = Open(c, false);
  if (!db.ok()) return Fail(db.error().message, kExitFailed, s);
  std::string detail = "user " + name + " (" + role_name +
                       (contractor.empty() ? "" : ", contractor " + contractor) + ")";
  auto existing = auth::FindUser(**db, name);
  if (!existing.ok()) return Fail(existing.error().message, kExitFailed, s);
  if (*existing) {
    Status st = Error::Permanent("exists", "there is a user " + name + " already");
    AuditCli(**db, "user add", st, detail, s);
    return Fail(st.error().message + " (change the password with `liftguard user passwd`)",
                kExitFailed, s);
  }
  auto pw = password();
  if (!pw.ok()) return Fail(pw.error().message, kExitUsage, s);
  Status st = auth::CreateUser(**db, name, *pw, *role, contractor);
  AuditCli(**db, "user add", st, detail, s);
  if (!st) return Fail(st.error().message, ExitFor(st), s);
  if (json) {
    s.out << nlohmann::json{{"username", name}, {"role", role_name}, {"contractor", contractor}}
                 .dump()
          << "\n";
  } else {
    s.out << "added " << Printable(detail) << " to " << c.path << "\n";
  }
  return kExitOk;
}

int UserPasswd(const DbContext& c, const std::string& name, const PasswordSource& password,
               bool json, Streams s) {
  auto db = Open(c, true);
  if (!db.ok()) return Fail(db.error().message, kExitFailed, s);
  auto existing = auth::FindUser(**db, name);
  if (!existing.ok()) return Fail(existing.error().message, kExitFailed, s);
  if (!*existing) {
    Status st = Error::Permanent("not_found", "there is no user " + name);
    AuditCli(**db, "user passwd", st, "user " + name, s);
    return Fail(st.error().message, kExitFailed, s);
  }
  auto pw = password();
  if (!pw.ok()) return Fail(pw.error().message, kExitUsage, s);
  Status st = auth::SetPassword(**db, name, *pw);
  AuditCli(**db, "user passwd", st, "user " + name, s);
  if (!st) return Fail(st.error().message, ExitFor(st), s);
  if (json) {
    s.out << nlohmann::json{{"username", name}, {"password_changed", true}}.dump() << "\n";
  } else {
    s.out << "changed the password of " << Printable(name) << "; their sessions are ended\n";
  }
  return kExitOk;
}

int UserDisable(const DbContext& c, const std::string& name, bool json, Streams s) {
  auto db = Open(c, true);
  if (!db.ok()) return Fail(db.error().message, kExitFailed, s);
  auto existing = auth::FindUser(**db, name);
  if (!existing.ok()) return Fail(existing.error().message, kExitFailed, s);
  bool was_disabled = *existing && (*existing)->disabled;
  Status st = auth::Disable(**db, name);
  AuditCli(**db, "user disable", st, "user " + name, s);
  if (!st) return Fail(st.error().message, ExitFor(st), s);
  if (json) {
    s.out << nlohmann::json{{"username", name}, {"disabled", true}}.dump() << "\n";
  } else {
    s.out << "disabled " << Printable(name)
          << (was_disabled ? " (was disabled already)" : "; their sessions are ended") << "\n";
  }
  return kExitOk;
}

int UserList(const DbContext& c, bool json, Streams s) {
  if (!fs::exists(c.path)) return Fail("there is no database at " + c.path, kExitFailed, s);
  auto reader = db::Database::OpenReader(c.path);
  if (!reader.ok()) return Fail(reader.error().message, kExitFailed, s);
  nlohmann::json list = nlohmann::json::array();
  try {
    SQLite::Statement q(**reader,
                        "SELECT u.username, u.role, u.contractor, u.disabled, u.created_at, "
                        "(SELECT COUNT(*) FROM tokens t WHERE t.user_id = u.id AND "
                        "t.expires_at > ?) FROM users u ORDER BY u.username");
    q.bind(1, db::FormatTime(std::chrono::system_clock::now()));
    while (q.executeStep()) {
      list.push_back({{"username", q.getColumn(0).getString()},
                      {"role", q.getColumn(1).getString()},
                      {"contractor", q.getColumn(2).getString()},
                      {"disabled", q.getColumn(3).getInt() != 0},
                      {"created_at", q.getColumn(4).getString()},
                      {"sessions", q.getColumn(5).getInt()}});
    }
  } catch (const std::exception& e) {
    // An old file without the users table: nobody to list yet.
    return Fail(std::string("cannot read the users of ") + c.path + ": " + e.what(), kExitFailed,
                s);
  }
  if (json) {
    s.out << list.dump(2) << "\n";
    return kExitOk;
  }
  if (list.empty()) {
    s.out << "no users yet; add one with `liftguard user add NAME --role admin`\n";
    return kExitOk;
  }
  Table t({"USERNAME", "ROLE", "CONTRACTOR", "STATUS", "SESSIONS", "CREATED"});
  for (const auto& u : list) {
    std::string contractor = u["contractor"].get<std::string>();
    t.Add({u["username"].get<std::string>(), u["role"].get<std::string>(),
           contractor.empty() ? "-" : contractor, u["disabled"].get<bool>() ? "disabled" : "active",
           std::to_string(u["sessions"].get<int>()),
           LocalTime(u["created_at"].get<std::string>())});
  }
  t.Print(s.out);
  return kExitOk;
}

int Backup(const DbContext& c, const std::string& dest, bool json, Streams s) {
  if (!fs::exists(c.path)) return Fail("there is no database at " + c.path, kExitFailed, s);
  if (fs::is_directory(dest)) {
    return Fail(dest + " is a folder; give the backup's file name, e.g. " + dest +
                    "/liftguard-YYYY-MM-DD.db",
                kExitUsage, s);
  }
  std::string tmp = dest + ".partial";
  ::unlink(tmp.c_str());
  // The copy holds password hashes: owner-only from the first byte.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fail("cannot create " + tmp + ": " + std::strerror(errno), kExitFailed, s);
  ::close(fd);

  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  auto cleanup = [&](bool remove_tmp) {
    if (src != nullptr) sqlite3_close_v2(src);
    if (dst != nullptr) sqlite3_close_v2(dst);
    src = dst = nullptr;
    if (remove_tmp) ::unlink(tmp.c_str());
  };
  auto fail = [&](const std::string& why) {
    cleanup(true);
    return Fail(why, kExitFailed, s);
  };
  if (sqlite3_open_v2(c.path.c_str(), &src, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return fail("cannot open " + c.path + ": " + sqlite3_errmsg(src));
  }
  sqlite3_busy_timeout(src, 5000);
  if (sqlite3_open_v2(tmp.c_str(), &dst, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    return fail("cannot open " + tmp + ": " + sqlite3_errmsg(dst));
  }
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (b == nullptr) return fail(std::string("cannot start the backup: ") + sqlite3_errmsg(dst));
  // All pages in one step: one read transaction, so the daemon's writes in
  // between cannot restart the copy over and over.
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < 100; ++attempt) {
    rc = sqlite3_backup_step(b, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int pages = sqlite3_backup_pagecount(b);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    return fail(std::string("the backup failed: ") + sqlite3_errstr(rc));
  }
  // A backup is one self-contained file, not a WAL database with side files.
  std::string integrity;
  int schema = 0;
  try {
    SQLite::Database copy(tmp, SQLite::OPEN_READWRITE);
    copy.exec("PRAGMA journal_mode=DELETE");
    SQLite::Statement q(copy, "PRAGMA integrity_check");
    while (q.executeStep()) {
      integrity += (integrity.empty() ? "" : "; ") + q.getColumn(0).getString();
    }
    schema = copy.execAndGet("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").getInt();
  } catch (const std::exception& e) {
    return fail(std::string("cannot check the copy: ") + e.what());
  }
  if (integrity != "ok") return fail("the copy fails PRAGMA integrity_check: " + integrity);
  cleanup(false);
  fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  bool synced = fd >= 0 && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!synced || ::rename(tmp.c_str(), dest.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Fail("cannot move the copy to " + dest + ": " + why, kExitFailed, s);
  }
  fs::path parent = fs::absolute(dest).parent_path();
  if (int dfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  auto bytes = fs::file_size(dest);
  if (json) {
    s.out << nlohmann::json{{"source", c.path},         {"backup", dest},
                            {"pages", pages},           {"bytes", bytes},
                            {"schema_version", schema}, {"integrity_check", integrity}}
                 .dump()
          << "\n";
  } else {
    s.out << "backed up " << c.path << " to " << dest << ": " << pages << " pages, " << bytes
          << " bytes, schema version " << schema << ", integrity_check ok\n";
  }
  return kExitOk;
}

int AuditVerify(const DbContext& c, bool json, Streams s) {
  if (!fs::exists(c.path)) return Fail("there is no database at " + c.path, kExitFailed, s);
  // Read-only: checking must not change what is checked (nor migrate it).
  auto reader = db::Database::OpenReader(c.path);
  if (!reader.ok()) return Fail(reader.error().message, kExitFailed, s);
  auto v = db::VerifyAudit(**reader);
  if (!v.ok()) return Fail(v.error().message, kExitFailed, s);
  if (json) {
    nlohmann::json j{{"database", c.path},
                     {"intact", v->intact()},
                     {"rows", v->rows},
                     {"head_id", v->head_id},
                     {"head_hash", v->head_hash}};
    if (!v->intact()) {
      j["problem"] = std::string(db::AuditProblemName(v->problem));
      j["first_bad_id"] = v->bad_id;
      j["message"] = v->message;
    }
    s.out << j.dump() << "\n";
  } else if (v->intact()) {
    s.out << "audit log intact: " << v->rows << (v->rows == 1 ? " row" : " rows") << " in "
          << c.path;
    if (v->rows > 0) s.out << "; last row " << v->head_id << ", hash " << v->head_hash;
    s.out << "\n";
  }
  if (v->intact()) return kExitOk;
  if (!json) {
    s.err << "liftguard: the audit log of " << c.path << " is broken at row " << v->bad_id << " ("
          << db::AuditProblemName(v->problem) << "): " << Printable(v->message) << "\n";
    if (v->rows > 0) {
      s.err << "liftguard: the " << v->rows << " rows up to row " << v->head_id
            << " before it are intact\n";
    }
  }
  return kExitFailed;
}

int AuditList(const DbContext& c, int limit, bool json, Streams s) {
  if (!fs::exists(c.path)) return Fail("there is no database at " + c.path, kExitFailed, s);
  auto reader = db::Database::OpenReader(c.path);
  if (!reader.ok()) return Fail(reader.error().message, kExitFailed, s);
  auto rows = db::ReadAudit(**reader, {.limit = limit, .since = ""});
  if (!rows.ok()) return Fail(rows.error().message, kExitFailed, s);
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : *rows) {
      list.push_back({{"id", r.id},
                      {"at", r.at},
                      {"who", r.who},
                      {"role", r.role},
                      {"address", r.address},
                      {"method", r.method},
                      {"path", r.path},
                      {"status", r.status},
                      {"detail", r.detail},
                      {"prev_hash", r.prev_hash},
                      {"hash", r.hash}});
    }
    s.out << list.dump(2) << "\n";
    return kExitOk;
  }
  if (rows->empty()) {
    s.out << "the audit log is empty\n";
    return kExitOk;
  }
  Table t({"ID", "AT", "WHO", "ROLE", "ADDRESS", "WHAT", "STATUS", "DETAIL"});
  for (const auto& r : *rows) {
    t.Add({std::to_string(r.id), LocalTime(r.at), r.who.empty() ? "-" : r.who,
           r.role.empty() ? "-" : r.role, r.address.empty() ? "-" : r.address,
           r.method + " " + r.path, std::to_string(r.status), r.detail});
  }
  t.Print(s.out);
  return kExitOk;
}

}  // namespace lg::cli
