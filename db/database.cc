#include "db/database.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

#include "db/audit_log.h"

namespace lg::db {
namespace {

// One schema version: SQL, and optionally a step before it for what SQL
// cannot do itself (hashing), in the same transaction.
struct Migration {
  Migration(const char* s, void (*before_sql)(SQLite::Database&) = nullptr)  // NOLINT: implicit
      : sql(s), before(before_sql) {}
  const char* sql;
  void (*before)(SQLite::Database&);
};

// Each entry is one schema version. Never edit a released entry: add one.
const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> m = {
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
      // 6: safety records (db/records_store.h): contractors and assignments,
      // people and certificates, maintenance, inspections, rectifications,
      // drills
      R"sql(
        CREATE TABLE records_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE contractors (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL DEFAULT '',
          duty_phone TEXT NOT NULL DEFAULT '',
          from_config INTEGER NOT NULL DEFAULT 0,
          updated_at TEXT NOT NULL
        );
        CREATE TABLE contractor_assignments (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          elevator TEXT NOT NULL,
          contractor TEXT NOT NULL,
          starts_on TEXT NOT NULL,
          ends_on TEXT NOT NULL DEFAULT '',
          source TEXT NOT NULL DEFAULT 'config',
          created_at TEXT NOT NULL
        );
        CREATE INDEX contractor_assignments_elevator
          ON contractor_assignments(elevator, starts_on);
        CREATE TABLE people (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          name TEXT NOT NULL,
          contractor TEXT NOT NULL DEFAULT '',
          role TEXT NOT NULL DEFAULT '',
          phone TEXT NOT NULL DEFAULT '',
          active INTEGER NOT NULL DEFAULT 1,
          created_at TEXT NOT NULL
        );
        CREATE TABLE personnel_certificates (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          person_id INTEGER NOT NULL REFERENCES people(id),
          category TEXT NOT NULL,
          number TEXT NOT NULL,
          issued_on TEXT NOT NULL,
          expires_on TEXT NOT NULL,
          created_by TEXT NOT NULL DEFAULT '',
          created_at TEXT NOT NULL,
          UNIQUE(number, issued_on)
        );
        CREATE INDEX personnel_certificates_person ON personnel_certificates(person_id);
        CREATE TABLE elevator_certificates (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          elevator TEXT NOT NULL,
          kind TEXT NOT NULL,
          number TEXT NOT NULL DEFAULT '',
          registration_code TEXT NOT NULL DEFAULT '',
          issued_on TEXT NOT NULL DEFAULT '',
          expires_on TEXT NOT NULL DEFAULT '',
          note TEXT NOT NULL DEFAULT '',
          created_by TEXT NOT NULL DEFAULT '',
          created_at TEXT NOT NULL
        );
        CREATE INDEX elevator_certificates_elevator ON elevator_certificates(elevator, kind);
        CREATE TABLE maintenance_records (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          elevator TEXT NOT NULL,
          kind TEXT NOT NULL,
          contractor TEXT NOT NULL,
          started_at TEXT NOT NULL,
          ended_at TEXT NOT NULL,
          local_date TEXT NOT NULL,
          findings TEXT NOT NULL DEFAULT '',
          alarm_id INTEGER,
          incident_id INTEGER,
          amends INTEGER REFERENCES maintenance_records(id),
          confirmed_by TEXT NOT NULL DEFAULT '',
          confirmed_at TEXT NOT NULL DEFAULT '',
          created_by TEXT NOT NULL DEFAULT '',
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE INDEX maintenance_records_elevator
          ON maintenance_records(elevator, kind, local_date);
        CREATE INDEX maintenance_records_amends ON maintenance_records(amends);
        CREATE TABLE maintenance_technicians (
          record_id INTEGER NOT NULL REFERENCES maintenance_records(id) ON DELETE CASCADE,
          position INTEGER NOT NULL,
          name TEXT NOT NULL DEFAULT '',
          certificate TEXT NOT NULL,
          person_id INTEGER REFERENCES people(id),
          PRIMARY KEY(record_id, position)
        );
        CREATE TABLE maintenance_items (
          record_id INTEGER NOT NULL REFERENCES maintenance_records(id) ON DELETE CASCADE,
          position INTEGER NOT NULL,
          item TEXT NOT NULL,
          result TEXT NOT NULL,
          note TEXT NOT NULL DEFAULT '',
          PRIMARY KEY(record_id, position)
        );
        CREATE TABLE maintenance_parts (
          record_id INTEGER NOT NULL REFERENCES maintenance_records(id) ON DELETE CASCADE,
          position INTEGER NOT NULL,
          name TEXT NOT NULL,
          quantity INTEGER NOT NULL DEFAULT 1,
          note TEXT NOT NULL DEFAULT '',
          PRIMARY KEY(record_id, position)
        );
        CREATE TABLE inspections (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          elevator TEXT NOT NULL,
          kind TEXT NOT NULL,
          state TEXT NOT NULL,
          agreed_on TEXT NOT NULL DEFAULT '',
          done_on TEXT NOT NULL DEFAULT '',
          result TEXT NOT NULL DEFAULT '',
          agency TEXT NOT NULL DEFAULT '',
          report_number TEXT NOT NULL DEFAULT '',
          next_due TEXT NOT NULL DEFAULT '',
          note TEXT NOT NULL DEFAULT '',
          created_by TEXT NOT NULL DEFAULT '',
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE INDEX inspections_elevator ON inspections(elevator, state);
        CREATE TABLE inspection_items (
          inspection_id INTEGER NOT NULL REFERENCES inspections(id) ON DELETE CASCADE,
          position INTEGER NOT NULL,
          item TEXT NOT NULL,
          note TEXT NOT NULL DEFAULT '',
          PRIMARY KEY(inspection_id, position)
        );
        CREATE TABLE rectifications (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          elevator TEXT NOT NULL,
          inspection_id INTEGER REFERENCES inspections(id),
          item TEXT NOT NULL,
          note TEXT NOT NULL DEFAULT '',
          due_on TEXT NOT NULL DEFAULT '',
          state TEXT NOT NULL DEFAULT 'open',
          opened_at TEXT NOT NULL,
          opened_by TEXT NOT NULL DEFAULT '',
          closed_at TEXT NOT NULL DEFAULT '',
          closed_by TEXT NOT NULL DEFAULT '',
          close_note TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX rectifications_open ON rectifications(elevator) WHERE state = 'open';
        CREATE TABLE drills (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          party TEXT NOT NULL,
          contractor TEXT NOT NULL DEFAULT '',
          held_on TEXT NOT NULL,
          elevators TEXT NOT NULL DEFAULT '',
          participants TEXT NOT NULL DEFAULT '',
          scenario TEXT NOT NULL DEFAULT '',
          duration_min INTEGER NOT NULL DEFAULT 0,
          findings TEXT NOT NULL DEFAULT '',
          created_by TEXT NOT NULL DEFAULT '',
          created_at TEXT NOT NULL
        );
        CREATE INDEX drills_party ON drills(party, contractor, held_on);
      )sql",
      // 7: the audit log's hash chain (db/audit_log.h, kAuditChainVersion):
      // prev_hash and hash on every row, the rows so far chained in id order
      // (StageAuditChain hashes them first), and no more UPDATE or DELETE.
      {R"sql(
        ALTER TABLE audit_log ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
        ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';
        UPDATE audit_log SET prev_hash = c.prev_hash, hash = c.hash
          FROM temp.audit_chain AS c WHERE c.id = audit_log.id;
        DROP TABLE temp.audit_chain;
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      )sql",
       &StageAuditChain},
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
  return OpenAtVersion(path, LatestVersion());
}

Result<std::unique_ptr<Database>> Database::OpenAtVersion(const std::string& path, int version) {
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
    if (Status st = db->Migrate(version); !st) return st.error();
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

Status Database::Migrate(int target) {
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
  size_t last = std::min(m.size(), static_cast<size_t>(std::max(target, 0)));
  for (size_t v = static_cast<size_t>(version_); v < last; ++v) {
    SQLite::Transaction tx(*db_);
    if (m[v].before != nullptr) m[v].before(*db_);
    db_->exec(m[v].sql);
    SQLite::Statement ins(*db_, "INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)");
    ins.bind(1, static_cast<int>(v + 1));
    ins.bind(2, FormatTime(std::chrono::system_clock::now()));
    ins.exec();
    tx.commit();
    spdlog::info("database {}: migrated to schema version {}", path_, v + 1);
    version_ = static_cast<int>(v + 1);
  }
  return Status::Ok();
}

Status Database::Transaction(const std::function<Status(SQLite::Database&)>& body, Begin begin) {
  // A transaction belongs to the connection, not the thread: two threads
  // sharing this writer (the event log, the alarm service) must take turns.
  std::lock_guard lock(tx_mu_);
  try {
    SQLite::Transaction tx(*db_, begin == Begin::kImmediate
                                     ? SQLite::TransactionBehavior::IMMEDIATE
                                     : SQLite::TransactionBehavior::DEFERRED);
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
