#include "db/database.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <vector>

namespace lg::db {
namespace {

// Each entry is one schema version. Never edit a released entry: add one.
const std::vector<const char*>& Migrations() {
  static const std::vector<const char*> m = {
      // 1: events (mode changes, online/offline, link status)
      R"sql(
        CREATE TABLE events (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          at TEXT NOT NULL,
          elevator TEXT NOT NULL,
          kind TEXT NOT NULL,
          from_value TEXT NOT NULL DEFAULT '',
          to_value TEXT NOT NULL DEFAULT '',
          detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX events_elevator_at ON events(elevator, at);
        CREATE TABLE health_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL);
      )sql",
      // 2: alarms, their history, maintenance windows
      R"sql(
        CREATE TABLE alarms (
          id INTEGER PRIMARY KEY,
          elevator TEXT NOT NULL,
          type TEXT NOT NULL,
          severity TEXT NOT NULL,
          subtype TEXT NOT NULL DEFAULT '',
          message TEXT NOT NULL DEFAULT '',
          state TEXT NOT NULL,
          active INTEGER NOT NULL,
          acked INTEGER NOT NULL,
          raised_at TEXT NOT NULL,
          last_raised_at TEXT NOT NULL DEFAULT '',
          cleared_at TEXT NOT NULL DEFAULT '',
          acked_at TEXT NOT NULL DEFAULT '',
          acked_by TEXT NOT NULL DEFAULT '',
          ack_note TEXT NOT NULL DEFAULT '',
          closed_at TEXT NOT NULL DEFAULT '',
          suppressed_by TEXT NOT NULL DEFAULT '',
          shelved_by TEXT NOT NULL DEFAULT '',
          shelve_reason TEXT NOT NULL DEFAULT '',
          shelved_at TEXT NOT NULL DEFAULT '',
          shelved_until TEXT NOT NULL DEFAULT '',
          chattering INTEGER NOT NULL DEFAULT 0,
          raise_count INTEGER NOT NULL DEFAULT 1,
          revision INTEGER NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE INDEX alarms_elevator ON alarms(elevator, id);
        CREATE INDEX alarms_open ON alarms(state) WHERE state != 'closed';
        CREATE TABLE alarm_history (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          alarm_id INTEGER NOT NULL REFERENCES alarms(id),
          revision INTEGER NOT NULL,
          at TEXT NOT NULL,
          from_state TEXT NOT NULL DEFAULT '',
          to_state TEXT NOT NULL,
          kind TEXT NOT NULL,
          who TEXT NOT NULL,
          note TEXT NOT NULL DEFAULT '',
          notify TEXT NOT NULL DEFAULT 'none',
          digested INTEGER NOT NULL DEFAULT 0,
          UNIQUE(alarm_id, revision)
        );
        CREATE TABLE maintenance_windows (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          elevator TEXT NOT NULL,
          starts_at TEXT NOT NULL,
          ends_at TEXT NOT NULL,
          reason TEXT NOT NULL DEFAULT '',
          created_by TEXT NOT NULL DEFAULT '',
          created_at TEXT NOT NULL
        );
        CREATE INDEX maintenance_windows_end ON maintenance_windows(ends_at);
      )sql",
      // 3: API users, their tokens, login throttling, the audit log
      R"sql(
        CREATE TABLE users (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          username TEXT NOT NULL UNIQUE,
          password_hash TEXT NOT NULL,
          role TEXT NOT NULL,
          contractor TEXT NOT NULL DEFAULT '',
          disabled INTEGER NOT NULL DEFAULT 0,
          created_at TEXT NOT NULL
        );
        CREATE TABLE tokens (
          token_hash TEXT PRIMARY KEY,
          user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
          expires_at TEXT NOT NULL
        );
        CREATE INDEX tokens_user ON tokens(user_id);
        CREATE TABLE login_failures (
          username TEXT PRIMARY KEY,
          count INTEGER NOT NULL,
          first_at TEXT NOT NULL,
          last_at TEXT NOT NULL
        );
        CREATE TABLE audit_log (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          at TEXT NOT NULL,
          who TEXT NOT NULL,
          role TEXT NOT NULL DEFAULT '',
          address TEXT NOT NULL DEFAULT '',
          method TEXT NOT NULL,
          path TEXT NOT NULL,
          status INTEGER NOT NULL,
          detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX audit_log_at ON audit_log(at);
      )sql",
      // 4: rescue incidents and their steps (db/incident_store.h)
      R"sql(
        CREATE TABLE incidents (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          elevator TEXT NOT NULL,
          alarm_id INTEGER REFERENCES alarms(id),
          state TEXT NOT NULL,
          step TEXT NOT NULL,
          opened_at TEXT NOT NULL,
          closed_at TEXT NOT NULL DEFAULT '',
          eta_min INTEGER,
          cause TEXT,
          acknowledged_target_min INTEGER NOT NULL,
          accepted_target_min INTEGER NOT NULL,
          on_site_target_min INTEGER NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX incidents_one_open ON incidents(elevator) WHERE state = 'open';
        CREATE INDEX incidents_alarm ON incidents(alarm_id);
        CREATE TABLE incident_steps (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          incident_id INTEGER NOT NULL REFERENCES incidents(id),
          step TEXT NOT NULL,
          at TEXT NOT NULL,
          who TEXT NOT NULL,
          note TEXT NOT NULL DEFAULT '',
          UNIQUE(incident_id, step)
        );
      )sql",
      // 5: the notification outbox (db/outbox_store.h)
      R"sql(
        CREATE TABLE outbox (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          idempotency_key TEXT NOT NULL UNIQUE,
          event TEXT NOT NULL DEFAULT '',
          recipient TEXT NOT NULL DEFAULT '',
          channel TEXT NOT NULL,
          target TEXT NOT NULL DEFAULT '',
          subject TEXT NOT NULL DEFAULT '',
          text TEXT NOT NULL DEFAULT '',
          markdown TEXT NOT NULL DEFAULT '',
          payload TEXT NOT NULL DEFAULT '',
          retain INTEGER NOT NULL DEFAULT 0,
          test INTEGER NOT NULL DEFAULT 0,
          created_at TEXT NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0,
          next_attempt_at TEXT NOT NULL,
          delivered_at TEXT NOT NULL DEFAULT '',
          failed_at TEXT NOT NULL DEFAULT '',
          last_error TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX outbox_pending ON outbox(channel, id)
          WHERE delivered_at = '' AND failed_at = '';
        CREATE INDEX outbox_event ON outbox(event);
        CREATE INDEX outbox_tests ON outbox(channel, created_at) WHERE test = 1;
      )sql",
  };
  return m;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseTime(const std::string& text) {
  // Exactly the form FormatTime writes: YYYY-MM-DDTHH:MM:SS.mmmZ
  int y, mo, d, h, mi, s, ms;
  char z = 0;
  if (text.size() != 24 ||
      std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s, &ms,
                  &z) != 8 ||
      z != 'Z') {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  time_t secs = timegm(&tm);
  return std::chrono::system_clock::time_point(std::chrono::seconds(secs)) +
         std::chrono::milliseconds(ms);
}

std::string FormatTime(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

int Database::LatestVersion() { return static_cast<int>(Migrations().size()); }

Database::Database(std::string path, std::unique_ptr<SQLite::Database> db)
    : path_(std::move(path)), db_(std::move(db)) {}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path) {
  try {
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    auto conn = std::make_unique<SQLite::Database>(
        path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX);
    conn->setBusyTimeout(5000);
    conn->exec("PRAGMA journal_mode=WAL");
    conn->exec("PRAGMA synchronous=FULL");
    conn->exec("PRAGMA foreign_keys=ON");
    std::unique_ptr<Database> db(new Database(path, std::move(conn)));
    if (Status st = db->Migrate(); !st) return st.error();
    return db;
  } catch (const std::exception& e) {
    return Error::Permanent("database", "cannot open database " + path + ": " + e.what());
  }
}

Result<std::unique_ptr<SQLite::Database>> Database::OpenReader(const std::string& path) {
  try {
    auto conn = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY);
    conn->setBusyTimeout(5000);
    return conn;
  } catch (const std::exception& e) {
    return Error::Transient("database", "cannot open database " + path + ": " + e.what());
  }
}

Status Database::Migrate() {
  db_->exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT "
      "NOT NULL)");
  version_ = db_->execAndGet("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").getInt();
  const auto& m = Migrations();
  if (version_ > static_cast<int>(m.size())) {
    return Error::Permanent("database", path_ + " has schema version " + std::to_string(version_) +
                                            ", newer than this build knows (" +
                                            std::to_string(m.size()) +
                                            "); use a newer liftguardd or restore a backup");
  }
  for (size_t v = static_cast<size_t>(version_); v < m.size(); ++v) {
    SQLite::Transaction tx(*db_);
    db_->exec(m[v]);
    SQLite::Statement ins(*db_, "INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)");
    ins.bind(1, static_cast<int>(v + 1));
    ins.bind(2, FormatTime(std::chrono::system_clock::now()));
    ins.exec();
    tx.commit();
    spdlog::info("database {}: migrated to schema version {}", path_, v + 1);
  }
  version_ = static_cast<int>(m.size());
  return Status::Ok();
}

Status Database::Transaction(const std::function<Status(SQLite::Database&)>& body) {
  // A transaction belongs to the connection, not the thread: two threads
  // sharing this writer (the event log, the alarm service) must take turns.
  std::lock_guard lock(tx_mu_);
  try {
    SQLite::Transaction tx(*db_);
    Status st = body(*db_);
    if (!st) return st;  // tx rolls back in its destructor
    tx.commit();
    return Status::Ok();
  } catch (const SQLite::Exception& e) {
    // Busy, locked, out of space or an I/O error may pass; a constraint,
    // a read-only or corrupt file will not, and retrying it forever would
    // hold up every write queued behind it.
    int code = e.getErrorCode() & 0xff;
    bool passing = code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR ||
                   code == SQLITE_FULL || code == SQLITE_PROTOCOL || code == SQLITE_INTERRUPT;
    std::string what = std::string("database write failed: ") + e.what();
    return passing ? Error::Transient("database", what) : Error::Permanent("database", what);
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("database write failed: ") + e.what());
  }
}

Status Database::CheckWritable() {
  return Transaction([](SQLite::Database& db) {
    SQLite::Statement st(db, "INSERT OR REPLACE INTO health_probe(id, at) VALUES (1, ?)");
    st.bind(1, FormatTime(std::chrono::system_clock::now()));
    st.exec();
    return Status::Ok();
  });
}

}  // namespace lg::db
