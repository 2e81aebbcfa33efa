#include "db/database.h"

#include <spdlog/spdlog.h>

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
  };
  return m;
}

}  // namespace

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
  try {
    SQLite::Transaction tx(*db_);
    Status st = body(*db_);
    if (!st) return st;  // tx rolls back in its destructor
    tx.commit();
    return Status::Ok();
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
